import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePcm16 } from './audio.ts';
import { RealtimeError } from './errors.ts';

const refusal = (code: string, message: RegExp) => (e: unknown) => e instanceof RealtimeError && e.code === code && e.param === 'audio' && e.clientEventId === 'ev' && message.test(e.message);

test('base64 of PCM16 decodes to its bytes, padding or not', () => {
  for (const bytes of [Buffer.from([1, 2]), Buffer.from([1, 2, 3, 4]), Buffer.alloc(4800, 7), Buffer.alloc(0)]) {
    assert.deepEqual(decodePcm16(bytes.toString('base64'), 'ev'), bytes);
  }
});

test('anything Buffer.from would quietly skip or cut is refused, naming what is wrong', () => {
  assert.throws(() => decodePcm16('AAA*', 'ev'), refusal('invalid_audio', /"\*" at character 3/));
  assert.throws(() => decodePcm16('AAAA AAA', 'ev'), refusal('invalid_audio', /" " at character 4/));
  assert.throws(() => decodePcm16('AAAA\nAAA', 'ev'), refusal('invalid_audio', /not base64/));
  assert.throws(() => decodePcm16('AA==AAAA', 'ev'), refusal('invalid_audio', /'=' before its end/));
  assert.throws(() => decodePcm16('AAAAA', 'ev'), refusal('invalid_audio', /multiple of 4/));
  assert.throws(() => decodePcm16('AAA_', 'ev'), refusal('invalid_audio', /"_"/), 'base64url is not base64');
  assert.throws(() => decodePcm16('AAAA', 'ev'), refusal('invalid_audio', /3 bytes, an odd number/));
});

test('an append over the limit is refused by its length, before it is decoded', () => {
  assert.throws(() => decodePcm16('A'.repeat(16), 'ev', 8), refusal('audio_too_large', /12 bytes; an append may hold at most 8/));
  assert.equal(decodePcm16(Buffer.alloc(8).toString('base64'), 'ev', 8).length, 8);
});
