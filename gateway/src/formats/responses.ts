// A transcription result in each response format the API offers.
import type { TranscriptionResult } from '../protocol/messages.ts';
import { languageName } from '../protocol/languages.ts';
import { toSrt, toTsv, toText, toVtt, type CueOptions, type Segment } from './subtitles.ts';

export const API_FORMATS = ['json', 'verbose_json', 'text', 'srt', 'vtt', 'tsv'] as const;
export const OPENAI_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const;
export const SUBTITLE_FORMATS = ['srt', 'vtt', 'tsv', 'text'] as const;
export type ResponseFormat = (typeof API_FORMATS)[number];
export type SubtitleFormat = (typeof SUBTITLE_FORMATS)[number];

/** The media type each format is sent as (the text ones with `; charset=utf-8`): what the API's description declares. */
export const MEDIA_TYPES: Record<ResponseFormat, string> = {
  json: 'application/json',
  verbose_json: 'application/json',
  text: 'text/plain',
  srt: 'application/x-subrip',
  vtt: 'text/vtt',
  tsv: 'text/tab-separated-values',
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
    segments: result.segments.map((s) => ({
      id: s.id,
      start: s.start,
      end: s.end,
      text: s.text,
      ...(s.words ? { words: s.words } : {}),
    })),
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
    segments: result.segments.map(({ words: _words, ...s }) => s),
  };
  if (withWords) {
    body.words = result.segments.flatMap((s) => (s.words ?? []).map((w) => ({ word: w.word.trim(), start: w.start, end: w.end })));
  }
  return body;
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
  return renderSubtitles(format, result.segments, cue);
}
