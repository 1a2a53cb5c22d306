// The pure making of a transcript's revision: words retimed by a diff, the
// result rebuilt from the edited segments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retimeWords, reviseResult, withNamesOf } from './transcript-edit.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';

const w = (word: string, start: number, end: number) => ({ word, start, end, probability: 0.9 });
const old = [w(' And', 0, 0.5), w(' Mr.', 0.5, 1), w(' John', 1, 1.5), w(' Dashwood.', 1.5, 2.5)];
const times = (words: Array<{ word: string; start: number; end: number }>) => words.map((x) => [x.word, x.start, x.end]);

test('retimeWords: an unchanged text keeps every time and probability', () => {
  const words = retimeWords(old, 'And Mr. John Dashwood.', 0, 2.5);
  assert.deepEqual(times(words), times(old));
  assert.ok(words.every((x) => x.probability === 0.9));
});

test('retimeWords: a changed word takes the time of the one it replaced; the others keep theirs', () => {
  assert.deepEqual(times(retimeWords(old, 'And Mr. John Dashwoodz.', 0, 2.5)), [[' And', 0, 0.5], [' Mr.', 0.5, 1], [' John', 1, 1.5], [' Dashwoodz.', 1.5, 2.5]]);
  const words = retimeWords(old, 'And Mrs. John Dashwood.', 0, 2.5);
  assert.deepEqual(times(words), [[' And', 0, 0.5], [' Mrs.', 0.5, 1], [' John', 1, 1.5], [' Dashwood.', 1.5, 2.5]]);
  assert.equal(words[1]!.probability, 1, 'a word a person wrote');
});

test('retimeWords: new words share the gap by length; a word that is gone leaves its time to its neighbours', () => {
  assert.deepEqual(times(retimeWords(old, 'And Mr. John Henry Dashwood.', 0, 2.5)), [[' And', 0, 0.5], [' Mr.', 0.5, 1], [' John', 1, 1.5], [' Henry', 1.5, 1.5], [' Dashwood.', 1.5, 2.5]]);
  assert.deepEqual(times(retimeWords(old, 'And Mr. Jon Henry Dashwood.', 0, 2.5)), [[' And', 0, 0.5], [' Mr.', 0.5, 1], [' Jon', 1, 1.188], [' Henry', 1.188, 1.5], [' Dashwood.', 1.5, 2.5]]);
  assert.deepEqual(times(retimeWords(old, 'And Dashwood.', 0, 2.5)), [[' And', 0, 0.5], [' Dashwood.', 1.5, 2.5]]);
  assert.deepEqual(times(retimeWords([], 'ab abcd', 1, 4)), [[' ab', 1, 2], [' abcd', 2, 4]], 'no old words: the segment, by length');
});

test('retimeWords: case and white space are no change; kept times are clamped to the segment', () => {
  assert.deepEqual(times(retimeWords(old, '  and   MR. john Dashwood.', 0.7, 2)), [[' and', 0.7, 0.7], [' MR.', 0.7, 1], [' john', 1, 1.5], [' Dashwood.', 1.5, 2]]);
});

const segment = { seek: 0, tokens: [1, 2], temperature: 0, avg_logprob: -0.2, compression_ratio: 1.1, no_speech_prob: 0.01 };
const current: TranscriptionResult = {
  text: 'And Mr. John Dashwood. Said so.', language: 'en', language_probability: 0.9, duration: 5, task: 'transcribe', model: 'base',
  segments: [
    { ...segment, id: 0, start: 0, end: 2.5, text: ' And Mr. John Dashwood.', words: old.map((x) => ({ ...x, speaker: 'A' })), speaker: 'A' },
    { ...segment, id: 1, start: 3, end: 4, text: ' Said so.', words: [w(' Said', 3, 3.5), w(' so.', 3.5, 4)].map((x) => ({ ...x, speaker: 'B' })), speaker: 'B' },
  ],
  timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0.1 },
  speakers: [{ id: 'A', name: 'Host', seconds: 2.5 }, { id: 'B', name: 'B', seconds: 1 }],
};

test('reviseResult: the text is rebuilt from the segments; an unchanged segment keeps its worker fields and tokens', () => {
  const revised = reviseResult(current, [
    { start: 0, end: 2.5, text: 'And Mr. John Dashwoodz.' },
    { start: 3, end: 4, text: 'Said so.' },
  ]);
  assert.equal(revised.text, 'And Mr. John Dashwoodz. Said so.');
  assert.equal(revised.segments[0]!.text, ' And Mr. John Dashwoodz.', 'with the leading space Whisper writes');
  assert.deepEqual(revised.segments[0]!.tokens, [], 'the tokens are not the text any more');
  assert.deepEqual(revised.segments[1], current.segments[1]);
  assert.deepEqual(times(revised.segments[0]!.words!), [[' And', 0, 0.5], [' Mr.', 0.5, 1], [' John', 1, 1.5], [' Dashwoodz.', 1.5, 2.5]]);
  assert.equal(revised.segments[0]!.words![3]!.speaker, 'A');
  assert.deepEqual(revised.speakers, current.speakers);
  assert.deepEqual({ ...revised, segments: [], text: '' }, { ...current, segments: [], text: '' }, 'nothing else changed');
});

test('reviseResult: a split takes the words in each part\'s time; a speaker re-assigned moves its seconds', () => {
  const revised = reviseResult(current, [
    { start: 0, end: 1, text: 'And Mr.' },
    { start: 1, end: 2.5, text: 'John Dashwood.', speaker: 'B' },
    { start: 3, end: 4, text: 'Said so.' },
  ]);
  assert.deepEqual(revised.segments.map((s) => [s.id, s.speaker, times(s.words!)]), [
    [0, 'A', [[' And', 0, 0.5], [' Mr.', 0.5, 1]]],
    [1, 'B', [[' John', 1, 1.5], [' Dashwood.', 1.5, 2.5]]],
    [2, 'B', [[' Said', 3, 3.5], [' so.', 3.5, 4]]],
  ]);
  assert.deepEqual(revised.speakers, [{ id: 'A', name: 'Host', seconds: 1 }, { id: 'B', name: 'B', seconds: 2.5 }]);
  assert.equal(revised.text, 'And Mr. John Dashwood. Said so.');
});

test('reviseResult: words sent with a segment are the ones retimed; a transcript without words gets none', () => {
  const sent = reviseResult(current, [{ start: 0, end: 4, text: 'Hello there', words: [w(' Hello', 0.2, 0.9)] }]);
  assert.deepEqual(times(sent.segments[0]!.words!), [[' Hello', 0.2, 0.9], [' there', 0.9, 4]]);
  const plain = { ...current, speakers: undefined, segments: current.segments.map(({ words: _, speaker: __, ...s }) => s) };
  const revised = reviseResult(plain, [{ start: 0, end: 2.5, text: 'Changed.' }]);
  assert.equal(revised.segments[0]!.words, undefined);
  assert.equal(revised.segments[0]!.speaker, undefined);
  assert.equal(revised.speakers, undefined);
});

test('withNamesOf: a restored revision takes the names speakers have now', () => {
  const renamed = { ...current, speakers: [{ id: 'A', name: 'Anna', seconds: 9 }, { id: 'B', name: 'Bob', seconds: 9 }] };
  assert.deepEqual(withNamesOf(current, renamed).speakers, [{ id: 'A', name: 'Anna', seconds: 2.5 }, { id: 'B', name: 'Bob', seconds: 1 }]);
});
