// The client events of OpenAI's Realtime API that a transcription session
// takes (GA shapes, and the beta `transcription_session.update`), declared
// once: they check each event, and every refusal names the field and what it
// accepts, as the HTTP API's do. Unknown fields are refused by name, so that a
// setting this server does not honour is never dropped in silence.
import Type, { type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { optionSchema } from '../protocol/messages.ts';
import { describeSchema } from '../http/validation.ts';
import { RealtimeError } from './errors.ts';

const bounds = (name: string) => {
  const { minimum, maximum } = optionSchema(name, 'TurnDetection') as { minimum: number; maximum: number };
  return { minimum, maximum };
};
const eventId = Type.Optional(Type.String({ maxLength: 512 }));
const unsupported = (what: string) => Type.Null({ description: `${what} is not supported by this server` });

const ServerVad = Type.Object({
  type: Type.Literal('server_vad'),
  threshold: Type.Optional(Type.Number(bounds('threshold'))),
  prefix_padding_ms: Type.Optional(Type.Integer(bounds('prefix_padding_ms'))),
  silence_duration_ms: Type.Optional(Type.Integer(bounds('silence_duration_ms'))),
  // Conversation settings: a transcription session makes no responses, so they change nothing.
  create_response: Type.Optional(Type.Boolean()),
  interrupt_response: Type.Optional(Type.Boolean()),
  idle_timeout_ms: Type.Optional(Type.Null()),
}, { additionalProperties: false });
const TurnDetection = Type.Union([ServerVad, Type.Null()]);
export type TurnDetectionUpdate = Static<typeof TurnDetection>;

const Transcription = Type.Object({
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  language: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  prompt: Type.Optional(Type.Union([Type.String({ maxLength: 10000 }), Type.Null()])),
}, { additionalProperties: false });
export type TranscriptionUpdate = Static<typeof Transcription>;

const Include = Type.Array(Type.String(), { maxItems: 0, description: 'logprobs are not supported by this server' });

export const SessionUpdate = Type.Object({
  type: Type.Literal('session.update'),
  event_id: eventId,
  session: Type.Object({
    type: Type.Optional(Type.Literal('transcription', { description: 'this server runs transcription sessions only' })),
    audio: Type.Optional(Type.Object({
      input: Type.Optional(Type.Object({
        format: Type.Optional(Type.Object({
          type: Type.Literal('audio/pcm', { description: 'PCM16 little-endian mono; audio/pcmu and audio/pcma are not supported' }),
          rate: Type.Optional(Type.Union([Type.Literal(24000), Type.Literal(16000)])),
        }, { additionalProperties: false })),
        transcription: Type.Optional(Transcription),
        turn_detection: Type.Optional(TurnDetection),
        noise_reduction: Type.Optional(unsupported('noise reduction')),
      }, { additionalProperties: false })),
    }, { additionalProperties: false })),
    include: Type.Optional(Include),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** OpenAI's beta shape (`OpenAI-Beta: realtime=v1` clients): PCM16 at 24 kHz only. */
export const BetaSessionUpdate = Type.Object({
  type: Type.Literal('transcription_session.update'),
  event_id: eventId,
  session: Type.Object({
    input_audio_format: Type.Optional(Type.Literal('pcm16', { description: 'PCM16 at 24 kHz; g711_ulaw and g711_alaw are not supported' })),
    input_audio_transcription: Type.Optional(Transcription),
    turn_detection: Type.Optional(TurnDetection),
    input_audio_noise_reduction: Type.Optional(unsupported('noise reduction')),
    include: Type.Optional(Include),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

export const Append = Type.Object({ type: Type.Literal('input_audio_buffer.append'), event_id: eventId, audio: Type.String() }, { additionalProperties: false });
export const Commit = Type.Object({ type: Type.Literal('input_audio_buffer.commit'), event_id: eventId }, { additionalProperties: false });
export const Clear = Type.Object({ type: Type.Literal('input_audio_buffer.clear'), event_id: eventId }, { additionalProperties: false });

const EVENTS = {
  'session.update': SessionUpdate,
  'transcription_session.update': BetaSessionUpdate,
  'input_audio_buffer.append': Append,
  'input_audio_buffer.commit': Commit,
  'input_audio_buffer.clear': Clear,
} as const;

export type ClientEvent = { [K in keyof typeof EVENTS]: Static<(typeof EVENTS)[K]> }[keyof typeof EVENTS];

/** One WebSocket message as a client event; throws a RealtimeError that says what is wrong. */
export function parseClientEvent(data: string): ClientEvent {
  let event: unknown;
  try {
    event = JSON.parse(data);
  } catch (e) {
    throw new RealtimeError('invalid_json', `The message is not JSON: ${(e as Error).message}. Send each event as one JSON object in a text message.`);
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new RealtimeError('invalid_json', 'The message is not a JSON object: each event is an object with a "type".');
  const { type, event_id: id } = event as { type?: unknown; event_id?: unknown };
  const clientId = typeof id === 'string' ? id : null;
  const schema = typeof type === 'string' ? EVENTS[type as keyof typeof EVENTS] : undefined;
  if (!schema) {
    const what = typeof type === 'string' ? `'${type}' is not an event a transcription session takes` : 'The event has no "type"';
    throw new RealtimeError('unknown_event', `${what}. Supported: ${Object.keys(EVENTS).join(', ')}.`, 'type', clientId);
  }
  if (!Value.Check(schema, event)) throw refusal(schema, event, clientId);
  return event as ClientEvent;
}

/** The first thing wrong with `value`, named by its dotted path (`session.audio.input.format.rate`). */
function refusal(schema: TSchema, value: unknown, clientId: string | null): RealtimeError {
  const errors = [...Value.Errors(schema, value)].filter((e) => e.keyword !== 'boolean');
  const dotted = (pointer: string) => pointer.replace(/^\//, '').replaceAll('/', '.');
  const extra = errors.find((e) => e.keyword === 'additionalProperties');
  if (extra) {
    const name = [dotted(extra.instancePath), (extra.params as { additionalProperties: string[] }).additionalProperties[0]].filter(Boolean).join('.');
    return new RealtimeError('unknown_parameter', `Unknown parameter '${name}': this server does not take it.`, name, clientId);
  }
  const missing = errors.find((e) => e.keyword === 'required');
  if (missing) {
    const name = [dotted(missing.instancePath), (missing.params as { requiredProperties: string[] }).requiredProperties[0]].filter(Boolean).join('.');
    return new RealtimeError('missing_required_parameter', `Missing required parameter '${name}'.`, name, clientId);
  }
  // The deepest path is the most precise; at it, a union's refusal lists every choice.
  const deepest = errors.reduce((a, b) => (b.instancePath.split('/').length > a.instancePath.split('/').length ? b : a), errors[0]!);
  const path = deepest.instancePath;
  const field = schemaAt(schema, path.split('/').slice(1));
  const got = JSON.stringify(path.split('/').slice(1).reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], value));
  const accepted = field ? describe(field) : deepest.message;
  return new RealtimeError('invalid_value', `Invalid value for '${dotted(path)}': it ${accepted} (got ${got}).`, dotted(path), clientId);
}

function describe(schema: TSchema): string {
  const s = schema as { type?: string; maxItems?: number; description?: string; anyOf?: TSchema[] };
  if (s.type === 'null') return `must be null: ${s.description ?? ''}`.trim();
  if (s.maxItems === 0) return `must be empty: ${s.description ?? ''}`.trim();
  if ('const' in s && s.description) return `must be ${JSON.stringify((s as { const: unknown }).const)}: ${s.description}`;
  // A union of an object and null (turn_detection): say both.
  if (s.anyOf?.some((v) => (v as { type?: string }).type === 'null') && s.anyOf.some((v) => (v as { type?: string }).type === 'object')) return 'must be an object or null';
  if (s.type === 'object') return 'must be an object';
  return describeSchema(schema);
}

function schemaAt(schema: TSchema, keys: string[]): TSchema | null {
  let at: TSchema | undefined = schema;
  for (const key of keys) {
    const options: TSchema[] = (at as { anyOf?: TSchema[] }).anyOf ?? [at!];
    at = options.map((o) => (o as { properties?: Record<string, TSchema> }).properties?.[key]).find(Boolean);
    if (!at) return null;
  }
  return at ?? null;
}
