// The worker's messages, checked against protocol/schema/messages.schema.json:
// the one definition both sides share. The types come from the same file
// (messages.generated.ts, made by `npm run protocol-types`), and every reply is
// validated here, at the gateway's edge, before anything reads it.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import schema from '../../../protocol/schema/messages.schema.json' with { type: 'json' };
import type {
  CancelResult, DetectLanguageResult, ErrorReply, EventReply, HelloResult, Language, ListModelsResult, LoadModelResult, Request,
  StatusResult, StreamAudioResult, StreamClearResult, StreamCloseResult, StreamCommitResult, StreamEventReply, StreamResult,
  TranscribeResult, UnloadModelResult,
} from './messages.generated.ts';

export type * from './messages.generated.ts';
/** A transcription's result as the worker sends it (the schema's TranscribeResult). */
export type TranscriptionResult = TranscribeResult;

export type Command =
  | 'transcribe' | 'detect_language' | 'list_models' | 'status' | 'load_model' | 'unload_model' | 'cancel' | 'hello'
  | 'stream' | 'stream_audio' | 'stream_commit' | 'stream_clear' | 'stream_close';

/** What each command's `result` holds. */
export interface ResultOf {
  transcribe: TranscribeResult;
  detect_language: DetectLanguageResult;
  list_models: ListModelsResult;
  status: StatusResult;
  load_model: LoadModelResult;
  unload_model: UnloadModelResult;
  cancel: CancelResult;
  hello: HelloResult;
  stream: StreamResult;
  stream_audio: StreamAudioResult;
  stream_commit: StreamCommitResult;
  stream_clear: StreamClearResult;
  stream_close: StreamCloseResult;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
/** A request as a client writes it; the connection gives it an id when it has none. */
export type Outgoing = WithoutId<Request> & { id?: string };

/** Every reply a request can get: events (transcribe and stream only), then one result or error. */
export type AnyReply = EventReply | StreamEventReply | ErrorReply | { id: string; type: 'result'; result: unknown };

const DEFINITION: Record<Command, string> = {
  transcribe: 'Transcribe',
  detect_language: 'DetectLanguage',
  list_models: 'ListModels',
  status: 'Status',
  load_model: 'LoadModel',
  unload_model: 'UnloadModel',
  cancel: 'Cancel',
  hello: 'Hello',
  stream: 'Stream',
  stream_audio: 'StreamAudio',
  stream_commit: 'StreamCommit',
  stream_clear: 'StreamClear',
  stream_close: 'StreamClose',
};

const TRANSCRIBE_EVENTS = new Set(['queued', 'info', 'progress', 'segment']);
const STREAM_EVENTS = new Set(['queued', 'slot', 'speech_started', 'speech_stopped', 'delta', 'final']);

const ajv = new Ajv2020({ allErrors: false, strict: true, strictTuples: false });
ajv.addKeyword('x-audio-frame');
ajv.addSchema(schema, 'protocol');
const compiled = new Map<string, ValidateFunction>();

function validator(definition: string): ValidateFunction {
  let validate = compiled.get(definition);
  if (!validate) {
    validate = ajv.getSchema(`protocol#/$defs/${definition}`);
    if (!validate) throw new Error(`protocol schema has no definition '${definition}'`);
    compiled.set(definition, validate);
  }
  return validate;
}

export class ProtocolError extends Error {}

function describe(validate: ValidateFunction): string {
  const e = validate.errors?.[0];
  return e ? `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}` : 'is invalid';
}

/** The schema definition a reply to `command` must match, or null when no reply of that type is allowed. */
export function replyDefinition(command: Command, type: unknown): string | null {
  if (type === 'result') return `${DEFINITION[command]}Reply`;
  if (type === 'error') return 'ErrorReply';
  if (command === 'transcribe' && TRANSCRIBE_EVENTS.has(type as string)) return 'EventReply';
  if (command === 'stream' && STREAM_EVENTS.has(type as string)) return 'StreamEventReply';
  return null;
}

/** A reply to `command`, checked; throws ProtocolError naming what is wrong. */
export function checkReply(command: Command, reply: unknown): AnyReply {
  const type = (reply as { type?: unknown } | null)?.type;
  const definition = replyDefinition(command, type);
  if (definition === null) throw new ProtocolError(`a '${String(type)}' reply is not one that '${command}' can get`);
  const validate = validator(definition);
  if (!validate(reply)) throw new ProtocolError(`a '${String(type)}' reply to '${command}' does not match the protocol: ${describe(validate)}`);
  return reply as AnyReply;
}

/** A request as the worker would judge it by the schema alone (the worker's own check is the authority). */
export function checkRequest(request: { command?: unknown }): string | null {
  const command = request.command;
  if (typeof command !== 'string') return 'bad_request';
  if (!(command in DEFINITION)) return 'unknown_command';
  const validate = validator(`${DEFINITION[command as Command]}Request`);
  return validate(request) ? null : 'bad_request';
}

/** Whisper's languages: the schema's list is the one list of the whole service. */
export const LANGUAGES: readonly Language[] = schema.$defs.Language.enum as Language[];

/** A decoding option's declaration (type, bounds, default), for the HTTP forms that expose it. */
export function optionSchema(name: string, definition: 'TranscribeOptions' | 'StreamOptions' | 'TurnDetection' | 'Diarization' | 'KnownSpeaker' | 'VadParameters' = 'TranscribeOptions'): Record<string, unknown> {
  const option = (schema.$defs[definition].properties as Record<string, Record<string, unknown>>)[name];
  if (!option) throw new Error(`protocol schema has no option '${name}' in ${definition}`);
  return option;
}
