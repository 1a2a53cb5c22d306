// What the transcript editor edits, apart from how it is drawn (editor.ts): segments with
// their words' times, the edits (split, merge, a boundary moved) and their undo history.
// Pure, so it is unit-tested without a browser (edit-model.test.ts).

export interface EditWord { word: string; start: number; end: number }
export interface EditSegment { start: number; end: number; text: string; speaker: string | null; words: EditWord[] | null }
export type Edge = 'start' | 'end';

export const round = (s: number) => Math.round(s * 1000) / 1000;
const copy = (segments: EditSegment[]) => segments.map((s) => ({ ...s, words: s.words?.map((w) => ({ ...w })) ?? null }));
const tokens = (text: string) => text.trim().split(/\s+/).filter((w) => w !== '');

/**
 * Words for `text` in [start, end]: those of `words` while the text is still theirs, else
 * the span shared by length. A job made without word timestamps gets the shared guess too,
 * so the word that plays is marked and a click seeks on every job; the server retimes an
 * edit properly on save (a diff against the kept words), and the page then shows its words.
 */
export function wordsFor(text: string, start: number, end: number, words: EditWord[] | null): EditWord[] {
  const parts = tokens(text);
  if (words && parts.length === words.length && parts.every((p, i) => p === words[i]!.word.trim())) return words;
  const total = parts.reduce((n, p) => n + p.length, 0) || 1;
  let at = start;
  return parts.map((p) => {
    const next = at + ((end - start) * p.length) / total;
    const w = { word: ` ${p}`, start: round(at), end: round(next) };
    at = next;
    return w;
  });
}

/** Where an edge may go: a start between the segment before's start and its own end, an end between its start and the audio's end. */
export function edgeRange(segments: EditSegment[], index: number, edge: Edge, duration: number): [number, number] {
  const s = segments[index]!;
  if (edge === 'start') return [segments[index - 1]?.start ?? 0, s.end];
  return [s.start, Math.max(s.start, duration)];
}

/** Segment `index` with an edge at `value` (kept in its range), its words kept inside it. */
export function moveEdge(segments: EditSegment[], index: number, edge: Edge, value: number, duration: number): EditSegment[] {
  const [low, high] = edgeRange(segments, index, edge, duration);
  const s = { ...segments[index]!, [edge]: round(Math.min(high, Math.max(low, value))) };
  const inside = (t: number) => Math.min(Math.max(t, s.start), s.end);
  s.words = s.words?.map((w) => ({ ...w, start: inside(w.start), end: inside(w.end) })) ?? null;
  return segments.map((x, i) => (i === index ? s : x));
}

/**
 * Segment `index` split at character `at` of its text (the middle when null) into two, at a
 * word's edge (the word the caret is in goes to the second), the cut at that word's start.
 * Null when one side would be empty.
 */
export function splitSegment(segments: EditSegment[], index: number, at: number | null): EditSegment[] | null {
  const s = segments[index]!;
  const text = s.text;
  let cut = at ?? Math.floor(text.length / 2);
  while (cut > 0 && cut < text.length && !/\s/.test(text[cut - 1]!)) cut--;
  const first = text.slice(0, cut).trim();
  const second = text.slice(cut).trim();
  if (!first || !second) return null;
  const words = wordsFor(text, s.start, s.end, s.words);
  const count = tokens(first).length;
  const time = words[count]?.start ?? round(s.start + ((s.end - s.start) * first.length) / text.length);
  const keep = s.words !== null;
  return [
    ...segments.slice(0, index),
    { start: s.start, end: time, text: first, speaker: s.speaker, words: keep ? words.slice(0, count) : null },
    { start: time, end: s.end, text: second, speaker: s.speaker, words: keep ? words.slice(count) : null },
    ...segments.slice(index + 1),
  ];
}

/** Segment `index` and the next made one (the first's speaker); null for the last. */
export function mergeSegments(segments: EditSegment[], index: number): EditSegment[] | null {
  const a = segments[index]!;
  const b = segments[index + 1];
  if (!b) return null;
  const words = a.words && b.words ? [...wordsFor(a.text, a.start, a.end, a.words), ...wordsFor(b.text, b.start, b.end, b.words)] : null;
  const merged = { start: a.start, end: Math.max(a.end, b.end), text: `${a.text} ${b.text}`, speaker: a.speaker, words };
  return [...segments.slice(0, index), merged, ...segments.slice(index + 2)];
}

/** The segments as they are, and the steps back and forward (at most LIMIT back). */
export class EditHistory {
  static readonly LIMIT = 200;
  private past: EditSegment[][] = [];
  private future: EditSegment[][] = [];
  segments: EditSegment[];

  constructor(segments: EditSegment[]) {
    this.segments = segments;
  }

  get canUndo(): boolean { return this.past.length > 0; }
  get canRedo(): boolean { return this.future.length > 0; }

  /** Remembers the segments as they are now, before a change (which drops the steps forward). */
  snapshot(): void {
    this.past.push(copy(this.segments));
    if (this.past.length > EditHistory.LIMIT) this.past.shift();
    this.future = [];
  }

  /** One undoable change: the segments `next` makes of them (null: no change). */
  apply(next: EditSegment[] | null): boolean {
    if (!next) return false;
    this.snapshot();
    this.segments = next;
    return true;
  }

  undo(): boolean {
    return this.step(this.past, this.future);
  }

  redo(): boolean {
    return this.step(this.future, this.past);
  }

  /** The segments taken from one stack, those of now kept on the other. */
  private step(from: EditSegment[][], to: EditSegment[][]): boolean {
    const next = from.pop();
    if (!next) return false;
    to.push(copy(this.segments));
    this.segments = next;
    return true;
  }
}
