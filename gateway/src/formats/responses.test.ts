import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TranscriptionDiarized, TranscriptionDiarizedSegment, TranscriptionTextSegmentEvent } from 'openai/resources/audio/transcriptions';
import { API_FORMATS, MEDIA_TYPES, OPENAI_FORMATS, apiJson, diarizedJson, render, segmentEvent, verboseJson } from './responses.ts';
import { DEFAULT_CUE_OPTIONS } from './subtitles.ts';
import type { Segment, TranscriptionResult } from '../protocol/messages.ts';

const w = (word: string, start: number, end: number, speaker?: string) => ({ word, start, end, probability: 0.9, ...(speaker ? { speaker } : {}) });
const seg = (id: number, start: number, end: number, text: string, words?: Segment['words']): Segment => ({
  id, seek: 0, start, end, text, tokens: [1, 2], temperature: 0, avg_logprob: -0.2, compression_ratio: 1.1, no_speech_prob: 0.01, ...(words ? { words } : {}),
});

/** A result without diarization: its outputs below were taken before speakers existed, and must not change. */
const plain: TranscriptionResult = {
  text: ' Hello there, friend. How are <you> & me?\tTabs. Bye.', language: 'en', language_probability: 0.98, duration: 9.5, task: 'transcribe', model: 'base',
  segments: [
    seg(0, 0, 2.5, ' Hello there, friend.', [w(' Hello', 0, 0.5), w(' there,', 0.6, 1), w(' friend.', 1.1, 2.4)]),
    seg(1, 2.5, 6, ' How are <you> & me?\tTabs and a rather long line that needs wrapping across lines'),
    seg(2, 6, 9.5, ' Bye.'),
  ],
  timing: { queued_seconds: 0.1, load_seconds: 0.2, decode_seconds: 1.5 },
};

/** The same speech, diarized: A is a known speaker (Host), B is not, and nobody speaks in the last segment. */
const diarized: TranscriptionResult = {
  ...plain,
  segments: [
    { ...seg(0, 0, 2.5, ' Hello there, friend.', [w(' Hello', 0, 0.5, 'A'), w(' there,', 0.6, 1, 'A'), w(' friend.', 1.1, 2.4, 'A')]), speaker: 'A' },
    { ...seg(1, 2.5, 4, ' How are <you> & me?'), speaker: 'B' },
    { ...seg(2, 4, 6, ' Fine.'), speaker: 'B' },
    { ...seg(3, 6, 9.5, ' [music]'), speaker: null },
  ],
  timing: { ...plain.timing, diarize_seconds: 0.7 },
  speakers: [{ id: 'A', name: 'Host', seconds: 2.4 }, { id: 'B', name: 'B', seconds: 3.5 }],
};

const body = (format: (typeof API_FORMATS)[number] | 'diarized_json', result: TranscriptionResult) => render(format, result, DEFAULT_CUE_OPTIONS, 2.34567, true).body;

const BEFORE: Record<(typeof API_FORMATS)[number], string> = {
  json: '{"text":" Hello there, friend. How are <you> & me?\\tTabs. Bye.","language":"en","language_probability":0.98,"duration":9.5,"model":"base","task":"transcribe","segments":[{"id":0,"start":0,"end":2.5,"text":" Hello there, friend.","words":[{"word":" Hello","start":0,"end":0.5,"probability":0.9},{"word":" there,","start":0.6,"end":1,"probability":0.9},{"word":" friend.","start":1.1,"end":2.4,"probability":0.9}]},{"id":1,"start":2.5,"end":6,"text":" How are <you> & me?\\tTabs and a rather long line that needs wrapping across lines"},{"id":2,"start":6,"end":9.5,"text":" Bye."}],"timing":{"queued_seconds":0.1,"load_seconds":0.2,"decode_seconds":1.5,"total_seconds":2.346}}',
  verbose_json: '{"task":"transcribe","language":"english","duration":9.5,"text":" Hello there, friend. How are <you> & me?\\tTabs. Bye.","segments":[{"id":0,"seek":0,"start":0,"end":2.5,"text":" Hello there, friend.","tokens":[1,2],"temperature":0,"avg_logprob":-0.2,"compression_ratio":1.1,"no_speech_prob":0.01},{"id":1,"seek":0,"start":2.5,"end":6,"text":" How are <you> & me?\\tTabs and a rather long line that needs wrapping across lines","tokens":[1,2],"temperature":0,"avg_logprob":-0.2,"compression_ratio":1.1,"no_speech_prob":0.01},{"id":2,"seek":0,"start":6,"end":9.5,"text":" Bye.","tokens":[1,2],"temperature":0,"avg_logprob":-0.2,"compression_ratio":1.1,"no_speech_prob":0.01}],"words":[{"word":"Hello","start":0,"end":0.5},{"word":"there,","start":0.6,"end":1},{"word":"friend.","start":1.1,"end":2.4}]}',
  text: 'Hello there, friend.\nHow are <you> & me?\tTabs and a rather long line that needs wrapping across lines\nBye.\n',
  srt: '1\n00:00:00,000 --> 00:00:02,400\nHello there, friend.\n\n2\n00:00:02,500 --> 00:00:06,000\nHow are <you> & me? Tabs and a rather long\nline that needs wrapping across lines\n\n3\n00:00:06,000 --> 00:00:09,500\nBye.\n',
  vtt: 'WEBVTT\n\n00:00:00.000 --> 00:00:02.400\nHello there, friend.\n\n00:00:02.500 --> 00:00:06.000\nHow are <you> & me? Tabs and a rather long\nline that needs wrapping across lines\n\n00:00:06.000 --> 00:00:09.500\nBye.\n',
  tsv: 'start\tend\ttext\n0\t2500\tHello there, friend.\n2500\t6000\tHow are <you> & me? Tabs and a rather long line that needs wrapping across lines\n6000\t9500\tBye.\n',
};

