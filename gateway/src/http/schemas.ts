// Request and response schemas, declared once: they validate the forms, type
// the handlers and make the OpenAPI document.
import Type, { type Static, type TObject, type TOptional, type TSchema } from 'typebox';
import { API_FORMATS, MEDIA_TYPES, OPENAI_FORMATS, SUBTITLE_FORMATS, type ResponseFormat } from '../formats/responses.ts';
import { optionSchema } from '../protocol/messages.ts';
import { JOB_STATUSES } from '../jobs/lifecycle.ts';
import { knownSpeakerFields, SPEAKER_FIELDS } from './speakers.ts';
import { content, ErrorBody } from './route-responses.ts';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const file = Type.String({ format: 'binary', minLength: 1, description: 'The audio or video file (any format FFmpeg reads), not empty.' });

// Decoding options keep the bounds and defaults the protocol schema declares: one declaration for the whole gateway
// (and the UI, which reads them from the OpenAPI document). A default here only says what the worker does when the
// field is left out: the gateway does not fill it in.
const bounds = (name: string, from = optionSchema(name)) => ({ minimum: from.minimum as number, maximum: from.maximum as number, ...scalarDefault(from) });
const scalarDefault = (from: Record<string, unknown>) => (typeof from.default === 'number' || typeof from.default === 'boolean' ? { default: from.default } : {});
const flag = (name: string, description?: string) => Type.Boolean({ ...scalarDefault(optionSchema(name)), ...(description && { description }) });
const beamSize = Type.Integer({ ...bounds('beam_size'), description: 'Beam width.' });
const batchSize = Type.Integer({
  ...bounds('batch_size'),
  description: '0: sequential decoding; n: the batched pipeline, n 30 s windows a batch. Omit it to let the worker choose (batched for audio over 30 s).',
});
const temperature = Type.Number({ ...bounds('temperature', { minimum: 0, maximum: 1 }), description: 'Sampling temperature; 0 keeps the fallback schedule.' });
const threshold = (name: string, description: string) => Type.Number({ ...bounds(name), description });
const vad = (name: string, description: string) => {
  const from = optionSchema(name, 'VadParameters');
  return (from.type === 'integer' ? Type.Integer : Type.Number)({ ...bounds(name, from), description: `${description} Setting it turns vad_filter on; with vad_filter=false it is refused.` });
};
const text = (name: string, description: string) => Type.String({ maxLength: optionSchema(name).maxLength as number, description });
// faster-whisper's knobs, by the names its users know (its transcribe() arguments); the VAD's flattened, as forms are flat.
const DECODING_FIELDS = {
  hotwords: Type.Optional(text('hotwords', 'Words and names to favour (Whisper\'s hotwords: a prompt that is not prior text).')),
  initial_prompt: Type.Optional(text('initial_prompt', 'Text the audio follows on from: spelling, names, style. The same as prompt; give one of the two.')),
  prompt: Type.Optional(text('initial_prompt', 'The same as initial_prompt (the original API\'s name).')),
  condition_on_previous_text: Type.Optional(flag('condition_on_previous_text', 'Each window is decoded after the text of the one before; false stops a loop from carrying on, at some cost in consistency.')),
  no_speech_threshold: Type.Optional(threshold('no_speech_threshold', 'A segment more likely silence than this (and below log_prob_threshold) is dropped.')),
  log_prob_threshold: Type.Optional(threshold('log_prob_threshold', 'A segment whose average token log-probability is lower is decoded again at the next temperature.')),
  compression_ratio_threshold: Type.Optional(threshold('compression_ratio_threshold', 'A segment whose text compresses better than this (a loop) is decoded again at the next temperature.')),
  vad_threshold: Type.Optional(vad('threshold', 'Silero VAD: the speech probability from which a frame is speech (higher: less is speech).')),
  min_silence_duration_ms: Type.Optional(vad('min_silence_duration_ms', 'Silero VAD: the silence that ends a stretch of speech.')),
  speech_pad_ms: Type.Optional(vad('speech_pad_ms', 'Silero VAD: audio kept on each side of a stretch of speech.')),
};
const lineWidth = Type.Integer({ minimum: 10, maximum: 200, description: 'Subtitles: the longest line, in characters.' });
const lineCount = Type.Integer({ minimum: 1, maximum: 10, description: 'Subtitles: lines per cue.' });

