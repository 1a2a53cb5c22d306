// Request and response schemas, declared once: they validate the forms, type
// the handlers and make the OpenAPI document.
import Type, { type Static, type TObject, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { ApiError } from './errors.ts';
import { API_FORMATS, OPENAI_FORMATS, SUBTITLE_FORMATS } from './formats/responses.ts';
import { optionSchema } from './protocol/messages.ts';
import { describeSchema } from './validation.ts';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const file = Type.String({ format: 'binary', description: 'The audio or video file (any format FFmpeg reads).' });

// Decoding options keep the bounds the protocol schema declares: one declaration for the whole gateway.
const bounds = (name: string, from = optionSchema(name)) => ({ minimum: from.minimum as number, maximum: from.maximum as number });
const beamSize = Type.Integer({ ...bounds('beam_size'), description: 'Beam width.' });
const batchSize = Type.Integer({
  ...bounds('batch_size'),
  description: '0: sequential decoding; n: the batched pipeline, n 30 s windows a batch. Omit it to let the worker choose (batched for audio over 30 s).',
});
const temperature = Type.Number({ ...bounds('temperature', { minimum: 0, maximum: 1 }), description: 'Sampling temperature; 0 keeps the fallback schedule.' });
const lineWidth = Type.Integer({ minimum: 10, maximum: 200, description: 'Subtitles: the longest line, in characters.' });
const lineCount = Type.Integer({ minimum: 1, maximum: 10, description: 'Subtitles: lines per cue.' });

export const ApiTranscribeForm = Type.Object(
  {
    file,
    model: Type.Optional(Type.String({ default: 'base', description: 'tiny, base, small, medium, large, or any faster-whisper name.' })),
    language: Type.Optional(Type.String({ description: "ISO-639-1 code; omit or 'auto' to detect." })),
    task: Type.Optional(literals(['transcribe', 'translate'])),
    response_format: Type.Optional(literals(API_FORMATS)),
    word_timestamps: Type.Optional(Type.Boolean()),
    vad_filter: Type.Optional(Type.Boolean()),
    beam_size: Type.Optional(beamSize),
    batch_size: Type.Optional(batchSize),
    temperature: Type.Optional(temperature),
    prompt: Type.Optional(Type.String()),
    max_line_width: Type.Optional(lineWidth),
    max_line_count: Type.Optional(lineCount),
    stream: Type.Optional(Type.Boolean({ description: 'true: Server-Sent Events with progress, segments and the result.' })),
  },
  { additionalProperties: false },
);

export const JobForm = Type.Object(
  {
    ...Type.Omit(ApiTranscribeForm, ['stream']).properties,
    callback_url: Type.Optional(Type.String({ description: 'POSTed the job object, signed (Standard Webhooks), when the job finishes. Its host must be in WEBHOOK_ALLOWED_HOSTS.' })),
  },
  { additionalProperties: false },
);
export type JobFields = Static<typeof JobForm>;

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const jobError = Type.Object({ code: Type.String(), message: Type.String() });

export const JobObject = Type.Object({
  id: Type.String(),
  status: literals(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  created_at: Type.String({ format: 'date-time' }),
  started_at: nullable(Type.String({ format: 'date-time' })),
  finished_at: nullable(Type.String({ format: 'date-time' })),
  model: Type.String(),
  task: Type.String(),
  language: nullable(Type.String({ description: 'As asked, then as detected' })),
  filename: Type.String(),
  duration: nullable(Type.Number({ description: 'Seconds of audio, once known' })),
  progress: nullable(Type.Object({ processed: Type.Number(), duration: Type.Number() })),
  position: nullable(Type.Integer({ description: 'While queued: 1 = next' })),
  attempts: Type.Integer(),
  error: nullable(jobError),
  result: nullable(Type.Unknown({ description: 'When succeeded: the json shape of /api/transcribe' })),
  callback_url: nullable(Type.String()),
  webhook: nullable(Type.Object({ attempts: Type.Integer(), delivered: Type.Boolean(), last_status: nullable(Type.Integer()), last_error: nullable(Type.String()), delivered_at: nullable(Type.String()) })),
});

export const JobList = Type.Object({ jobs: Type.Array(JobObject), next_cursor: nullable(Type.String()) });
export const JobListQuery = Type.Object(
  {
    status: Type.Optional(literals(['queued', 'running', 'succeeded', 'failed', 'cancelled'])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export const JobParams = Type.Object({ id: Type.String() });
export const ResultQuery = Type.Object({ format: Type.Optional(literals(API_FORMATS)) }, { additionalProperties: false });

const openaiCommon = {
  file,
  model: Type.String({ description: "'whisper-1' (an alias) or a Whisper model name." }),
  prompt: Type.Optional(Type.String()),
  response_format: Type.Optional(literals(OPENAI_FORMATS)),
  temperature: Type.Optional(temperature),
  stream: Type.Optional(Type.Boolean()),
};

export const OpenAITranscriptionForm = Type.Object({
  ...openaiCommon,
  language: Type.Optional(Type.String()),
  'timestamp_granularities[]': Type.Optional(Type.Array(literals(['word', 'segment']))),
});

export const OpenAITranslationForm = Type.Object(openaiCommon);

export type ApiTranscribeFields = Static<typeof ApiTranscribeForm>;
export type OpenAITranscriptionFields = Static<typeof OpenAITranscriptionForm>;

const Word = Type.Object({ word: Type.String(), start: Type.Number(), end: Type.Number(), probability: Type.Number() });

export const ApiTranscription = Type.Object({
  text: Type.String(),
  language: Type.String(),
  language_probability: Type.Number(),
  duration: Type.Number(),
  model: Type.String(),
  task: Type.String(),
  segments: Type.Array(
    Type.Object({ id: Type.Integer(), start: Type.Number(), end: Type.Number(), text: Type.String(), words: Type.Optional(Type.Array(Word)) }),
  ),
  timing: Type.Object({ queued_seconds: Type.Number(), load_seconds: Type.Number(), decode_seconds: Type.Number(), total_seconds: Type.Number() }),
});

export const SubtitlesBody = Type.Object(
  {
    format: literals(SUBTITLE_FORMATS),
    segments: Type.Array(
      Type.Object({ start: Type.Number({ minimum: 0 }), end: Type.Number({ minimum: 0 }), text: Type.String(), words: Type.Optional(Type.Array(Word)) }),
      { maxItems: 100_000 },
    ),
    max_line_width: Type.Optional(lineWidth),
    max_line_count: Type.Optional(lineCount),
  },
  { additionalProperties: false },
);
export type SubtitlesRequest = Static<typeof SubtitlesBody>;

export const LanguageList = Type.Object({
  languages: Type.Array(Type.Object({ code: Type.String(), name: Type.String({ description: 'In English' }) })),
});

export const ErrorBody = Type.Object({
  error: Type.Object({ message: Type.String(), type: Type.String(), param: Type.Union([Type.String(), Type.Null()]), code: Type.String() }),
});

export const ModelList = Type.Object({
  default: Type.String(),
  models: Type.Array(Type.Object({ name: Type.String(), available: Type.Boolean(), loaded: Type.Boolean(), workers: Type.Array(Type.String()) })),
});

export const Health = Type.Object({
  status: literals(['ok', 'degraded', 'unavailable']),
  workers: Type.Optional(Type.Array(
    Type.Object({
      address: Type.String(),
      up: Type.Boolean(),
      error: Type.Union([Type.String(), Type.Null()]),
      device: Type.Union([Type.String(), Type.Null()]),
      slots: Type.Integer(),
      running: Type.Integer(),
      queued: Type.Integer(),
      loaded_models: Type.Array(Type.String()),
    }),
  )),
  queue: Type.Optional(nullable(Type.Object({ waiting: Type.Integer(), running: Type.Integer() }, { description: 'Jobs waiting and running, on every gateway that shares the store' }))),
  storage: Type.Optional(Type.Object({
    backend: literals(['sqlite', 'redis']),
    error: nullable(Type.String({ description: 'Why the job store cannot be reached now' })),
  })),
});

export const OpenAIModelList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(Type.Object({ id: Type.String(), object: Type.Literal('model'), created: Type.Integer(), owned_by: Type.String() })),
});

/** Multipart fields arrive as strings: convert them by the schema, then check. */
export function parseFields<T extends TObject>(schema: T, fields: Record<string, string | string[]>): Static<T> {
  const value = Value.Convert(schema, { ...fields, file: 'binary' }) as Record<string, unknown>;
  if (Value.Check(schema, value)) return value as Static<T>;
  const errors = [...Value.Errors(schema, value)];
  const extra = errors.map((e) => (e.params as { additionalProperties?: string[] })?.additionalProperties?.[0]).find(Boolean);
  if (extra) throw new ApiError('invalid_parameter', `unknown field '${extra}'; accepted fields: ${Object.keys(schema.properties).join(', ')}`, extra);
  const missing = errors.map((e) => (e.params as { requiredProperties?: string[] })?.requiredProperties?.[0]).find(Boolean);
  if (missing) throw new ApiError('invalid_parameter', `field '${missing}' is required`, missing);
  const param = errors[0]?.instancePath.replace(/^\//, '').split('/')[0] ?? '';
  const field = (schema.properties as Record<string, TSchema>)[param];
  const raw = fields[param];
  const got = raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`;
  const accepted = field ? describeSchema(field) : errors[0]?.message ?? 'is invalid';
  throw new ApiError('invalid_parameter', `field '${param}' ${accepted}${got}`, param || null);
}
