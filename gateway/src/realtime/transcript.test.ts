import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionResult } from './transcript.ts';

const final = (text: string, startMs: number, endMs: number, language = 'en') => ({ text, language, startMs, endMs, decodeSeconds: 0.25 });

test('finals become segments on the session\'s clock; empty ones are left out', () => {
  const result = sessionResult([final('Second.', 3000, 4500), final(' First one. ', 0, 2000), final('', 2500, 2600)], { model: 'base', language: null, duration: 5 });
  assert.equal(result.text, 'First one. Second.');
  assert.deepEqual(result.segments.map((s) => [s.id, s.start, s.end, s.text, s.seek]), [[0, 0, 2, ' First one.', 0], [1, 3, 4.5, ' Second.', 300]]);
  assert.deepEqual([result.duration, result.model, result.task, result.timing.decode_seconds], [5, 'base', 'transcribe', 0.75]);
});

test('the language is the one most of the speech was in, its probability that share; a fixed one is certain', () => {
  const mixed = sessionResult([final('Hallo.', 0, 1000, 'de'), final('Hello there, friend.', 1000, 4000)], { model: 'base', language: null, duration: 4 });
  assert.deepEqual([mixed.language, mixed.language_probability], ['en', 0.75]);
  const fixed = sessionResult([final('Hallo.', 0, 1000, 'de')], { model: 'base', language: 'de', duration: 1 });
  assert.deepEqual([fixed.language, fixed.language_probability], ['de', 1]);
  assert.equal(sessionResult([], { model: 'base', language: null, duration: 3 }).segments.length, 0);
});
