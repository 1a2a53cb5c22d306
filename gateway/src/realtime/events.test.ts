import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientEvent } from './events.ts';
import { RealtimeError } from './errors.ts';

const refused = (event: unknown, code: string, param: string | null, message: RegExp) =>
  assert.throws(() => parseClientEvent(typeof event === 'string' ? event : JSON.stringify(event)), (e: unknown) => {
    assert.ok(e instanceof RealtimeError);
    assert.deepEqual([e.code, e.param, e.type], [code, param, 'invalid_request_error']);
    assert.match(e.message, message);
    return true;
  });
const update = (input: object) => ({ type: 'session.update', event_id: 'e1', session: { type: 'transcription', audio: { input } } });

test('the GA and beta session updates and the buffer events are taken as they are', () => {
  const ga = update({ format: { type: 'audio/pcm', rate: 16000 }, transcription: { model: 'whisper-1', language: 'de', prompt: 'Norland' }, turn_detection: { type: 'server_vad', threshold: 0.6, silence_duration_ms: 800, prefix_padding_ms: 200, create_response: true }, noise_reduction: null });
  assert.deepEqual(parseClientEvent(JSON.stringify(ga)), ga);
  const beta = { type: 'transcription_session.update', session: { input_audio_format: 'pcm16', input_audio_transcription: { model: 'gpt-4o-transcribe' }, turn_detection: null, input_audio_noise_reduction: null, include: [] } };
  assert.deepEqual(parseClientEvent(JSON.stringify(beta)), beta);
  for (const type of ['input_audio_buffer.commit', 'input_audio_buffer.clear']) assert.equal(parseClientEvent(JSON.stringify({ type })).type, type);
});

test('each refusal names the field and what it accepts, with the client event\'s id', () => {
  refused('nope', 'invalid_json', null, /not JSON/);
  refused('"text"', 'invalid_json', null, /not a JSON object/);
  refused({ type: 'conversation.item.create' }, 'unknown_event', 'type', /'conversation\.item\.create' is not an event.*Supported: session\.update, transcription_session\.update, input_audio_buffer\.append/);
  refused({ event_id: 'x' }, 'unknown_event', 'type', /no "type"/);
  refused(update({ format: { type: 'audio/pcmu' } }), 'invalid_value', 'session.audio.input.format.type', /must be "audio\/pcm": PCM16.*audio\/pcmu and audio\/pcma are not supported \(got "audio\/pcmu"\)/);
  refused(update({ format: { type: 'audio/pcm', rate: 44100 } }), 'invalid_value', 'session.audio.input.format.rate', /must be one of: 24000, 16000 \(got 44100\)/);
  refused(update({ turn_detection: { type: 'server_vad', silence_duration_ms: 50 } }), 'invalid_value', 'session.audio.input.turn_detection.silence_duration_ms', /from 100 to 10000/);
  refused(update({ turn_detection: 'on' }), 'invalid_value', 'session.audio.input.turn_detection', /an object or null/);
  refused(update({ noise_reduction: { type: 'far_field' } }), 'invalid_value', 'session.audio.input.noise_reduction', /must be null: noise reduction is not supported/);
  refused(update({ transcription: { model: 'whisper-1', delay: 'low' } }), 'unknown_parameter', 'session.audio.input.transcription.delay', /Unknown parameter/);
  refused({ type: 'session.update' }, 'missing_required_parameter', 'session', /Missing required parameter 'session'/);
  refused({ type: 'input_audio_buffer.append' }, 'missing_required_parameter', 'audio', /'audio'/);
  refused({ type: 'transcription_session.update', session: { input_audio_format: 'g711_ulaw' } }, 'invalid_value', 'session.input_audio_format', /g711_ulaw and g711_alaw are not supported/);
  assert.throws(() => parseClientEvent(JSON.stringify({ type: 'input_audio_buffer.commit', event_id: 'c9', extra: 1 })), (e: RealtimeError) => e.clientEventId === 'c9');
});
