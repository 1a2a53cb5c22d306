import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.ts';

test('defaults match the original service', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.deepEqual(c.workers, ['127.0.0.1:9000']);
  assert.equal(c.maxUploadBytes, 1 << 30);
  assert.equal(c.defaultModel, 'base');
  assert.deepEqual(c.modelAliases, { 'whisper-1': 'base', 'gpt-4o-transcribe-diarize': 'base' });
  assert.equal(c.realtimeMaxSessions, 16);
  assert.ok(Object.isFrozen(c));
});

test('WHISPER_WORKERS overrides host and port; aliases parse', () => {
  const c = loadConfig({ WHISPER_HOST: 'x', WHISPER_WORKERS: 'a:1, b:2', OPENAI_MODEL_ALIASES: 'whisper-1=large-v3,gpt-4o-transcribe=large-v3' });
  assert.deepEqual(c.workers, ['a:1', 'b:2']);
  assert.deepEqual(c.modelAliases, { 'whisper-1': 'large-v3', 'gpt-4o-transcribe': 'large-v3' });
});

test('invalid values are refused with a message naming the variable', () => {
  assert.throws(() => loadConfig({ SERVER_PORT: 'abc' }), (e: unknown) => e instanceof ConfigError && /SERVER_PORT/.test(e.message));
  assert.throws(() => loadConfig({ MAX_UPLOAD_BYTES: '0' }), /MAX_UPLOAD_BYTES/);
  assert.throws(() => loadConfig({ WHISPER_WORKERS: 'nohostport' }), /WHISPER_WORKERS/);
  assert.throws(() => loadConfig({ OPENAI_MODEL_ALIASES: 'whisper-1' }), /OPENAI_MODEL_ALIASES/);
  assert.throws(() => loadConfig({ REALTIME_MAX_SESSIONS: '-1' }), /REALTIME_MAX_SESSIONS/);
  assert.equal(loadConfig({ REALTIME_MAX_SESSIONS: '0' }).realtimeMaxSessions, 0, '0 turns the realtime API off');
});

test('KEEP_AUDIO: true unless set false (true/false, 1/0, yes/no, on/off); anything else is refused', () => {
  assert.equal(loadConfig({}).keepAudio, true);
  for (const off of ['false', '0', 'no', 'OFF', ' False ']) assert.equal(loadConfig({ KEEP_AUDIO: off }).keepAudio, false, off);
  for (const on of ['true', '1', 'yes', 'on', '']) assert.equal(loadConfig({ KEEP_AUDIO: on }).keepAudio, true, on);
  assert.throws(() => loadConfig({ KEEP_AUDIO: 'maybe' }), (e: unknown) => e instanceof ConfigError && /KEEP_AUDIO=maybe/.test(e.message));
});
