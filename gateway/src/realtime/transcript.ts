// A finished session as a job's result: one segment per final utterance, with
// the session's own clock, so its downloads (text, srt, vtt, json) are made
// like any other job's.
import type { Segment, TranscriptionResult } from '../protocol/messages.ts';

export interface Final {
  text: string;
  language: string;
  /** Milliseconds of the session's audio. */
  startMs: number;
  endMs: number;
  decodeSeconds: number;
}

export interface SessionSummary {
  model: string;
  /** The language the client fixed, or null when each utterance's was detected. */
  language: string | null;
  /** Seconds of audio the session received. */
  duration: number;
}

/**
 * The session's result. Its language is the one most of the speech was in;
 * language_probability is that share of the speech (1 when the client fixed
 * it). Segments carry no decoding statistics (a stream's finals have none):
 * those fields are 0, and tokens empty.
 */
export function sessionResult(finals: readonly Final[], summary: SessionSummary): TranscriptionResult {
  const spoken = finals.filter((f) => f.text.trim() !== '').sort((a, b) => a.startMs - b.startMs);
  const segments: Segment[] = spoken.map((f, id) => ({
    id, seek: Math.round(f.startMs / 10), start: f.startMs / 1000, end: f.endMs / 1000, text: ` ${f.text.trim()}`,
    tokens: [], temperature: 0, avg_logprob: 0, compression_ratio: 0, no_speech_prob: 0,
  }));
  const { language, share } = mainLanguage(spoken, summary.language);
  return {
    text: spoken.map((f) => f.text.trim()).join(' '),
    language,
    language_probability: share,
    duration: Math.max(summary.duration, (spoken.at(-1)?.endMs ?? 0) / 1000),
    task: 'transcribe',
    model: summary.model,
    segments,
    timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: round(finals.reduce((sum, f) => sum + f.decodeSeconds, 0)) },
  };
}

function mainLanguage(finals: readonly Final[], asked: string | null): { language: string; share: number } {
  if (asked) return { language: asked, share: 1 };
  const ms = new Map<string, number>();
  for (const f of finals) ms.set(f.language, (ms.get(f.language) ?? 0) + Math.max(1, f.endMs - f.startMs));
  const total = [...ms.values()].reduce((a, b) => a + b, 0);
  const [language, most] = [...ms].sort((a, b) => b[1] - a[1])[0] ?? ['en', 0];
  return { language, share: total > 0 ? round(most / total) : 0 };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
