// Subtitles and plain text from segments. Cues respect a maximum line width
// and line count: with word timings a cue's times are its words' times, else
// a segment's time is shared out in proportion to the characters.
import type { Segment as FullSegment, Word } from '../protocol/messages.ts';

/** What subtitles need of a segment: a stored or posted transcript has no more. */
export type Segment = Pick<FullSegment, 'start' | 'end' | 'text' | 'words'>;

export interface CueOptions {
  maxLineWidth: number;
  maxLineCount: number;
}

export interface Cue {
  start: number;
  end: number;
  lines: string[];
}

export const DEFAULT_CUE_OPTIONS: CueOptions = { maxLineWidth: 42, maxLineCount: 2 };

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/** Words of a segment with times: the real ones, or spread over the segment by length. */
function timedWords(segment: Segment): Word[] {
  if (segment.words?.length) return segment.words.filter((w) => w.word.trim());
  const words = segment.text.trim().split(/\s+/).filter(Boolean);
  const total = words.reduce((n, w) => n + w.length + 1, 0);
  const span = Math.max(0, segment.end - segment.start);
  let chars = 0;
  return words.map((word, i) => {
    const start = segment.start + (span * chars) / total;
    chars += word.length + 1;
    const end = i === words.length - 1 ? segment.end : segment.start + (span * chars) / total;
    return { word, start, end, probability: 1 };
  });
}

export function cues(segments: Segment[], options: CueOptions = DEFAULT_CUE_OPTIONS): Cue[] {
  const out: Cue[] = [];
  for (const segment of segments) {
    let lines: string[] = [];
    let line = '';
    let first: Word | null = null;
    let last: Word | null = null;
    const flush = () => {
      if (line) lines.push(line);
      if (lines.length && first && last) out.push({ start: first.start, end: Math.max(last.end, first.start), lines });
      lines = [];
      line = '';
      first = null;
    };
    for (const w of timedWords(segment)) {
      const word = w.word.trim();
      if (line && (line + ' ' + word).length > options.maxLineWidth) {
        lines.push(line);
        line = '';
        if (lines.length >= options.maxLineCount) flush();
      }
      first ??= w;
      last = w;
      line = line ? `${line} ${word}` : word;
    }
    flush();
  }
  return out;
}

export function toSrt(segments: Segment[], options?: CueOptions): string {
  return cues(segments, options)
    .map((c, i) => `${i + 1}\n${timestamp(c.start, ',')} --> ${timestamp(c.end, ',')}\n${c.lines.join('\n')}\n`)
    .join('\n');
}

export function toVtt(segments: Segment[], options?: CueOptions): string {
  const body = cues(segments, options).map((c) => `${timestamp(c.start, '.')} --> ${timestamp(c.end, '.')}\n${c.lines.join('\n')}\n`);
  return ['WEBVTT\n', ...body].join('\n');
}

/** Tab-separated start, end (integer milliseconds) and text, as Whisper writes it. */
export function toTsv(segments: Segment[]): string {
  const rows = segments
    .filter((s) => s.text.trim())
    .map((s) => `${Math.round(s.start * 1000)}\t${Math.round(s.end * 1000)}\t${s.text.trim().replace(/\t/g, ' ')}`);
  return ['start\tend\ttext', ...rows].join('\n') + '\n';
}

export function toText(segments: Segment[]): string {
  return segments.map((s) => s.text.trim()).filter(Boolean).join('\n') + '\n';
}
