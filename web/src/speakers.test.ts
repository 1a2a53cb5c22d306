// Speakers without a browser: turns, the id behind a name, colours, and a rename done on the page.
//   node --test src/speakers.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Segment, Transcript } from './api.ts';
import { cleanName, colourOf, diarized, MAX_NAME_LENGTH, PALETTE_SIZE, renamedLocally, speakerId, turns } from './speakers.ts';

const segment = (id: number, start: number, end: number, speaker: string | null, text = `words ${id}`): Segment => ({ id, start, end, text: ` ${text}`, speaker });
const SPEAKERS = [{ id: 'A', name: 'Host', seconds: 10 }, { id: 'B', name: 'B', seconds: 5 }];

test('consecutive segments of one speaker make one turn; a change of speaker, or nobody heard, starts the next', () => {
  const segments = [segment(0, 0, 2, 'Host'), segment(1, 2, 4, 'Host'), segment(2, 4.5, 6, 'B'), segment(3, 6, 7, null), segment(4, 7, 9, 'Host')];
  const got = turns(segments, SPEAKERS);
  assert.deepEqual(got.map((t) => [t.name, t.id, t.start, t.end, t.segments.map((s) => s.id)]), [
    ['Host', 'A', 0, 4, [0, 1]],
    ['B', 'B', 4.5, 6, [2]],
    [null, null, 6, 7, [3]],
    ['Host', 'A', 7, 9, [4]],
  ]);
});

test('segments without words neither show nor split a turn', () => {
  const got = turns([segment(0, 0, 2, 'B'), segment(1, 2, 3, 'Host', '  '), segment(2, 3, 5, 'B')], SPEAKERS);
  assert.deepEqual(got.map((t) => [t.name, t.segments.length, t.end]), [['B', 2, 5]]);
  assert.deepEqual(turns([], SPEAKERS), []);
});

test('a name stands for the id that has it; an id stands for itself where no speaker has that name', () => {
  assert.equal(speakerId(SPEAKERS, 'Host'), 'A');
  assert.equal(speakerId(SPEAKERS, 'B'), 'B');
  assert.equal(speakerId(SPEAKERS, 'A'), 'A'); // no one is named A: the id
  assert.equal(speakerId([{ id: 'A', name: 'B' }, { id: 'B', name: 'X' }], 'B'), 'A'); // a name wins over an id
  assert.equal(speakerId([{ id: 'A', name: 'Sam' }, { id: 'B', name: 'Sam' }], 'Sam'), 'A'); // one name for two: the first
  assert.equal(speakerId(SPEAKERS, 'Nobody'), null);
  assert.equal(speakerId(SPEAKERS, null), null);
});

test('colours go by id: the first speakers each get one of their own, any id one in the palette, always the same', () => {
  const ids = Array.from({ length: PALETTE_SIZE }, (_, i) => String.fromCharCode(65 + i));
  assert.deepEqual(ids.map(colourOf), [...Array(PALETTE_SIZE).keys()]);
  for (const id of ['Z', 'AA', 'AF', 'speaker_1', '', 'ж']) {
    const colour = colourOf(id);
    assert.ok(Number.isInteger(colour) && colour >= 0 && colour < PALETTE_SIZE, `${id}: ${colour}`);
    assert.equal(colourOf(id), colour);
  }
  assert.notEqual(colourOf('Z'), colourOf('AA')); // on from Z
});

test('a new name is trimmed; blank or over the server\'s limit is none', () => {
  assert.equal(cleanName('  Host \n'), 'Host');
  assert.equal(cleanName('   '), null);
  assert.equal(cleanName('x'.repeat(MAX_NAME_LENGTH)), 'x'.repeat(MAX_NAME_LENGTH));
  assert.equal(cleanName('x'.repeat(MAX_NAME_LENGTH + 1)), null);
});

test('a rename on the page renames the speaker in the list, its segments and its words, and no one else', () => {
  const transcript = {
    text: 'a b c', language: 'en', language_probability: 1, duration: 9, model: 'tiny.en', task: 'transcribe',
    segments: [
      { ...segment(0, 0, 2, 'Host'), words: [{ word: ' a', start: 0, end: 1, probability: 1, speaker: 'Host' }] },
      segment(1, 2, 4, 'B'),
      segment(2, 4, 5, null),
    ],
    speakers: SPEAKERS,
    timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 1, total_seconds: 1 },
  } as unknown as Transcript;
  assert.equal(diarized(transcript), true);
  assert.equal(diarized({ speakers: undefined }), false);
  const renamed = renamedLocally(transcript, 'A', 'Anna');
  assert.deepEqual(renamed.speakers, [{ id: 'A', name: 'Anna', seconds: 10 }, { id: 'B', name: 'B', seconds: 5 }]);
  assert.deepEqual(renamed.segments.map((s) => s.speaker), ['Anna', 'B', null]);
  assert.equal(renamed.segments[0]!.words![0]!.speaker, 'Anna');
  assert.equal(transcript.segments[0]!.speaker, 'Host', 'the original is left as it was');
  assert.equal(renamedLocally(transcript, 'Z', 'Zed'), transcript, 'no such speaker: nothing changes');
});