export const ApiTranscribeForm = Type.Object(
  {
    file,
    model: Type.Optional(Type.String({ description: 'tiny, base, small, medium, large, or any faster-whisper name (GET /api/models lists them); omitted: the server\'s DEFAULT_MODEL (base unless set).', examples: ['base'] })),
    language: Type.Optional(Type.String({ description: "ISO-639-1 code; omit or 'auto' to detect." })),
    task: Type.Optional(literals(['transcribe', 'translate'])),
    response_format: Type.Optional(literals(API_FORMATS)),
    word_timestamps: Type.Optional(flag('word_timestamps')),
    vad_filter: Type.Optional(flag('vad_filter', 'Skip silence (Silero VAD) before decoding.')),
    beam_size: Type.Optional(beamSize),
    batch_size: Type.Optional(batchSize),
    temperature: Type.Optional(temperature),
    ...DECODING_FIELDS,
    max_line_width: Type.Optional(lineWidth),
    max_line_count: Type.Optional(lineCount),
    ...SPEAKER_FIELDS,
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
  status: literals(JOB_STATUSES),
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
  audio: Type.Boolean({ description: 'Whether GET /api/jobs/{id}/audio plays it: a succeeded job\'s upload, kept with KEEP_AUDIO (a live session keeps none)' }),
});

export const SearchMatch = Type.Object({
  segment_id: Type.Integer({ description: 'The segment\'s id in the result' }),
  start: Type.Number({ description: 'Seconds: where to seek the player' }),
  end: Type.Number({ description: 'Seconds' }),
  text: Type.String({ description: 'The segment\'s text' }),
});
const JobListItem = Type.Object({
  ...JobObject.properties,
  matches: Type.Optional(Type.Array(SearchMatch, {
    description: 'With q: the segments of the transcript that hold words of the query (those with the most of them, at most 3), in time order; '
      + 'empty when only the file name matched.',
  })),
});
export const JobList = Type.Object({ jobs: Type.Array(JobListItem), next_cursor: nullable(Type.String()) });
const listDate = (description: string) => Type.Optional(Type.String({ format: 'date-time', description }));
export const JobListQuery = Type.Object(
  {
    status: Type.Optional(literals(JOB_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ description: 'The previous page\'s next_cursor (of the same query)' })),
    q: Type.Optional(Type.String({
      minLength: 1, maxLength: 200,
      description: 'Search: the jobs whose transcript or file name holds every word (the last one also as the start of a word), '
        + 'best match first, each with its `matches`. Words only: quotes, operators and punctuation are ignored.',
    })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only the jobs of this model (as submitted), exactly' })),
    since: listDate('Only the jobs created at or after this time'),
    until: listDate('Only the jobs created before this time'),
  },
  { additionalProperties: false },
);
export const JobParams = Type.Object({ id: Type.String() });
export const ResultQuery = Type.Object({ format: Type.Optional(literals(API_FORMATS)) }, { additionalProperties: false });

const openaiCommon = {
  file,
  model: Type.String({ description: "'whisper-1' (an alias, OPENAI_MODEL_ALIASES) or a Whisper model name.", examples: ['whisper-1'] }),
  prompt: Type.Optional(Type.String()),
  response_format: Type.Optional(literals(OPENAI_FORMATS)),
  temperature: Type.Optional(temperature),
  stream: Type.Optional(Type.Boolean()),
};

