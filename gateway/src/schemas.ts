// Request and response schemas, declared once: they validate the forms, type
// the handlers and make the OpenAPI document.
import Type, { type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { ApiError } from './errors.ts';
import { API_FORMATS, OPENAI_FORMATS } from './formats/responses.ts';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const file = Type.String({ format: 'binary', description: 'The audio or video file (any format FFmpeg reads).' });

export const ApiTranscribeForm = Type.Object(
  {
    file,
    model: Type.Optional(Type.String({ default: 'base', description: 'tiny, base, small, medium, large, or any faster-whisper name.' })),
    language: Type.Optional(Type.String({ description: "ISO-639-1 code; omit or 'auto' to detect." })),
    task: Type.Optional(literals(['transcribe', 'translate'])),
    response_format: Type.Optional(literals(API_FORMATS)),
    word_timestamps: Type.Optional(Type.Boolean()),
    vad_filter: Type.Optional(Type.Boolean()),
    beam_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    prompt: Type.Optional(Type.String()),
    max_line_width: Type.Optional(Type.Integer({ minimum: 10, maximum: 200 })),
    max_line_count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    stream: Type.Optional(Type.Boolean({ description: 'true: Server-Sent Events with progress, segments and the result.' })),
  },
  { additionalProperties: false },
);

const openaiCommon = {
  file,
  model: Type.String({ description: "'whisper-1' (an alias) or a Whisper model name." }),
  prompt: Type.Optional(Type.String()),
  response_format: Type.Optional(literals(OPENAI_FORMATS)),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
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

export const ErrorBody = Type.Object({
  error: Type.Object({ message: Type.String(), type: Type.String(), param: Type.Union([Type.String(), Type.Null()]), code: Type.String() }),
});

export const ModelList = Type.Object({
  default: Type.String(),
  models: Type.Array(Type.Object({ name: Type.String(), available: Type.Boolean(), loaded: Type.Boolean(), workers: Type.Array(Type.String()) })),
});

export const Health = Type.Object({
  status: literals(['ok', 'degraded', 'unavailable']),
  workers: Type.Array(
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
  ),
  queue: Type.Object({ waiting: Type.Integer(), running: Type.Integer() }),
});

export const OpenAIModelList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(Type.Object({ id: Type.String(), object: Type.Literal('model'), created: Type.Integer(), owned_by: Type.String() })),
});

/** Multipart fields arrive as strings: convert them by the schema, then check. */
export function parseFields<T extends TSchema>(schema: T, fields: Record<string, string | string[]>): Static<T> {
  const input = { ...fields, file: 'binary' };
  const value = Value.Convert(schema, input) as Record<string, unknown>;
  if (!Value.Check(schema, value)) {
    const first = [...Value.Errors(schema, value)].find((e) => e.keyword !== 'boolean') ?? [...Value.Errors(schema, value)][0];
    const extra = (first?.params as { additionalProperties?: string[] })?.additionalProperties;
    const param = extra?.[0] ?? first?.instancePath.replace(/^\//, '').split('/')[0] ?? null;
    const message = extra ? `unknown field '${param}'` : `field '${param}': ${first?.message ?? 'invalid'}`;
    throw new ApiError('invalid_parameter', message, param || null);
  }
  return value as Static<T>;
}
