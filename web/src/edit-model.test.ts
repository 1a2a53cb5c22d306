// The transcript editor's edits without a browser: words' times, split, merge, an edge moved, undo and redo.
//   node --test src/edit-model.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EditHistory, edgeRange, mergeSegments, moveEdge, splitSegment, wordsFor, type EditSegment } from './edit-model.ts';

const words = (...spec: Array<[string, number, number]>) => spec.map(([word, start, end]) => ({ word: ` ${word}`, start, end }));
const timed = (): EditSegment[] => [
  { start: 0, end: 3, text: 'one two three', speaker: 'A', words: words(['one', 0, 1], ['two', 1.2, 2], ['three', 2.1, 3]) },
  { start: 3.5, end: 5, text: 'four five', speaker: 'B', words: words(['four', 3.5, 4], ['five', 4.2, 5]) },
];
const untimed = (): EditSegment[] => [{ start: 10, end: 14, text: 'ab abcdef', speaker: null, words: null }];

test('a segment keeps its own words while its text is theirs; an edited text, or a job without word times, gets the span shared by length', () => {
  const [s] = timed();
  assert.equal(wordsFor(s!.text, s!.start, s!.end, s!.words), s!.words);
  const edited = wordsFor('one 2 three', 0, 3, s!.words);
  assert.deepEqual(edited.map((w) => [w.word, w.start, w.end]), [[' one', 0, 1], [' 2', 1, 1.333], [' three', 1.333, 3]]);
  const guessed = wordsFor('ab abcdef', 10, 14, null);
  assert.deepEqual(guessed.map((w) => [w.start, w.end]), [[10, 11], [11, 14]]);
  assert.deepEqual(wordsFor('   ', 0, 1, null), []);
});

test('a split cuts at the start of the word the caret is in; the words go with their halves', () => {
  const at = 'one tw'.length; // inside "two"
  const got = splitSegment(timed(), 0, at)!;
  assert.equal(got.length, 3);
  assert.deepEqual([got[0]!.text, got[0]!.start, got[0]!.end], ['one', 0, 1.2]);
  assert.deepEqual([got[1]!.text, got[1]!.start, got[1]!.end, got[1]!.speaker], ['two three', 1.2, 3, 'A']);
  assert.deepEqual(got[1]!.words!.map((w) => w.word), [' two', ' three']);
  assert.equal(got[2]!.text, 'four five');
  assert.equal(splitSegment(timed(), 0, 0), null, 'nothing before the caret: no split');
  assert.equal(splitSegment(timed(), 0, 'one two three'.length), null, 'nothing after it: no split');
  const guessed = splitSegment(untimed(), 0, null)!;
  assert.deepEqual(guessed.map((s) => [s.text, s.start, s.end, s.words]), [['ab', 10, 11, null], ['abcdef', 11, 14, null]]);
});

test('a merge joins a segment with the next: the first speaker, both texts and words, to the later end', () => {
  const got = mergeSegments(timed(), 0)!;
  assert.equal(got.length, 1);
  assert.deepEqual([got[0]!.text, got[0]!.start, got[0]!.end, got[0]!.speaker], ['one two three four five', 0, 5, 'A']);
  assert.equal(got[0]!.words!.length, 5);
  assert.equal(mergeSegments(timed(), 1), null, 'the last has no next');
});

test('an edge moves within its range: a start from the segment before\'s start to its own end, an end from its start to the audio\'s end', () => {
  const segments = timed();
  assert.deepEqual(edgeRange(segments, 1, 'start', 60), [0, 5]);
  assert.deepEqual(edgeRange(segments, 0, 'start', 60), [0, 3]);
  assert.deepEqual(edgeRange(segments, 1, 'end', 60), [3.5, 60]);
  const later = moveEdge(segments, 1, 'start', 4.1, 60);
  assert.equal(later[1]!.start, 4.1);
  assert.deepEqual(later[1]!.words!.map((w) => [w.start, w.end]), [[4.1, 4.1], [4.2, 5]], 'words kept inside');
  assert.equal(segments[1]!.start, 3.5, 'the segments before the move are unchanged');
  assert.equal(moveEdge(segments, 1, 'start', 9, 60)[1]!.start, 5, 'clamped to its end');
  assert.equal(moveEdge(segments, 0, 'end', -1, 60)[0]!.end, 0, 'clamped to its start');
  assert.equal(moveEdge(segments, 1, 'end', 99, 60)[1]!.end, 60, 'clamped to the audio');
});

test('undo and redo step through the changes; a new change drops the steps forward; typing in place is one step', () => {
  const history = new EditHistory(timed());
  assert.equal(history.canUndo, false);
  assert.equal(history.apply(null), false, 'no change, no step');
  history.apply(mergeSegments(history.segments, 0));
  history.apply(moveEdge(history.segments, 0, 'end', 6, 60));
  assert.deepEqual([history.segments.length, history.segments[0]!.end], [1, 6]);
  assert.ok(history.undo());
  assert.equal(history.segments[0]!.end, 5);
  assert.ok(history.undo());
  assert.equal(history.segments.length, 2);
  assert.equal(history.undo(), false);
  assert.ok(history.redo());
  assert.equal(history.segments.length, 1);
  history.snapshot(); // typing starts
  history.segments[0]!.text = 'typed';
  assert.equal(history.canRedo, false);
  history.undo();
  assert.equal(history.segments[0]!.text, 'one two three four five');
});