// OpenAI's SDKs send a list as one `name[]` part per item; some clients (LiteLLM) send `name` bare: both are taken.
const bracketed = <N extends string, T extends TSchema>(name: N, list: T) =>
  ({ [`${name}[]`]: Type.Optional(list), [name]: Type.Optional(list) }) as Record<N | `${N}[]`, TOptional<T>>;
const granularities = Type.Array(literals(['word', 'segment']), { maxItems: 2, description: 'word: `words` in verbose_json (word timestamps cost decoding time); segment: always given.' });
const include = Type.Array(literals(['logprobs']), {
  maxItems: 1,
  description: 'logprobs: per word (faster-whisper gives no per-token ones), `logprobs: [{token, logprob, bytes}]` in json and in the stream\'s '
    + 'delta and done events; asks the worker for word timestamps.',
});
const keywords = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
  maxItems: 100, description: 'Words or phrases to favour: Whisper\'s hotwords, joined with ", ".',
});
const languages = Type.Array(Type.String(), {
  maxItems: 100, description: 'The languages the audio may be in (ISO-639-1): the language is detected among these only. Ignored when `language` is set.',
});

export const OpenAITranscriptionForm = Type.Object({
  ...openaiCommon,
  language: Type.Optional(Type.String()),
  ...bracketed('timestamp_granularities', granularities),
  ...bracketed('include', include),
  ...bracketed('keywords', keywords),
  ...bracketed('languages', languages),
  ...knownSpeakerFields(),
  // OpenAI's SDKs send 'auto' as it is and a server_vad object as bracketed fields. The worker finds speech and
  // turns itself, so the strategy changes nothing; it is accepted so that those clients work unchanged.
  chunking_strategy: Type.Optional(Type.String({ description: "Accepted ('auto'), changes nothing: the worker cuts the audio itself." })),
  'chunking_strategy[type]': Type.Optional(Type.Literal('server_vad', { description: 'Accepted, changes nothing.' })),
  'chunking_strategy[prefix_padding_ms]': Type.Optional(Type.Integer({ minimum: 0, description: 'Accepted, changes nothing.' })),
  'chunking_strategy[silence_duration_ms]': Type.Optional(Type.Integer({ minimum: 0, description: 'Accepted, changes nothing.' })),
  'chunking_strategy[threshold]': Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Accepted, changes nothing.' })),
}, { additionalProperties: false });

export const OpenAITranslationForm = Type.Object(openaiCommon, { additionalProperties: false });

/**
 * The most parts a form the document calls valid can have: one per field, a list's bound per list. The multipart
 * parser's limit is taken from it, so no valid form is refused as too large, and a form of thousands of parts is.
 */
export function mostParts(...forms: TObject[]): number {
  const parts = (field: TSchema): number => {
    const list = field as { type?: string; maxItems?: number };
    if (list.type !== 'array') return 1;
    if (list.maxItems === undefined) throw new Error('a list field of a form needs maxItems: the multipart limit is made of them');
    return list.maxItems;
  };
  const total = (form: TObject) => Object.values(form.properties as Record<string, TSchema>).reduce<number>((sum, field) => sum + parts(field), 0);
  return Math.max(...forms.map(total));
}

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
    Type.Object({
      id: Type.Integer(), start: Type.Number(), end: Type.Number(), text: Type.String(),
      speaker: Type.Optional(nullable(Type.String({ description: "With diarization: the speaker's name (`speakers`); null where nobody was heard" }))),
      words: Type.Optional(Type.Array(Type.Object({ ...Word.properties, speaker: Type.Optional(Type.String({ description: "With diarization: the speaker's name" })) }))),
    }),
  ),
  speakers: Type.Optional(Type.Array(
    Type.Object({ id: Type.String({ description: 'A, B, … in order of first speech' }), name: Type.String({ description: "A known speaker's name, or one given by renaming, else the id" }), seconds: Type.Number({ description: 'Total speech' }) }),
    { description: 'Only with diarization' },
  )),
  timing: Type.Object({
    queued_seconds: Type.Number(), load_seconds: Type.Number(), decode_seconds: Type.Number(),
    diarize_seconds: Type.Optional(Type.Number({ description: 'Only with diarization' })), total_seconds: Type.Number(),
  }),
});