test('without diarization every format is byte for byte what it was', () => {
  for (const format of API_FORMATS) {
    const out = body(format, plain);
    assert.equal(typeof out === 'string' ? out : JSON.stringify(out), BEFORE[format], format);
  }
});

test('json: speaker names on segments and words, and the speaker list', () => {
  const out = apiJson(diarized, 1);
  assert.deepEqual(out.segments.map((s) => s.speaker), ['Host', 'B', 'B', null]);
  assert.deepEqual(out.segments[0]!.words!.map((x) => x.speaker), ['Host', 'Host', 'Host']);
  assert.deepEqual(out.speakers, [{ id: 'A', name: 'Host', seconds: 2.4 }, { id: 'B', name: 'B', seconds: 3.5 }]);
  assert.equal(out.timing.diarize_seconds, 0.7);
  assert.deepEqual(Object.keys(out.segments[0]!), ['id', 'start', 'end', 'text', 'speaker', 'words']);
});

test('a speaker renamed in the list is shown by its new name everywhere', () => {
  const renamed = { ...diarized, speakers: [{ id: 'A', name: 'Host', seconds: 2.4 }, { id: 'B', name: 'Guest', seconds: 3.5 }] };
  assert.equal(body('text', renamed), 'Host: Hello there, friend.\nGuest: How are <you> & me? Fine.\n[music]\n');
  assert.equal(diarizedJson(renamed).segments[1]!.speaker, 'Guest');
});

test('verbose_json: the speaker name on each segment', () => {
  const segments = verboseJson(diarized, false).segments as Array<Record<string, unknown>>;
  assert.deepEqual(segments.map((s) => s.speaker), ['Host', 'B', 'B', null]);
  assert.ok(segments.every((s) => !('words' in s)));
});

test('subtitles and text show the names', () => {
  assert.equal(body('text', diarized), 'Host: Hello there, friend.\nB: How are <you> & me? Fine.\n[music]\n');
  assert.match(body('srt', diarized) as string, /^1\n00:00:00,000 --> 00:00:02,400\nHost: Hello there, friend\.\n\n2\n00:00:02,500 --> 00:00:04,000\nB: How are <you> & me\?\n/);
  assert.match(body('vtt', diarized) as string, /\n<v Host>Hello there, friend\.\n\n00:00:02\.500 --> 00:00:04\.000\n<v B>How are &lt;you&gt; &amp; me\?\n/);
  assert.match(body('vtt', diarized) as string, /\n00:00:06\.000 --> 00:00:09\.500\n\[music\]\n$/);
  assert.equal(body('tsv', diarized), 'start\tend\tspeaker\ttext\n0\t2500\tHost\tHello there, friend.\n2500\t4000\tB\tHow are <you> & me?\n4000\t6000\tB\tFine.\n6000\t9500\t\t[music]\n');
});

test('diarized_json: OpenAI\'s shape, with names', () => {
  assert.ok((OPENAI_FORMATS as readonly string[]).includes('diarized_json'));
  const out = render('diarized_json', diarized, DEFAULT_CUE_OPTIONS, 1, false);
  assert.equal(out.contentType, MEDIA_TYPES.diarized_json);
  assert.equal(out.contentType, 'application/json');
  assert.deepEqual(out.body, {
    task: 'transcribe',
    duration: 9.5,
    text: ' Hello there, friend. How are <you> & me?\tTabs. Bye.',
    segments: [
      { type: 'transcript.text.segment', id: 'seg_0', start: 0, end: 2.5, speaker: 'Host', text: 'Hello there, friend.' },
      { type: 'transcript.text.segment', id: 'seg_1', start: 2.5, end: 4, speaker: 'B', text: 'How are <you> & me?' },
      { type: 'transcript.text.segment', id: 'seg_2', start: 4, end: 6, speaker: 'B', text: 'Fine.' },
      { type: 'transcript.text.segment', id: 'seg_3', start: 6, end: 9.5, speaker: '', text: '[music]' },
    ],
  });
  // Without diarization the shape holds (speaker '' throughout), so a client asking for it still parses it.
  assert.deepEqual(diarizedJson(plain).segments.map((s) => s.speaker), ['', '', '']);
});

test('diarized_json and the segment event have the official SDK\'s types', () => {
  // Checked by the typecheck: the assignments fail to compile if a field is missing or of another type.
  // `task` is the result's ('transcribe' | 'translate'); the SDK types it as 'transcribe' only.
  const out = diarizedJson(diarized);
  const typed: TranscriptionDiarized = { ...out, task: 'transcribe' };
  const segment: TranscriptionDiarizedSegment = out.segments[0]!;
  const event: TranscriptionTextSegmentEvent = segmentEvent(diarized.segments[1]!, diarized);
  assert.equal(typed.segments.length, 4);
  assert.equal(segment.id, 'seg_0');
  assert.deepEqual(event, out.segments[1], 'a streamed segment is the same object as in diarized_json');
});

test('segment event: the id where the speaker list is not known yet (streaming)', () => {
  assert.equal(segmentEvent(diarized.segments[0]!).speaker, 'A');
  assert.equal(segmentEvent(diarized.segments[3]!, diarized).speaker, '');
});
