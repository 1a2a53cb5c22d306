// Who said what over real HTTP: a talk of three real people through the real
// gateway and worker, in every API and format, the OpenAI SDK's diarized type,
// known speakers, a job renamed and downloaded, and the inputs refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createReadStream, mkdtempSync, openAsBlob, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { ROOT, startWorker, type RunningWorker } from '../../test-support/worker.ts';
import { startGateway, type Gateway } from '../../test-support/gateway.ts';
import { buildTalk, voiceAt, type Talk } from '../../test-support/talk.ts';
import { waitFor } from '../../test-support/wait.ts';

let worker: RunningWorker;
let gw: Gateway;
let talk: Talk;
let openai: OpenAI;
const run = promisify(execFile);

before(async () => {
  talk = buildTalk();
  worker = await startWorker({ WHISPER_SLOTS: '2' });
  gw = await startGateway([worker.address], { OPENAI_MODEL_ALIASES: 'whisper-1=tiny.en,gpt-4o-transcribe-diarize=tiny.en' });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});
after(async () => {
  await gw?.close();
  await worker?.stop();
});

async function form(fields: Record<string, string | string[]>, files: Record<string, string[]> = {}): Promise<FormData> {
  const body = new FormData();
  body.append('file', await openAsBlob(talk.path), 'talk.wav');
  for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
  for (const [name, paths] of Object.entries(files)) for (const p of paths) body.append(name, await openAsBlob(p), 'ref.wav');
  return body;
}

const transcribe = async (fields: Record<string, string | string[]>, files?: Record<string, string[]>) =>
  fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: await form({ model: 'tiny.en', language: 'en', ...fields }, files) });

interface Named { start: number; end: number; speaker: string | null; words?: Array<{ start: number; end: number; speaker: string }> }

/** The share of the words' time given to the right voice under the best mapping of names to voices. */
function voiceAccuracy(segments: Named[]): number {
  const seen = new Map<string, Map<string, number>>(); // name -> voice -> seconds
  let total = 0;
  for (const w of segments.flatMap((s) => s.words ?? [])) {
    const voice = voiceAt(talk, (w.start + w.end) / 2);
    if (!voice) continue;
    const byVoice = seen.get(w.speaker) ?? new Map<string, number>();
    byVoice.set(voice, (byVoice.get(voice) ?? 0) + w.end - w.start);
    seen.set(w.speaker, byVoice);
    total += w.end - w.start;
  }
  // Three names and three voices at most: each name's best voice, used once, greedily by size, is close enough to the optimum here.
  const used = new Set<string>();
  let right = 0;
  for (const [, byVoice] of [...seen].sort((a, b) => Math.max(...b[1].values()) - Math.max(...a[1].values()))) {
    const [voice, secs] = [...byVoice].filter(([v]) => !used.has(v)).sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    used.add(voice);
    right += secs;
  }
  return right / total;
}

test('json: three speakers, every word given to its voice, names on segments and words', async () => {
  const r = await transcribe({ diarize: 'true', word_timestamps: 'true' });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.deepEqual(body.speakers.map((s: { id: string }) => s.id), ['A', 'B', 'C']);
  assert.ok(voiceAccuracy(body.segments) >= 0.85, `voice accuracy ${voiceAccuracy(body.segments)}`);
  assert.ok(body.segments.every((s: Named) => ['A', 'B', 'C'].includes(s.speaker!)));
  assert.ok(body.timing.diarize_seconds > 0);
});

