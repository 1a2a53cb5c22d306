import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteRange, sniff } from './media.ts';
import { ApiError } from '../errors.ts';

test('byteRange: one range of bytes, open-ended or a suffix; what it does not serve is the whole file; past the end is 416', () => {
  assert.deepEqual(byteRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.deepEqual(byteRange('bytes=900-', 1000), { start: 900, end: 999 });
  assert.deepEqual(byteRange('bytes=900-5000', 1000), { start: 900, end: 999 }, 'an end past the file is clamped');
  assert.deepEqual(byteRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.deepEqual(byteRange('bytes=-5000', 1000), { start: 0, end: 999 });
  for (const whole of [undefined, '', 'bytes=-', 'bytes=5-2', 'items=0-1', 'bytes=0-1,5-6', 'bytes=abc']) assert.equal(byteRange(whole, 1000), null, String(whole));
  for (const past of ['bytes=1000-', 'bytes=2000-3000', 'bytes=-0']) {
    assert.throws(() => byteRange(past, 1000), (e: unknown) => e instanceof ApiError && e.code === 'range_not_satisfiable' && e.status === 416, past);
  }
});

test('sniff: the audio and video signatures, else application/octet-stream', () => {
  const at = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  assert.equal(sniff(at('RIFF', [0, 0, 0, 0], 'WAVEfmt ')), 'audio/wav');
  assert.equal(sniff(at('ID3', [3, 0])), 'audio/mpeg');
  assert.equal(sniff(at([0xff, 0xfb, 0x90])), 'audio/mpeg');
  assert.equal(sniff(at('OggS', [0])), 'audio/ogg');
  assert.equal(sniff(at('fLaC')), 'audio/flac');
  assert.equal(sniff(at([0, 0, 0, 0x20], 'ftypisom')), 'video/mp4');
  assert.equal(sniff(at([0, 0, 0, 0x20], 'ftypM4A ')), 'audio/mp4');
  assert.equal(sniff(at([0x1a, 0x45, 0xdf, 0xa3])), 'video/webm');
  assert.equal(sniff(at('hello world')), 'application/octet-stream');
  assert.equal(sniff(Buffer.alloc(0)), 'application/octet-stream');
});