export const SubtitlesBody = Type.Object(
  {
    format: literals(SUBTITLE_FORMATS),
    segments: Type.Array(
      Type.Object({
        start: Type.Number({ minimum: 0 }), end: Type.Number({ minimum: 0 }), text: Type.String(), words: Type.Optional(Type.Array(Word)),
        speaker: Type.Optional(nullable(Type.String({
          maxLength: 200,
          description: 'The name to show: before the cue (srt), as a voice span (vtt), in a speaker column (tsv), per turn (text). null: nobody; the json result\'s segments can be posted as they are.',
        }))),
      }),
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

export const ModelList = Type.Object({
  default: Type.String(),
  models: Type.Array(Type.Object({
    name: Type.String(),
    available: Type.Boolean(),
    loaded: Type.Boolean(),
    workers: Type.Array(Type.String()),
    multilingual: nullable(Type.Boolean({ description: "From the model's own files: false for an English-only model; null while no worker has its weights" })),
    languages: nullable(Type.Array(Type.String(), { description: 'The language codes it can transcribe, from its own files' })),
  })),
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

// --- What the routes answer -------------------------------------------------
// Every status and body a route can send is in its `schema.response`: the
// OpenAPI document (/openapi.json) is generated from them, and the fuzz
// (gateway/test/openapi-fuzz.test.ts) fails on any answer it does not declare.

const Text = (description: string) => Type.String({ description });
const json = (schema: TSchema) => Type.String({ contentMediaType: 'application/json', contentSchema: schema });
/** One Server-Sent Event as a client reads it: its name (`message` when the stream names none), its JSON data, and its id when it has one. */
const sseEvent = (event: string, data: TSchema, withId: boolean) =>
  Type.Object({ event: Type.Literal(event), data: json(data), ...(withId && { id: Type.String({ description: 'Resume after it with Last-Event-ID' }) }) });

const ApiSegment = ApiTranscription.properties.segments.items;
const ApiEventData = {
  queued: Type.Object({ position: Type.Integer({ description: 'In the queue: 1 = next' }) }),
  started: Type.Object({ worker: Type.String(), attempt: Type.Integer() }),
  info: Type.Object({ language: Type.String(), language_probability: Type.Number(), duration: Type.Number(), model: Type.String() }),
  progress: Type.Object({ processed: Type.Number(), duration: Type.Number() }),
  segment: ApiSegment,
  result: ApiTranscription,
  error: ErrorBody,
};
/** The events of a job in the original API's names (stream=true, /api/jobs/{id}/events). */
const apiEvents = (withId: boolean) =>
  Type.Union(Object.entries(ApiEventData).map(([name, data]) => sseEvent(name, data, withId)), {
    description: 'Server-Sent Events: queued*, started, info, (progress|segment)*, then result (the json object) or error.',
  });

export const VerboseTranscription = Type.Object({
  task: Type.String(),
  language: Type.String({ description: 'In English, lowercase' }),
  duration: Type.Number(),
  text: Type.String(),
  segments: Type.Array(Type.Object({
    id: Type.Integer(), seek: Type.Integer(), start: Type.Number(), end: Type.Number(), text: Type.String(), tokens: Type.Array(Type.Integer()),
    temperature: Type.Number(), avg_logprob: Type.Number(), compression_ratio: Type.Number(), no_speech_prob: Type.Number(),
    speaker: Type.Optional(nullable(Type.String({ description: "With diarization (an addition to OpenAI's shape): the speaker's name; null where nobody was heard" }))),
  })),
  words: Type.Optional(Type.Array(Type.Object({ word: Type.String(), start: Type.Number(), end: Type.Number() }))),
  usage: Type.Optional(Type.Object({ type: Type.Literal('duration'), seconds: Type.Number({ description: 'Seconds of audio' }) }, { description: 'On /v1/audio/transcriptions' })),
}, { description: "OpenAI's verbose_json" });
const Usage = VerboseTranscription.properties.usage;
const Logprobs = Type.Optional(Type.Array(
  Type.Object({ token: Type.String({ description: 'A word, as decoded' }), logprob: Type.Number(), bytes: Type.Array(Type.Integer({ minimum: 0, maximum: 255 })) }),
  { description: 'With include[]=logprobs: one per word (docs/api.md says how they are computed)' },
));

/** One segment of gpt-4o-transcribe-diarize: an item of diarized_json, and the stream's transcript.text.segment event. */
const DiarizedSegment = Type.Object({
  type: Type.Literal('transcript.text.segment'),
  id: Type.String({ description: 'seg_ and the segment number' }),
  start: Type.Number(),
  end: Type.Number(),
  speaker: Type.String({ description: "The speaker's name; empty where nobody was heard. In the stream without diarization there is none." }),
  text: Type.String(),
});

export const DiarizedTranscription = Type.Object({
  task: Type.String(),
  duration: Type.Number(),
  text: Type.String(),
  segments: Type.Array(DiarizedSegment),
  usage: Usage,
}, { description: "OpenAI's diarized_json (gpt-4o-transcribe-diarize)" });

const subtitleBodies = (formats: readonly ResponseFormat[]) =>
  Object.fromEntries(formats.filter((f) => MEDIA_TYPES[f] !== 'application/json').map((f) => [MEDIA_TYPES[f], Text(`response_format=${f}`)]));

/** A transcription in any of the original API's formats (the result of a job, or of /api/transcribe without stream). */
const apiResult = { 'application/json': Type.Union([ApiTranscription, VerboseTranscription]), ...subtitleBodies(API_FORMATS) };
export const JobResult = content('The result in the format asked (format, else the job\'s response_format).', apiResult);
export const ApiTranscribeResult = content('The transcription in its response_format, or with stream=true its events as they happen.', {
  ...apiResult,
  'text/event-stream': apiEvents(false),
});
export const JobEvents = content('The job\'s events, each with its id (resume after one with Last-Event-ID); the stream ends after a finished job\'s last event.', { 'text/event-stream': apiEvents(true) });
export const SubtitlesFile = content('The file, in the format asked.', subtitleBodies(SUBTITLE_FORMATS));

const OpenAIEvent = Type.Union([
  Type.Object({
    type: Type.Literal('transcript.text.delta'), delta: Type.String(), logprobs: Logprobs,
    segment_id: Type.Optional(Type.String({ description: 'With diarization: the id of the transcript.text.segment that follows' })),
  }),
  Type.Object({ ...DiarizedSegment.properties, speaker: Type.Optional(DiarizedSegment.properties.speaker) }),
  Type.Object({ type: Type.Literal('transcript.text.done'), text: Type.String(), logprobs: Logprobs, usage: Usage }),
  Type.Object({ type: Type.Literal('error'), error: ErrorBody.properties.error }),
]);
export const OpenAITranscriptionResult = content('The transcription in its response_format, or with stream=true its events as they happen.', {
  'application/json': Type.Union([VerboseTranscription, DiarizedTranscription, Type.Object({ text: Type.String(), logprobs: Logprobs, usage: Usage })]),
  ...subtitleBodies(OPENAI_FORMATS),
  'text/event-stream': Type.Object({ event: Type.Literal('message'), data: json(OpenAIEvent) }, {
    description: 'Server-Sent Events (unnamed): per segment a transcript.text.delta then its transcript.text.segment (id, start, end, text; '
      + 'speaker when diarized), then transcript.text.done (with usage on transcriptions) or error.',
  }),
});

/**
 * The serializer of routes whose JSON bodies vary by request (a union the
 * schema-driven serializer would have to guess among): the body as it is, the
 * declared schemas only describing it.
 */
export const sendAsIs = () => (data: unknown) => JSON.stringify(data);
