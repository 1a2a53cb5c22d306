// Downloads rendered in the browser from the segments the page already has.
import type { Segment, Transcript } from './api.ts';

function stamp(seconds: number, separator: string): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

const spoken = (segments: Segment[]) => segments.filter((s) => s.text.trim());

export const toSrt = (segments: Segment[]) =>
  spoken(segments).map((s, i) => `${i + 1}\n${stamp(s.start, ',')} --> ${stamp(s.end, ',')}\n${s.text.trim()}\n`).join('\n');

export const toVtt = (segments: Segment[]) =>
  'WEBVTT\n\n' + spoken(segments).map((s) => `${stamp(s.start, '.')} --> ${stamp(s.end, '.')}\n${s.text.trim()}\n`).join('\n');

export const toTxt = (segments: Segment[]) => spoken(segments).map((s) => s.text.trim()).join('\n') + '\n';

export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

export function download(name: string, kind: 'txt' | 'srt' | 'vtt' | 'json', transcript: Transcript): void {
  const body = kind === 'json' ? JSON.stringify(transcript, null, 2) : kind === 'srt' ? toSrt(transcript.segments) : kind === 'vtt' ? toVtt(transcript.segments) : toTxt(transcript.segments);
  const type = { txt: 'text/plain', srt: 'application/x-subrip', vtt: 'text/vtt', json: 'application/json' }[kind];
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([body], { type: `${type};charset=utf-8` }));
  link.download = `${name.replace(/\.[^.]+$/, '') || 'transcript'}.${kind}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
