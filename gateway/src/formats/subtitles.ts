// Subtitles and plain text from segments. Cues respect a maximum line width
// and line count: with word timings a cue's times are its words' times, else
// a segment's time is shared out in proportion to the characters.
//
// Speakers: a segment's `speaker` here is the name to show (responses.ts puts
// names in place of the worker's ids). A segment never mixes speakers, so
// neither does a cue. SRT writes "Name: " at the start of every cue, on its
// first line, and that line is wrapped shorter by the prefix's length: the
// prefix is shown as text, so it takes room on screen. WebVTT writes a voice
// span (`<v Name>`), which players do not show as text, so it takes no room.
// Segments without any `speaker` (no diarization) come out as they always did.
import type { Segment as FullSegment, Word } from '../protocol/messages.ts';
import { oneLine } from './speakers.ts';

/**
 * What subtitles need of a segment: a stored or posted transcript has no more.
 * `speaker` is a display name; null: nobody was heard; absent: no diarization.
 */
export type Segment = Pick<FullSegment, 'start' | 'end' | 'text' | 'words' | 'speaker'>;

export interface CueOptions {
  maxLineWidth: number;
  maxLineCount: number;
}

export interface Cue {
  start: number;
  end: number;
  lines: string[];
  /** The speaker's name, when the segment has one. */
  speaker?: string;
}

/** How many characters of a cue's first line a speaker's label takes. */
type Reserve = (speaker: string) => number;

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

/** The segment's speaker as one line of text, or null (none, or blank). */
const speakerOf = (segment: Segment): string | null => (segment.speaker ? oneLine(segment.speaker) || null : null);

/** Whether the segments carry speakers at all (diarized): only then do outputs show them. */
const diarized = (segments: Segment[]): boolean => segments.some((s) => s.speaker !== undefined);

export function cues(segments: Segment[], options: CueOptions = DEFAULT_CUE_OPTIONS, reserve: Reserve = () => 0): Cue[] {
  const out: Cue[] = [];
  for (const segment of segments) {
    const speaker = speakerOf(segment);
    const label = speaker ? { speaker } : {};
    const indent = speaker ? reserve(speaker) : 0;
    let lines: string[] = [];
    let line = '';
    let first: Word | null = null;
    let last: Word | null = null;
    const flush = () => {
      if (line) lines.push(line);
      if (lines.length && first && last) out.push({ start: first.start, end: Math.max(last.end, first.start), lines, ...label });
      lines = [];
      line = '';
      first = null;
    };
    for (const w of timedWords(segment)) {
      const word = w.word.trim();
      const width = (lines.length ? 0 : indent) + (line + ' ' + word).length;
      if (line && width > options.maxLineWidth) {
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

const SRT_LABEL = (speaker: string) => `${speaker}: `;

export function toSrt(segments: Segment[], options?: CueOptions): string {
  return cues(segments, options, (speaker) => SRT_LABEL(speaker).length)
    .map((c, i) => `${i + 1}\n${timestamp(c.start, ',')} --> ${timestamp(c.end, ',')}\n${c.speaker ? SRT_LABEL(c.speaker) : ''}${c.lines.join('\n')}\n`)
    .join('\n');
}

/** WebVTT cue text must not hold a raw `&` or `<` (they start markup); `>` would end a voice tag. */
const vttEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A cue's text. Diarized cues are escaped and carry a voice span; cues of a
 * transcript without speakers are left as they always were, byte for byte.
 */
function vttText(cue: Cue, escape: boolean): string {
  const text = escape ? cue.lines.map(vttEscape).join('\n') : cue.lines.join('\n');
  return cue.speaker ? `<v ${vttEscape(cue.speaker)}>${text}` : text;
}

export function toVtt(segments: Segment[], options?: CueOptions): string {
  const escape = diarized(segments);
  const body = cues(segments, options).map((c) => `${timestamp(c.start, '.')} --> ${timestamp(c.end, '.')}\n${vttText(c, escape)}\n`);
  return ['WEBVTT\n', ...body].join('\n');
}

/** Tab-separated start, end (integer milliseconds), the speaker when diarized (blank: nobody), and text, as Whisper writes it. */
export function toTsv(segments: Segment[]): string {
  const speakers = diarized(segments);
  const rows = segments
    .filter((s) => s.text.trim())
    .map((s) => [Math.round(s.start * 1000), Math.round(s.end * 1000), ...(speakers ? [speakerOf(s) ?? ''] : []), s.text.trim().replace(/\t/g, ' ')].join('\t'));
  return [speakers ? 'start\tend\tspeaker\ttext' : 'start\tend\ttext', ...rows].join('\n') + '\n';
}

/** One line per segment; diarized, one line per turn ("Name: text"), consecutive segments of one speaker joined. */
export function toText(segments: Segment[]): string {
  if (!diarized(segments)) return segments.map((s) => s.text.trim()).filter(Boolean).join('\n') + '\n';
  return turns(segments).map((t) => (t.speaker ? `${t.speaker}: ${t.text}` : t.text)).join('\n') + '\n';
}

/** Runs of segments with text by one speaker (null: nobody heard), their texts joined with a space. */
function turns(segments: Segment[]): Array<{ speaker: string | null; text: string }> {
  const out: Array<{ speaker: string | null; text: string }> = [];
  for (const segment of segments) {
    const text = segment.text.trim();
    if (!text) continue; // an empty segment must not split a turn
    const speaker = speakerOf(segment);
    const last = out.at(-1);
    if (last && last.speaker === speaker) last.text += ` ${text}`;
    else out.push({ speaker, text });
  }
  return out;
}
