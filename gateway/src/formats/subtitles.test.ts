import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cues, toSrt, toTsv, toVtt, toText } from './subtitles.ts';
import type { Segment } from '../protocol/messages.ts';

function segment(id: number, start: number, end: number, text: string, words?: Segment['words']): Segment {
  return { id, seek: 0, start, end, text, tokens: [], temperature: 0, avg_logprob: 0, compression_ratio: 1, no_speech_prob: 0, words };
}

test('timestamps past one hour and past 100 hours', () => {
  const srt = toSrt([segment(0, 3723.5, 3725.25, ' Late words.'), segment(1, 360000.001, 360001, ' Very late.')]);
  assert.match(srt, /^1\n01:02:03,500 --> 01:02:05,250\nLate words\.\n/);
  assert.match(srt, /\n2\n100:00:00,001 --> 100:00:01,000\nVery late\.\n$/);
  assert.match(toVtt([segment(0, 3723.5, 3725.25, ' x')]), /^WEBVTT\n\n01:02:03\.500 --> 01:02:05\.250\nx\n$/);
});

test('no empty cues, and numbering stays continuous', () => {
  const srt = toSrt([segment(0, 0, 1, ' One.'), segment(1, 1, 2, '   '), segment(2, 2, 3, ' Two.')]);
  assert.equal(srt, '1\n00:00:00,000 --> 00:00:01,000\nOne.\n\n2\n00:00:02,000 --> 00:00:03,000\nTwo.\n');
});

test('long text is wrapped to the line width and split into cues of at most N lines', () => {
  const text = ' ' + Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
  const made = cues([segment(0, 0, 40, text)], { maxLineWidth: 20, maxLineCount: 2 });
  assert.ok(made.length > 1);
  for (const cue of made) {
    assert.ok(cue.lines.length >= 1 && cue.lines.length <= 2);
    for (const line of cue.lines) assert.ok(line.length <= 20, line);
  }
  assert.equal(made.map((c) => c.lines.join(' ')).join(' '), text.trim());
  for (let i = 1; i < made.length; i++) assert.ok(made[i]!.start >= made[i - 1]!.end - 1e-9);
  assert.equal(made.at(-1)!.end, 40);
});

test('word timings decide cue times when present', () => {
  const words = [
    { word: ' Hello', start: 0.5, end: 0.9, probability: 1 },
    { word: ' there', start: 1.0, end: 1.4, probability: 1 },
    { word: ' friend', start: 2.0, end: 2.6, probability: 1 },
  ];
  const made = cues([segment(0, 0, 3, ' Hello there friend', words)], { maxLineWidth: 11, maxLineCount: 1 });
  assert.deepEqual(made, [
    { start: 0.5, end: 1.4, lines: ['Hello there'] },
    { start: 2.0, end: 2.6, lines: ['friend'] },
  ]);
});

test('tsv and text', () => {
  const segs = [segment(0, 0, 1.5, ' One\ttab.'), segment(1, 1.5, 2, ' Two.')];
  assert.equal(toTsv(segs), 'start\tend\ttext\n0\t1500\tOne tab.\n1500\t2000\tTwo.\n');
  assert.equal(toText(segs), 'One\ttab.\nTwo.\n');
});
