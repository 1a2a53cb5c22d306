// A transcription result in each response format the API offers.
// With diarization every format shows speakers by name (speakers.ts); without
// it each is exactly what it was before speakers existed.
import type { Segment as WorkerSegment, TranscriptionResult, Word } from '../protocol/messages.ts';
import { languageName } from '../protocol/languages.ts';
import { toSrt, toTsv, toText, toVtt, type CueOptions, type Segment } from './subtitles.ts';
import { namedSegments, speakerList, speakerNames, type SpeakerList } from './speakers.ts';

export const API_FORMATS = ['json', 'verbose_json', 'text', 'srt', 'vtt', 'tsv'] as const;
export const OPENAI_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'] as const;
export const SUBTITLE_FORMATS = ['srt', 'vtt', 'tsv', 'text'] as const;
export type ResponseFormat = (typeof API_FORMATS)[number] | (typeof OPENAI_FORMATS)[number];
export type SubtitleFormat = (typeof SUBTITLE_FORMATS)[number];

/** The media type each format is sent as (the text ones with `; charset=utf-8`): what the API's description declares. */
export const MEDIA_TYPES: Record<ResponseFormat, string> = {
  json: 'application/json',
  verbose_json: 'application/json',
  text: 'text/plain',
  srt: 'application/x-subrip',
  vtt: 'text/vtt',
  tsv: 'text/tab-separated-values',
  diarized_json: 'application/json',
};

/** Our own JSON: everything a person or the UI needs, segments kept short. */
export function apiJson(result: TranscriptionResult, totalSeconds: number) {
  return {
    text: result.text,
    language: result.language,
    language_probability: result.language_probability,
    duration: result.duration,
    model: result.model,
    task: result.task,
    segments: namedSegments(result).map((s) => ({
      id: s.id,
      start: s.start,
      end: s.end,
      text: s.text,
      ...(s.speaker !== undefined ? { speaker: s.speaker } : {}),
      ...(s.words ? { words: s.words } : {}),
    })),
    ...(result.speakers ? { speakers: speakerList(result) } : {}),
    timing: { ...result.timing, total_seconds: Math.round(totalSeconds * 1000) / 1000 },
  };
}

/** OpenAI's verbose_json. */
export function verboseJson(result: TranscriptionResult, withWords: boolean) {
  const body: Record<string, unknown> = {
    task: result.task,
    language: languageName(result.language).toLowerCase(),
    duration: result.duration,
    text: result.text,
    segments: namedSegments(result).map(({ words: _words, ...s }) => s), // `speaker` (a name) rides along when diarized
  };
  if (withWords) {
    body.words = result.segments.flatMap((s) => (s.words ?? []).map((w) => ({ word: w.word.trim(), start: w.start, end: w.end })));
  }
  return body;
}

/**
 * One segment as OpenAI's gpt-4o-transcribe-diarize gives it: an item of
 * diarized_json's `segments`, and the same object is the stream's
 * `transcript.text.segment` event. `speaker` is a required string there, so a
 * segment in which nobody was heard (or a result without diarization) gets ''.
 * `result` may lack `speakers` while streaming: the ids are shown then.
 */
export function segmentEvent(segment: WorkerSegment, result: SpeakerList = {}) {
  return diarizedSegment(segment, speakerNames(result));
}

function diarizedSegment(segment: WorkerSegment, name: (id: string) => string) {
  return {
    type: 'transcript.text.segment' as const,
    id: `seg_${segment.id}`,
    start: segment.start,
    end: segment.end,
    speaker: segment.speaker == null ? '' : name(segment.speaker),
    text: segment.text.trim(),
  };
}

/** OpenAI's diarized_json (the SDK's TranscriptionDiarized). */
export function diarizedJson(result: TranscriptionResult) {
  const name = speakerNames(result);
  return {
    task: result.task,
    duration: result.duration,
    text: result.text,
    segments: result.segments.map((s) => diarizedSegment(s, name)),
  };
}

