// A transcription result in each response format the API offers.
import type { TranscriptionResult } from '../jobs/types.ts';
import { languageName } from '../languages.ts';
import { toSrt, toTsv, toText, toVtt, type CueOptions } from './subtitles.ts';

export const API_FORMATS = ['json', 'verbose_json', 'text', 'srt', 'vtt', 'tsv'] as const;
export const OPENAI_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const;
export type ResponseFormat = (typeof API_FORMATS)[number];

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
    language: languageName(result.language),
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

export function render(format: ResponseFormat, result: TranscriptionResult, cue: CueOptions, totalSeconds: number, words: boolean): Rendered {
  switch (format) {
    case 'json':
      return { contentType: 'application/json', body: apiJson(result, totalSeconds) };
    case 'verbose_json':
      return { contentType: 'application/json', body: verboseJson(result, words) };
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: toText(result.segments) };
    case 'srt':
      return { contentType: 'application/x-subrip; charset=utf-8', body: toSrt(result.segments, cue) };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: toVtt(result.segments, cue) };
    case 'tsv':
      return { contentType: 'text/tab-separated-values; charset=utf-8', body: toTsv(result.segments) };
  }
}
