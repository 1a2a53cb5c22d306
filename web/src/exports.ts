// Downloads. Subtitles come from the server (one renderer for the API and the
// page); plain text and JSON are built here from the segments the page has.
import { subtitles, type Segment, type Transcript } from './api.ts';

export type DownloadKind = 'txt' | 'srt' | 'vtt' | 'json';

/** Segments that hold words: Whisper may return some with empty text, or only those. */
export const spoken = (segments: Segment[]) => segments.filter((s) => s.text.trim());

const toTxt = (segments: Segment[]) => spoken(segments).map((s) => s.text.trim()).join('\n') + '\n';

export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

async function render(kind: DownloadKind, transcript: Transcript): Promise<Blob> {
  if (kind === 'srt' || kind === 'vtt') return subtitles(kind, transcript.segments);
  const body = kind === 'json' ? JSON.stringify(transcript, null, 2) : toTxt(transcript.segments);
  return new Blob([body], { type: `${kind === 'json' ? 'application/json' : 'text/plain'};charset=utf-8` });
}

export async function download(name: string, kind: DownloadKind, transcript: Transcript): Promise<void> {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await render(kind, transcript));
  link.download = `${name.replace(/\.[^.]+$/, '') || 'transcript'}.${kind}`;
  link.click();
  // The browser reads the blob after click() returns; revoking at once can cancel the download.
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