/**
 * A transcription's segment as the stream's `transcript.text.segment` event. Without diarization it has no
 * `speaker`: the SDK's type asks for one, but '' would say that nobody was heard, which is untrue.
 */
export function plainSegmentEvent(segment: WorkerSegment) {
  return { type: 'transcript.text.segment' as const, id: `seg_${segment.id}`, start: segment.start, end: segment.end, text: segment.text.trim() };
}

/** What OpenAI bills a Whisper transcription by, as its `usage`: the seconds of audio (the SDK's UsageDuration). */
export function usage(result: Pick<TranscriptionResult, 'duration'>) {
  return { type: 'duration' as const, seconds: result.duration };
}

/**
 * `logprobs` in OpenAI's shape, one per word: faster-whisper does not hand out its tokens' log probabilities, but it
 * gives each word a probability (the mean of its tokens' probabilities, from the word-alignment pass). So `token` is
 * the word as decoded (with its leading space: the tokens joined are the text), `logprob` the natural log of that
 * probability, `bytes` the word's UTF-8 bytes. The worker rounds probabilities to 4 decimals: a 0 there is below
 * 0.00005, given as log(0.00005), the highest it can be (JSON has no -Infinity).
 */
export function wordLogprobs(words: readonly Word[]) {
  return words.map((w) => ({ token: w.word, logprob: Math.log(Math.max(w.probability, 0.00005)), bytes: [...Buffer.from(w.word, 'utf8')] }));
}

export const resultLogprobs = (result: Pick<TranscriptionResult, 'segments'>) => wordLogprobs(result.segments.flatMap((s) => s.words ?? []));

/** What a /v1 response adds to the rendered result: `usage` (transcriptions: OpenAI's Translation types have none) and `logprobs` (include[]=logprobs). */
export interface OpenAIExtras {
  usage: boolean;
  logprobs: boolean;
}

/** A /v1 response's body: OpenAI's json is the text alone (with its extras); verbose and diarized JSON gain `usage`. */
export function openaiBody(format: ResponseFormat, result: TranscriptionResult, rendered: string | object, extras: OpenAIExtras): string | object {
  const billed = extras.usage ? { usage: usage(result) } : {};
  if (format === 'json') return { text: result.text, ...(extras.logprobs && { logprobs: resultLogprobs(result) }), ...billed };
  if (format === 'verbose_json' || format === 'diarized_json') return { ...(rendered as object), ...billed };
  return rendered;
}

export interface Rendered {
  contentType: string;
  body: string | object;
}

const SUBTITLES: Record<SubtitleFormat, { contentType: string; write: (segments: Segment[], cue: CueOptions) => string }> = {
  srt: { contentType: `${MEDIA_TYPES.srt}; charset=utf-8`, write: toSrt },
  vtt: { contentType: `${MEDIA_TYPES.vtt}; charset=utf-8`, write: toVtt },
  tsv: { contentType: `${MEDIA_TYPES.tsv}; charset=utf-8`, write: toTsv },
  text: { contentType: `${MEDIA_TYPES.text}; charset=utf-8`, write: toText },
};

/** Subtitles or text from segments: the same for a finished job and for segments a client posts. */
export function renderSubtitles(format: SubtitleFormat, segments: Segment[], cue: CueOptions): Rendered {
  const { contentType, write } = SUBTITLES[format];
  return { contentType, body: write(segments, cue) };
}

export function render(format: ResponseFormat, result: TranscriptionResult, cue: CueOptions, totalSeconds: number, words: boolean): Rendered {
  if (format === 'json') return { contentType: MEDIA_TYPES.json, body: apiJson(result, totalSeconds) };
  if (format === 'verbose_json') return { contentType: MEDIA_TYPES.verbose_json, body: verboseJson(result, words) };
  if (format === 'diarized_json') return { contentType: MEDIA_TYPES.diarized_json, body: diarizedJson(result) };
  return renderSubtitles(format, namedSegments(result), cue);
}
