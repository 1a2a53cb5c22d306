// Downloads come from the job's result endpoint: one renderer (line wrapping,
// text, JSON) for the API and the page.
import type { Segment } from './api.ts';
import { result, type ResultFormat } from './jobs.ts';

export type DownloadKind = 'txt' | 'srt' | 'vtt' | 'json';
const FORMAT: Record<DownloadKind, ResultFormat> = { txt: 'text', srt: 'srt', vtt: 'vtt', json: 'json' };

/** Segments that hold words: Whisper may return some with empty text, or only those. */
export const spoken = (segments: Segment[]) => segments.filter((s) => s.text.trim());

export async function download(jobId: string, name: string, kind: DownloadKind): Promise<void> {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await result(jobId, FORMAT[kind]));
  link.download = `${name.replace(/\.[^.]+$/, '') || 'transcript'}.${kind}`;
  link.click();
  // The browser reads the blob after click() returns; revoking at once can cancel the download.
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
