// Speakers by name. The worker labels segments and words with a speaker's id
// ("A"); people read names, so every output shows the name the result's
// `speakers` gives that id (a known speaker's, or one given by renaming), and
// the id itself where the list has none.
import type { Segment, TranscriptionResult, Word } from '../protocol/messages.ts';

/** What naming needs of a result: its speaker list, present only when diarization was asked. */
export type SpeakerList = Pick<TranscriptionResult, 'speakers'>;

/** A name shown inside one line (a cue's first line, a TSV cell, a voice tag): line breaks and tabs would break the format. */
export const oneLine = (name: string): string => name.replace(/\s+/g, ' ').trim();

/** The display name of each speaker id: its listed name, else the id (also when the listed name is blank). */
export function speakerNames(result: SpeakerList): (id: string) => string {
  const names = new Map((result.speakers ?? []).map((s) => [s.id, oneLine(s.name)]));
  return (id) => names.get(id) || oneLine(id) || id;
}

/**
 * The result's segments with names where the worker put ids (segments and
 * words). Without diarization they are returned as they are, so no output
 * changes; with it every segment has `speaker` (null where nobody was heard).
 */
export function namedSegments(result: TranscriptionResult): Segment[] {
  if (!result.speakers) return result.segments;
  const name = speakerNames(result);
  const word = (w: Word): Word => (w.speaker === undefined ? w : { ...w, speaker: name(w.speaker) });
  return result.segments.map((s) => ({
    ...s,
    speaker: s.speaker == null ? null : name(s.speaker),
    ...(s.words ? { words: s.words.map(word) } : {}),
  }));
}

/** The speaker list as our JSON shows it: the display name beside each id, so a client can map back. */
export function speakerList(result: SpeakerList): Array<{ id: string; name: string; seconds: number }> {
  const name = speakerNames(result);
  return (result.speakers ?? []).map((s) => ({ id: s.id, name: name(s.id), seconds: s.seconds }));
}
