// Who said what, without the page: a diarized transcript's turns (consecutive
// segments of one speaker), the colour each speaker keeps, and a rename done
// here for a result that the server does not store. The API names speakers in
// segments by their display name and lists {id, name} once (result.speakers,
// or the job's `info` event): ids are stable (A, B, … in order of first
// speech), names change when a user renames, so colours go by id.
import type { Segment, Transcript } from './api.ts';

export type Speaker = NonNullable<Transcript['speakers']>[number];
/** What the page needs of a listed speaker (the `info` event's list has the same). */
export type SpeakerRef = Pick<Speaker, 'id' | 'name'>;

/** How many colours the palette has (style.css: --speaker-0 … --speaker-7). */
export const PALETTE_SIZE = 8;

/** The longest name the server takes (docs/api.md, Renaming speakers). */
export const MAX_NAME_LENGTH = 100;

export interface Turn {
  /** The speaker's display name; null where nobody was heard. */
  name: string | null;
  /** The speaker's id, where the list names one; null where nobody was heard, or the name is not listed. */
  id: string | null;
  start: number;
  end: number;
  segments: Segment[];
}

/** Whether a result is diarized: the API lists speakers only then (an empty list too: nobody was heard). */
export const diarized = (transcript: Pick<Transcript, 'speakers'>): boolean => Array.isArray(transcript.speakers);

/**
 * The id a segment's name stands for. A name is a speaker's listed name, or
 * its id where the list has no name for it; two speakers may be given one
 * name, and then the first listed is taken (they read as one person anyway).
 */
export function speakerId(speakers: readonly SpeakerRef[], name: string | null | undefined): string | null {
  if (name == null) return null;
  return speakers.find((s) => s.name === name)?.id ?? speakers.find((s) => s.id === name)?.id ?? null;
}

/** Consecutive segments of one speaker as one turn; segments without words (Whisper gives some) are left out. */
export function turns(segments: readonly Segment[], speakers: readonly SpeakerRef[]): Turn[] {
  const out: Turn[] = [];
  for (const segment of segments) {
    if (!segment.text.trim()) continue;
    const name = segment.speaker ?? null;
    const last = out.at(-1);
    if (last && last.name === name) {
      last.segments.push(segment);
      last.end = Math.max(last.end, segment.end);
    } else {
      out.push({ name, id: speakerId(speakers, name), start: segment.start, end: segment.end, segments: [segment] });
    }
  }
  return out;
}

/**
 * A speaker's colour, 0 … PALETTE_SIZE-1, by id: the same speaker keeps its
 * colour through renames, reloads and other devices. The worker's ids are
 * letters in order of first speech (A, B, … Z, AA, …): read as a number, the
 * first PALETTE_SIZE speakers all get colours of their own. Any other id hashes.
 */
export function colourOf(id: string): number {
  if (/^[A-Z]{1,6}$/.test(id)) return ([...id].reduce((n, c) => n * 26 + c.charCodeAt(0) - 64, 0) - 1) % PALETTE_SIZE;
  return [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 0) % PALETTE_SIZE;
}

/** A new name as the server would keep it: trimmed; null when blank or too long (the server refuses both). */
export function cleanName(name: string): string | null {
  const trimmed = name.trim();
  return trimmed && trimmed.length <= MAX_NAME_LENGTH ? trimmed : null;
}

/**
 * The transcript with speaker `id` named `name`, as the server renames (its
 * segments and words, and the list), for a result it does not store. Segments
 * carry names, not ids: those with the speaker's current name are renamed.
 */
export function renamedLocally(transcript: Transcript, id: string, name: string): Transcript {
  const speakers = transcript.speakers ?? [];
  const speaker = speakers.find((s) => s.id === id);
  if (!speaker) return transcript;
  const old = speaker.name;
  const rename = <T extends { speaker?: string | null }>(item: T): T => (item.speaker === old ? { ...item, speaker: name } : item);
  return {
    ...transcript,
    speakers: speakers.map((s) => (s.id === id ? { ...s, name } : s)),
    segments: transcript.segments.map((s) => ({ ...rename(s), ...(s.words && { words: s.words.map(rename) }) })),
  };
}
