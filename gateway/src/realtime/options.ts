// A session's settings: what session.update changes (only the fields it
// names), how they are shown back (session.created / session.updated, and
// the beta transcription_session.updated), and the worker stream they make.
import type { Config } from '../config.ts';
import type { Language, StreamOptions } from '../protocol/messages.ts';
import { checkLanguage, resolveModel } from '../http/transcribe.ts';
import type { BetaSessionUpdate, SessionUpdate, TranscriptionUpdate, TurnDetectionUpdate } from './events.ts';
import { fromApi } from './errors.ts';
import type { Static } from 'typebox';

export interface TurnDetection {
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
}

export interface SessionOptions {
  /** As the client named it (an OpenAI alias or a Whisper name). */
  model: string;
  /** The Whisper model the worker runs. */
  workerModel: string;
  language: Language | null;
  prompt: string;
  rate: 16000 | 24000;
  /** null: no VAD, an utterance ends at input_audio_buffer.commit only. */
  turnDetection: TurnDetection | null;
}

// OpenAI's defaults for server VAD, which are also the worker's (protocol §4).
export const DEFAULT_TURN_DETECTION: TurnDetection = { threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 };

/** What resolves and checks names against what the workers know (the HTTP API's own checks). */
export interface Names {
  config: Config;
  knownModels(): readonly string[];
}

/**
 * A new session's settings. A model in the URL (`?model=`, as the official SDKs
 * send) is used when it names a transcription model; a conversation model's
 * name (gpt-realtime…) means nothing here, so the default is used instead.
 */
export function initialOptions(names: Names, urlModel: string | undefined): SessionOptions {
  let model = names.config.defaultModel;
  let workerModel = resolveModel(model, names.config, []);
  if (urlModel) {
    try {
      workerModel = resolveModel(urlModel, names.config, names.knownModels());
      model = urlModel;
    } catch {
      // not a model the workers know: the default stands, and session.created says which
    }
  }
  return { model, workerModel, language: null, prompt: '', rate: 24000, turnDetection: { ...DEFAULT_TURN_DETECTION } };
}

type GaSession = Static<typeof SessionUpdate>['session'];
type BetaSession = Static<typeof BetaSessionUpdate>['session'];

/** The settings after a session.update; throws a RealtimeError (naming the field) and changes nothing when one is refused. */
export function applyUpdate(current: SessionOptions, session: GaSession, names: Names, eventId: string | null): SessionOptions {
  const input = session.audio?.input;
  const next = applyTranscription(current, input?.transcription, 'session.audio.input.transcription', names, eventId);
  if (input?.format?.rate !== undefined) next.rate = input.format.rate;
  if (input?.turn_detection !== undefined) next.turnDetection = turnDetection(current.turnDetection, input.turn_detection);
  return next;
}

export function applyBetaUpdate(current: SessionOptions, session: BetaSession, names: Names, eventId: string | null): SessionOptions {
  const next = applyTranscription(current, session.input_audio_transcription, 'session.input_audio_transcription', names, eventId);
  if (session.input_audio_format !== undefined) next.rate = 24000;
  if (session.turn_detection !== undefined) next.turnDetection = turnDetection(current.turnDetection, session.turn_detection);
  return next;
}

function applyTranscription(current: SessionOptions, t: TranscriptionUpdate | undefined, at: string, names: Names, eventId: string | null): SessionOptions {
  const next = { ...current };
  if (t?.model !== undefined) {
    try {
      next.workerModel = resolveModel(t.model, names.config, names.knownModels());
    } catch (e) {
      throw fromApi(e, `${at}.model`, eventId);
    }
    next.model = t.model;
  }
  if (t?.language !== undefined) {
    try {
      next.language = checkLanguage(t.language ?? undefined);
    } catch (e) {
      throw fromApi(e, `${at}.language`, eventId);
    }
  }
  if (t?.prompt !== undefined) next.prompt = t.prompt ?? '';
  return next;
}

/** Fields left out keep their value: from the defaults when VAD was off. */
function turnDetection(current: TurnDetection | null, update: TurnDetectionUpdate): TurnDetection | null {
  if (update === null) return null;
  const base = current ?? DEFAULT_TURN_DETECTION;
  return {
    threshold: update.threshold ?? base.threshold,
    prefix_padding_ms: update.prefix_padding_ms ?? base.prefix_padding_ms,
    silence_duration_ms: update.silence_duration_ms ?? base.silence_duration_ms,
  };
}

const vad = (t: TurnDetection | null) => (t ? { type: 'server_vad' as const, ...t } : null);

/** The session as session.created and session.updated show it (GA). */
export function sessionObject(id: string, o: SessionOptions) {
  return {
    object: 'realtime.session',
    type: 'transcription',
    id,
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: o.rate },
        noise_reduction: null,
        transcription: { model: o.model, prompt: o.prompt, language: o.language },
        turn_detection: vad(o.turnDetection),
      },
    },
    include: [],
  };
}

/** The session as the beta transcription_session.updated shows it. */
export function betaSessionObject(id: string, o: SessionOptions) {
  return {
    object: 'realtime.transcription_session',
    id,
    input_audio_format: 'pcm16',
    input_audio_transcription: { model: o.model, prompt: o.prompt, language: o.language },
    turn_detection: vad(o.turnDetection),
    input_audio_noise_reduction: null,
    include: [],
  };
}

/** The worker's `stream` request for these settings. */
export function streamRequest(o: SessionOptions): { model: string; options: StreamOptions } {
  return {
    model: o.workerModel,
    options: { language: o.language, task: 'transcribe', initial_prompt: o.prompt || null, sample_rate: o.rate, turn_detection: o.turnDetection && { ...o.turnDetection } },
  };
}

/** Whether a stream opened with `a` can go on under `b`: else it is closed (its utterance finalized) and another opened. */
export function sameStream(a: SessionOptions, b: SessionOptions): boolean {
  return JSON.stringify(streamRequest(a)) === JSON.stringify(streamRequest(b));
}
