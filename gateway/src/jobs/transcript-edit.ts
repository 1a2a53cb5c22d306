// A person's correction of a finished transcript (PUT /api/jobs/{id}/transcript),
// made into a result: pure functions, no store, no HTTP.
//
// retimeWords keeps a timing for every word of an edited segment: the words
// that are still there (a diff on the word sequence, by longest common
// subsequence) keep their times; the words that are new or changed share the
// time between the kept words around them, by length. reviseResult builds the
// whole result of a revision from the edited segments: the worker's fields of
// each segment taken from the old segment it overlaps most, the text rebuilt
// from the segments, the speakers' totals summed again.
import type { Segment, TranscriptionResult, Word } from '../protocol/messages.ts';

/** A word as an edit sends it: its text (Whisper's, with its leading space) and times. */
export interface TimedWord { word: string; start: number; end: number; probability?: number }

/** One segment of an edit, as PUT /api/jobs/{id}/transcript takes it (checked already). */
export interface EditedSegment {
  start: number;
  end: number;
  text: string;
  speaker?: string | null;
  words?: TimedWord[];
}

const round = (t: number) => Math.round(t * 1000) / 1000;
const norm = (w: string) => w.trim().toLowerCase();

/** Longest common subsequence of a and b: the pairs [i, j] of equal items, in order. */
function commonPairs(a: string[], b: string[]): Array<[number, number]> {
  const n = a.length, m = b.length;
  const len = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) len[i]![j] = a[i] === b[j] ? len[i + 1]![j + 1]! + 1 : Math.max(len[i + 1]![j]!, len[i]![j + 1]!);
  }
  const pairs: Array<[number, number]> = [];
  for (let i = 0, j = 0; i < n && j < m;) {
    if (a[i] === b[j]) pairs.push([i++, j++]);
    else if (len[i + 1]![j]! >= len[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}

/**
 * The words of `text` (split at white space, each with a leading space as
 * Whisper writes them) with times: a word of `old` that is still there, in the
 * same order, keeps its times (clamped to [start, end]) and probability; the
 * others share, by length, the time between the kept words around them (the
 * segment's start and end at the edges). A diff by text, case and white space aside.
 */
export function retimeWords(old: readonly TimedWord[], text: string, start: number, end: number): Word[] {
  const tokens = text.trim().split(/\s+/).filter((t) => t !== '');
  const clamp = (t: number) => Math.min(end, Math.max(start, t));
  const words: Array<Word | null> = tokens.map(() => null);
  for (const [i, j] of commonPairs(old.map((w) => norm(w.word)), tokens.map(norm))) {
    const w = old[i]!;
    words[j] = { word: ` ${tokens[j]}`, start: clamp(w.start), end: clamp(w.end), probability: w.probability ?? 1 };
  }
  // Each run of new words between kept ones: the time from the kept word before to the one after.
  for (let j = 0; j < tokens.length;) {
    if (words[j]) { j++; continue; }
    let k = j;
    while (k < tokens.length && !words[k]) k++;
    const from = j > 0 ? words[j - 1]!.end : start;
    const to = Math.max(from, k < tokens.length ? words[k]!.start : end);
    const lengths = tokens.slice(j, k).map((t) => [...t].length);
    const total = lengths.reduce((a, b) => a + b, 0);
    let at = from;
    for (let x = j; x < k; x++) {
      const next = x === k - 1 ? to : at + ((to - from) * lengths[x - j]!) / total;
      words[x] = { word: ` ${tokens[x]}`, start: round(at), end: round(next), probability: 1 };
      at = next;
    }
    j = k;
  }
  return words as Word[];
}

/** The old segment that overlaps [start, end] most (the nearest when none does); undefined when there are none. */
function nearest(segments: readonly Segment[], start: number, end: number): Segment | undefined {
  let best: Segment | undefined;
  let score = -Infinity;
  for (const s of segments) {
    const overlap = Math.min(end, s.end) - Math.max(start, s.start); // negative: the gap between them
    if (overlap > score) best = s, score = overlap;
  }
  return best;
}

/**
 * The result of a revision: `current` with `edited` as its segments. A
 * segment's words are its edit's `words` when given, else the words of
 * `current` within its time span, retimed to its text (retimeWords); a
 * transcript that had no word timings gets none unless the edit sends them.
 * Text is stored with the leading space Whisper writes when `current`'s is so.
 */
export function reviseResult(current: TranscriptionResult, edited: readonly EditedSegment[]): TranscriptionResult {
  const hadWords = current.segments.some((s) => s.words !== undefined);
  const oldWords = current.segments.flatMap((s) => s.words ?? []);
  const spaced = current.segments.length === 0 || current.segments.some((s) => s.text.startsWith(' '));
  const segments = edited.map((e, id): Segment => {
    const text = `${spaced ? ' ' : ''}${e.text.trim()}`;
    const old = nearest(current.segments, e.start, e.end);
    const same = old !== undefined && old.text === text;
    const segment: Segment = {
      id, seek: old?.seek ?? 0, start: e.start, end: e.end, text, tokens: same ? old.tokens : [],
      temperature: old?.temperature ?? 0, avg_logprob: old?.avg_logprob ?? 0, compression_ratio: old?.compression_ratio ?? 1, no_speech_prob: old?.no_speech_prob ?? 0,
    };
    if (e.words !== undefined || hadWords) {
      const pool = e.words ?? oldWords.filter((w) => w.start >= e.start - 0.01 && w.end <= e.end + 0.01);
      segment.words = retimeWords(pool, e.text, e.start, e.end);
    }
    const speaker = e.speaker !== undefined ? e.speaker : old?.speaker;
    if (current.speakers && speaker !== undefined) {
      segment.speaker = speaker;
      if (segment.words && speaker !== null) for (const w of segment.words) w.speaker = speaker;
    }
    return segment;
  });
  const revised: TranscriptionResult = { ...current, segments, text: segments.map((s) => s.text).join('').trim() };
  if (current.speakers) revised.speakers = speakerTotals(current.speakers, segments);
  return revised;
}

/** Each speaker (as in `speakers`, same order and names) with its seconds summed again from the segments it speaks. */
export function speakerTotals(speakers: NonNullable<TranscriptionResult['speakers']>, segments: readonly Segment[]) {
  return speakers.map((s) => ({
    ...s,
    seconds: round(segments.filter((seg) => seg.speaker === s.id).reduce((sum, seg) => sum + (seg.end - seg.start), 0)),
  }));
}

/** `result` with the speakers' names of `named` (a rename made after the revision was: names belong to ids, not to a revision). */
export function withNamesOf(result: TranscriptionResult, named: TranscriptionResult): TranscriptionResult {
  if (!result.speakers || !named.speakers) return result;
  const names = new Map(named.speakers.map((s) => [s.id, s.name]));
  return { ...result, speakers: result.speakers.map((s) => ({ ...s, name: names.get(s.id) ?? s.name })) };
}