test('every format names the speakers: text turns, SRT, WebVTT voices, a TSV column', async () => {
  const [text, srt, vtt, tsv] = await Promise.all(['text', 'srt', 'vtt', 'tsv'].map(async (format) => (await transcribe({ diarize: 'true', response_format: format })).text()));
  assert.match(text!, /^[ABC]: \S/m);
  assert.ok(text!.trim().split('\n').length >= 3, 'a line per turn');
  assert.match(srt!, /^1\n\d\d:\d\d:\d\d,\d{3} --> .*\n[ABC]: /);
  assert.match(vtt!, /^WEBVTT/);
  assert.match(vtt!, /<v [ABC]>/);
  assert.equal(tsv!.split('\n')[0], 'start\tend\tspeaker\ttext');
  assert.match(tsv!.split('\n')[1]!, /^\d+\t\d+\t[ABC]\t/);
});

test('num_speakers is met exactly; min and max are kept as bounds', async () => {
  const two = await (await transcribe({ num_speakers: '2' })).json();
  assert.equal(two.speakers.length, 2);
  const capped = await (await transcribe({ diarize: 'true', max_speakers: '1' })).json();
  assert.equal(capped.speakers.length, 1);
});

test('known speakers, sent as files, name their voices; the third keeps its letter', async () => {
  const r = await transcribe(
    { word_timestamps: 'true', 'known_speaker_names[]': ['Reader', 'Cards'] },
    { 'known_speaker_references[]': [talk.references.reader, talk.references.cards] },
  );
  assert.equal(r.status, 200, await r.clone().text());
  const body = await r.json();
  const names = body.speakers.map((s: { name: string }) => s.name).sort();
  assert.deepEqual(names.filter((n: string) => n === 'Reader' || n === 'Cards'), ['Cards', 'Reader']);
  assert.equal(names.filter((n: string) => /^[A-Z]$/.test(n)).length, 1, 'the voice with no reference keeps its letter');
  const readerWords = body.segments.flatMap((s: Named) => s.words ?? []).filter((w: { start: number; end: number }) => voiceAt(talk, (w.start + w.end) / 2, 0) === 'reader');
  const named = readerWords.filter((w: { speaker: string }) => w.speaker === 'Reader').length;
  assert.ok(named / readerWords.length >= 0.8, `${named} of ${readerWords.length} of the reader's words named Reader`);
});

test('OpenAI: gpt-4o-transcribe-diarize answers diarized_json, parsed by the official Python SDK as its TranscriptionDiarized', async () => {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'sdk', 'diarized.py');
  const { stdout } = await run(path.join(ROOT, '.venv', 'bin', 'python'), [script, `${gw.url}/v1`, talk.path, 'Reader', talk.references.reader]);
  const result = JSON.parse(stdout);
  assert.deepEqual([result.type, result.is_diarized, result.task], ['TranscriptionDiarized', true, 'transcribe']);
  assert.ok(result.duration > 30);
  assert.deepEqual(result.usage, { class: 'UsageDuration', type: 'duration', seconds: result.duration });
  assert.ok(result.segments.length >= 4);
  for (const s of result.segments) {
    assert.equal(s.type, 'transcript.text.segment');
    assert.match(s.id, /^seg_\d+$/);
  }
  assert.ok(result.segments.some((s: { speaker: string }) => s.speaker === 'Reader'), 'the known voice is named');
  assert.ok(new Set(result.segments.map((s: { speaker: string }) => s.speaker)).size >= 2);
});

test('OpenAI streaming with speakers: per segment a delta and its transcript.text.segment, then done with usage', async () => {
  const stream = await openai.audio.transcriptions.create({
    file: createReadStream(talk.path),
    model: 'gpt-4o-transcribe-diarize',
    response_format: 'diarized_json',
    chunking_strategy: { type: 'server_vad', prefix_padding_ms: 300, silence_duration_ms: 500, threshold: 0.5 },
    stream: true,
  });
  const types: string[] = [];
  const speakers = new Set<string>();
  const deltaIds: string[] = [];
  const segmentIds: string[] = [];
  let usage: unknown;
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'transcript.text.segment') (speakers.add(event.speaker), segmentIds.push(event.id));
    if (event.type === 'transcript.text.delta') deltaIds.push(event.segment_id!);
    if (event.type === 'transcript.text.done') usage = event.usage;
  }
  assert.equal(types.at(-1), 'transcript.text.done');
  assert.ok(segmentIds.length >= 4);
  assert.deepEqual(deltaIds, segmentIds, 'each delta names the segment that follows it');
  assert.ok(speakers.size >= 2);
  const billed = usage as { type: string; seconds: number };
  assert.equal(billed.type, 'duration');
  assert.ok(billed.seconds > 30);
});

