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

// --- Speakers: `speaker` on a segment is the name to show -------------------

const spoken = (start: number, end: number, text: string, speaker: string | null, words?: Segment['words']) => ({ ...segment(0, start, end, text, words), speaker });

test('srt: the name before each cue, counted in its first line', () => {
  const text = ' ' + Array.from({ length: 12 }, (_, i) => `word${i}`).join(' ');
  const srt = toSrt([spoken(0, 12, text, 'Host')], { maxLineWidth: 20, maxLineCount: 2 });
  const blocks = srt.trim().split('\n\n').map((b) => b.split('\n').slice(2));
  assert.ok(blocks.length > 1);
  for (const lines of blocks) {
    assert.match(lines[0]!, /^Host: word/, 'every cue names its speaker');
    for (const line of lines) assert.ok(line.length <= 20, line);
  }
  assert.equal(blocks.flat().join(' ').replace(/Host: /g, ''), text.trim());
});

test('srt: a segment where nobody was heard has no prefix', () => {
  const srt = toSrt([spoken(0, 1, ' Hello.', 'Host'), spoken(1, 2, ' [music]', null), spoken(2, 3, ' Hi.', 'B')]);
  assert.equal(srt, '1\n00:00:00,000 --> 00:00:01,000\nHost: Hello.\n\n2\n00:00:01,000 --> 00:00:02,000\n[music]\n\n3\n00:00:02,000 --> 00:00:03,000\nB: Hi.\n');
});

test('vtt: voice spans, names and text escaped', () => {
  const vtt = toVtt([spoken(0, 1, ' a < b & c > d', 'Tom & <Jerry>'), spoken(1, 2, ' x<y', null)], { maxLineWidth: 8, maxLineCount: 2 });
  assert.equal(vtt, 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Tom &amp; &lt;Jerry&gt;>a &lt; b &amp;\nc &gt; d\n\n00:00:01.000 --> 00:00:02.000\nx&lt;y\n');
});

test('the voice tag takes no room on the line; the srt prefix does', () => {
  const segs = [spoken(0, 1, ' abcd efgh', 'Ann')];
  const narrow = { maxLineWidth: 9, maxLineCount: 1 };
  assert.deepEqual(cues(segs, narrow), [{ start: 0, end: 1, lines: ['abcd efgh'], speaker: 'Ann' }]);
  assert.equal(toVtt(segs, narrow), 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Ann>abcd efgh\n');
  assert.equal(toSrt(segs, narrow), '1\n00:00:00,000 --> 00:00:00,500\nAnn: abcd\n\n2\n00:00:00,500 --> 00:00:01,000\nAnn: efgh\n');
});

test('names posted with line breaks stay on one line', () => {
  assert.match(toSrt([spoken(0, 1, ' Hi.', 'Ann\nLee')]), /\nAnn Lee: Hi\.\n$/);
  assert.match(toTsv([spoken(0, 1, ' Hi.', 'Ann\tLee')]), /\n0\t1000\tAnn Lee\tHi\.\n$/);
});

test('tsv: a speaker column only with speakers, blank for nobody', () => {
  const segs = [spoken(0, 1.5, ' One\ttab.', 'Host'), spoken(1.5, 2, ' [music]', null), spoken(2, 3, '  ', 'B')];
  assert.equal(toTsv(segs), 'start\tend\tspeaker\ttext\n0\t1500\tHost\tOne tab.\n1500\t2000\t\t[music]\n');
  assert.equal(toTsv([segment(0, 0, 1, ' One.')]), 'start\tend\ttext\n0\t1000\tOne.\n');
});

test('text: one line per turn, a speaker\'s consecutive segments joined', () => {
  const segs = [
    spoken(0, 1, ' Hello.', 'Host'), spoken(1, 2, ' Welcome.', 'Host'), spoken(2, 3, '  ', 'B'), spoken(3, 4, ' Thanks.', 'Host'),
    spoken(4, 5, ' Hi.', 'B'), spoken(5, 6, ' [music]', null), spoken(6, 7, ' Bye.', 'B'),
  ];
  assert.equal(toText(segs), 'Host: Hello. Welcome. Thanks.\nB: Hi.\n[music]\nB: Bye.\n');
  assert.equal(toText([]), '\n');
});
