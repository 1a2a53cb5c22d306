import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namedSegments, oneLine, speakerList, speakerNames } from './speakers.ts';
import type { Segment, TranscriptionResult } from '../protocol/messages.ts';

const word = (w: string, start: number, speaker?: string) => ({ word: w, start, end: start + 0.4, probability: 1, ...(speaker ? { speaker } : {}) });
const segment = (id: number, text: string, speaker?: string | null, words?: Segment['words']): Segment => ({
  id, seek: 0, start: id, end: id + 1, text, tokens: [], temperature: 0, avg_logprob: 0, compression_ratio: 1, no_speech_prob: 0,
  ...(words ? { words } : {}), ...(speaker !== undefined ? { speaker } : {}),
});
const result = (segments: Segment[], speakers?: TranscriptionResult['speakers']): TranscriptionResult => ({
  text: '', language: 'en', language_probability: 1, duration: 9, task: 'transcribe', model: 'base', segments,
  timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0 }, ...(speakers ? { speakers } : {}),
});

test('an id shows as its listed name, else as the id', () => {
  const name = speakerNames({ speakers: [{ id: 'A', name: 'Host', seconds: 4 }, { id: 'B', name: 'B', seconds: 2 }] });
  assert.equal(name('A'), 'Host');
  assert.equal(name('B'), 'B');
  assert.equal(name('C'), 'C');
  assert.equal(speakerNames({})('A'), 'A');
});

test('names are kept to one line, and a blank name falls back to the id', () => {
  assert.equal(oneLine(' Ann\tMarie\n Smith '), 'Ann Marie Smith');
  const name = speakerNames({ speakers: [{ id: 'A', name: 'Dr.\nWho', seconds: 1 }, { id: 'B', name: ' \t ', seconds: 1 }] });
  assert.equal(name('A'), 'Dr. Who');
  assert.equal(name('B'), 'B');
});

test('without diarization the segments are returned untouched', () => {
  const r = result([segment(0, ' Hi.')]);
  assert.equal(namedSegments(r), r.segments);
  assert.deepEqual(speakerList(r), []);
});

test('segments and words get names; nobody stays null', () => {
  const r = result(
    [segment(0, ' Hi.', 'A', [word(' Hi.', 0, 'A')]), segment(1, ' [music]', null), segment(2, ' Yes.', 'B')],
    [{ id: 'A', name: 'Host', seconds: 1 }, { id: 'B', name: 'B', seconds: 1 }],
  );
  const named = namedSegments(r);
  assert.deepEqual(named.map((s) => s.speaker), ['Host', null, 'B']);
  assert.equal(named[0]!.words![0]!.speaker, 'Host');
  assert.equal(r.segments[0]!.speaker, 'A', 'the stored result is not changed');
  assert.deepEqual(speakerList(r), [{ id: 'A', name: 'Host', seconds: 1 }, { id: 'B', name: 'B', seconds: 1 }]);
});
