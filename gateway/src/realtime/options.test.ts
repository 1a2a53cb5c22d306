import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config.ts';
import { RealtimeError } from './errors.ts';
import { applyBetaUpdate, applyUpdate, initialOptions, sameStream, streamRequest, DEFAULT_TURN_DETECTION } from './options.ts';

const names = { config: loadConfig({ OPENAI_MODEL_ALIASES: 'whisper-1=base,gpt-4o-transcribe=large-v3' }), knownModels: () => ['tiny.en', 'base', 'large-v3'] };

test('a new session: the default model, or the URL\'s when it names a transcription model', () => {
  assert.deepEqual(initialOptions(names, undefined), { model: 'base', workerModel: 'base', language: null, prompt: '', rate: 24000, turnDetection: DEFAULT_TURN_DETECTION });
  assert.deepEqual([initialOptions(names, 'gpt-4o-transcribe').model, initialOptions(names, 'gpt-4o-transcribe').workerModel], ['gpt-4o-transcribe', 'large-v3']);
  assert.equal(initialOptions(names, 'gpt-realtime').model, 'base', 'a conversation model means nothing here');
});

test('an update changes the fields it names only; turn detection fields fill from the current ones', () => {
  const start = initialOptions(names, undefined);
  const a = applyUpdate(start, { audio: { input: { transcription: { model: 'whisper-1', language: 'DE' }, turn_detection: { type: 'server_vad', threshold: 0.7 } } } }, names, null);
  assert.deepEqual(a, { ...start, model: 'whisper-1', workerModel: 'base', language: 'de', turnDetection: { ...DEFAULT_TURN_DETECTION, threshold: 0.7 } });
  const b = applyUpdate(a, { audio: { input: { format: { type: 'audio/pcm', rate: 16000 }, turn_detection: null } } }, names, null);
  assert.deepEqual([b.rate, b.turnDetection, b.language, b.model], [16000, null, 'de', 'whisper-1']);
  const c = applyUpdate(b, { audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 900 } } } }, names, null);
  assert.deepEqual(c.turnDetection, { ...DEFAULT_TURN_DETECTION, silence_duration_ms: 900 });
  assert.equal(applyUpdate(c, { audio: { input: { transcription: { language: 'auto' } } } }, names, null).language, null);
  const beta = applyBetaUpdate(b, { input_audio_format: 'pcm16', input_audio_transcription: { prompt: 'Norland' } }, names, null);
  assert.deepEqual([beta.rate, beta.prompt], [24000, 'Norland']);
});

test('names the workers do not know are refused with the field, and change nothing', () => {
  const start = initialOptions(names, undefined);
  assert.throws(() => applyUpdate(start, { audio: { input: { transcription: { model: 'gpt-9' } } } }, names, 'e1'),
    (e: unknown) => e instanceof RealtimeError && e.code === 'unknown_model' && e.param === 'session.audio.input.transcription.model' && e.clientEventId === 'e1');
  assert.throws(() => applyBetaUpdate(start, { input_audio_transcription: { language: 'klingon' } }, names, null),
    (e: unknown) => e instanceof RealtimeError && e.code === 'unknown_language' && e.param === 'session.input_audio_transcription.language');
});

test('the worker stream they make, and which changes need a new one', () => {
  const start = initialOptions(names, undefined);
  assert.deepEqual(streamRequest(start), {
    model: 'base',
    options: { language: null, task: 'transcribe', initial_prompt: null, sample_rate: 24000, turn_detection: { threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 } },
  });
  assert.ok(sameStream(start, { ...start, model: 'whisper-1' }), 'another name for the same model');
  assert.ok(!sameStream(start, { ...start, language: 'en' }));
  assert.ok(!sameStream(start, { ...start, turnDetection: null }));
});