test('a job with speakers, renamed: the job and every download carry the new name', async () => {
  const submitted = await fetch(`${gw.url}/api/jobs`, { method: 'POST', body: await form({ model: 'tiny.en', language: 'en', diarize: 'true' }) });
  assert.equal(submitted.status, 202);
  const { id } = await submitted.json();
  await waitFor('the job to succeed', async () => (await (await fetch(`${gw.url}/api/jobs/${id}`)).json()).status === 'succeeded', 120_000);
  const patch = await fetch(`${gw.url}/api/jobs/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ speakers: { A: 'Host' } }) });
  assert.equal(patch.status, 200, await patch.clone().text());
  const job = await patch.json();
  assert.equal(job.result.speakers.find((s: { id: string }) => s.id === 'A').name, 'Host');
  const srt = await (await fetch(`${gw.url}/api/jobs/${id}/result?format=srt`)).text();
  assert.match(srt, /\nHost: /);
  assert.doesNotMatch(srt, /\nA: /);
  const vtt = await (await fetch(`${gw.url}/api/jobs/${id}/result?format=vtt`)).text();
  assert.match(vtt, /<v Host>/);
  const wrong = await fetch(`${gw.url}/api/jobs/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ speakers: { Z: 'Nobody' } }) });
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).error.param, 'speakers.Z');
});

test('bad speaker fields get a 400 that names the field, and nothing is kept', async () => {
  const cases: Array<[Record<string, string | string[]>, Record<string, string[]>, string, RegExp]> = [
    [{ min_speakers: '4', max_speakers: '2' }, {}, 'min_speakers', /more than 'max_speakers'/],
    [{ num_speakers: '0' }, {}, 'num_speakers', /from 1 to 32/],
    [{ num_speakers: '33' }, {}, 'num_speakers', /from 1 to 32/],
    [{ 'known_speaker_names[]': ['Host', 'Guest'] }, { 'known_speaker_references[]': [talk.references.reader] }, 'known_speaker_references[]', /2 known speaker names for 1 reference clips/],
    [{ 'known_speaker_names[]': 'Host' }, { 'known_speaker_references[]': [new URL(import.meta.url).pathname] }, 'known_speaker_references[]', /not audio/],
    [{ 'known_speaker_names[]': 'Host', 'known_speaker_references[]': 'data:text/plain;base64,aGVsbG8=' }, {}, 'known_speaker_references[]', /not audio/],
    [{ diarize: 'false', num_speakers: '2' }, {}, 'diarize', /speaker fields were sent/],
  ];
  for (const [fields, files, param, message] of cases) {
    const r = await transcribe(fields, files);
    const body = await r.json();
    assert.equal(r.status, 400, JSON.stringify(fields));
    assert.equal(body.error.param, param, JSON.stringify(body));
    assert.match(body.error.message, message);
  }
  // A WAV of half a second is refused by its header, before the job is stored.
  const half = path.join(mkdtempSync(path.join(tmpdir(), 'half-')), 'half.wav');
  execFileSync('sox', [talk.references.cards, half, 'trim', '0', '0.5']);
  const r = await transcribe({ 'known_speaker_names[]': 'Host' }, { 'known_speaker_references[]': [half] });
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /holds 0\.50 s/);
  const jobs = (await (await fetch(`${gw.url}/api/jobs`)).json()).jobs;
  assert.ok(jobs.every((j: { status: string }) => j.status === 'succeeded'), 'no refused request left a job');
});
