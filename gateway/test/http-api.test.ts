// The original REST API against a real worker with real weights, over real HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWorker, CLIP, SHORT_CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGateway, form, readSse, type Gateway } from '../../test-support/gateway.ts';
import SPEECH from '../../test-support/speech.json' with { type: 'json' };
import { waitFor } from '../../test-support/wait.ts';

let worker: RunningWorker;
let gw: Gateway;

before(async () => {
  worker = await startWorker({ WHISPER_SLOTS: '1' });
  gw = await startGateway([worker.address], { MAX_UPLOAD_BYTES: String(5 << 20) });
});
after(async () => {
  await gw?.close();
  await worker?.stop();
});

const post = async (fields: Record<string, string>, file: Blob | null = null) =>
  fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(file ?? (await openAsBlob(CLIP)), fields) });

test('GET /api/models lists every name, with what is on disk and loaded', async () => {
  const body = await (await fetch(`${gw.url}/api/models`)).json();
  assert.equal(body.default, 'base');
  const byName = Object.fromEntries(body.models.map((m: any) => [m.name, m]));
  assert.equal(byName['base'].available, true);
  assert.equal(byName['tiny.en'].available, true);
  assert.equal(byName['medium'].available, false);
  assert.ok(byName['large'] && byName['tiny']);
});

test('GET /api/health reports the worker', async () => {
  const response = await fetch(`${gw.url}/api/health`);
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.workers[0].address, worker.address);
  assert.equal(body.workers[0].up, true);
  assert.deepEqual(body.queue, { waiting: 0, running: 0 });
});

test('json: text, language, segments and timing', async () => {
  const response = await post({ model: 'tiny.en' });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.match(body.text.toLowerCase(), /dashwood/);
  assert.equal(body.language, 'en');
  assert.ok(body.segments.length >= 1 && body.duration > 7);
  assert.ok(body.timing.total_seconds >= body.timing.decode_seconds);
});

test('every response format', async () => {
  const srt = await (await post({ model: 'tiny.en', response_format: 'srt' })).text();
  assert.match(srt, /^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n.+/);
  const vtt = await post({ model: 'tiny.en', response_format: 'vtt' });
  assert.match(vtt.headers.get('content-type')!, /text\/vtt/);
  assert.match(await vtt.text(), /^WEBVTT\n\n00:00:00\.000 --> /);
  const tsv = await (await post({ model: 'tiny.en', response_format: 'tsv' })).text();
  assert.match(tsv, /^start\tend\ttext\n0\t\d+\t.+/);
  const text = await (await post({ model: 'tiny.en', response_format: 'text' })).text();
  assert.match(text.toLowerCase(), /dashwood/);
  const verbose = await (await post({ model: 'tiny.en', response_format: 'verbose_json', word_timestamps: 'true' })).json();
  assert.equal(verbose.language, 'english');
  assert.ok(verbose.segments[0].tokens.length > 0 && 'no_speech_prob' in verbose.segments[0]);
  assert.ok(verbose.words.length > 5 && verbose.words[0].word);
});

test('translate: German speech comes back in English', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'speech-'));
  const wav = path.join(dir, 'de.wav');
  execFileSync('espeak-ng', ['-v', 'de', '-w', wav, SPEECH.de.text]);
  const body = await (await post({ model: 'base', task: 'translate' }, await openAsBlob(wav))).json();
  assert.equal(body.language, 'de');
  const words = new Set(body.text.toLowerCase().match(/[a-z]+/g));
  assert.ok(SPEECH.de.english.some((w) => words.has(w)), body.text); // one content word: the rest varies by CPU
});

test('stream=true: progress and segments arrive before the result', async () => {
  const response = await post({ model: 'tiny.en', stream: 'true' });
  assert.match(response.headers.get('content-type')!, /text\/event-stream/);
  const events = await readSse(response);
  const names = events.map((e) => e.event);
  assert.equal(names.at(-1), 'result');
  assert.ok(names.indexOf('info') < names.indexOf('segment'));
  assert.ok(names.indexOf('segment') < names.indexOf('result'));
  assert.ok(names.includes('progress'));
  const streamed = events.filter((e) => e.event === 'segment').map((e) => e.data.text).join('');
  assert.equal(streamed.trim(), events.at(-1)!.data.text);
});

test('bad input: each gets its own status and code, and the service keeps working', async () => {
  const cases: Array<[Record<string, string>, Blob | null, number, string]> = [
    [{ model: 'tiny.en' }, new Blob(['just some text\n'.repeat(20)]), 400, 'undecodable_audio'],
    [{ model: 'tiny.en' }, new Blob([]), 400, 'file_empty'],
    [{ model: 'gigantic' }, await openAsBlob(SHORT_CLIP), 400, 'unknown_model'],
    [{ model: 'tiny.en', language: 'xx' }, await openAsBlob(SHORT_CLIP), 400, 'unknown_language'],
    [{ model: 'tiny.en', beam_size: 'many' }, await openAsBlob(SHORT_CLIP), 400, 'invalid_parameter'],
    [{ model: 'tiny.en' }, new Blob([new Uint8Array(6 << 20)]), 413, 'file_too_large'],
    [{ model: 'medium' }, await openAsBlob(SHORT_CLIP), 400, 'model_unavailable'],
  ];
  for (const [fields, file, status, code] of cases) {
    const response = await post(fields, file);
    const body = await response.json();
    assert.equal(response.status, status, `${code}: ${JSON.stringify(body)}`);
    assert.equal(body.error.code, code);
    assert.ok(body.error.message.length > 10 && !/at .*\.ts:\d+/.test(body.error.message));
  }
  const missing = await fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(null, { model: 'tiny.en' }) });
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).error.code, 'file_missing');
  assert.equal((await post({ model: 'tiny.en' })).status, 200);
});

test('a client that goes away cancels its job on the worker', async () => {
  const long = path.join(mkdtempSync(path.join(tmpdir(), 'long-')), 'long.wav');
  execFileSync('sox', [...Array(12).fill(CLIP), long]); // ~85 s, decoded one 30 s window after another: the first segment comes long before the end
  const controller = new AbortController();
  const response = await fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(long), { model: 'tiny.en', stream: 'true', batch_size: '0' }), signal: controller.signal });
  const reader = response.body!.getReader();
  let seen = '';
  while (!seen.includes('event: segment')) seen += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  // The job ends cancelled (not succeeded: the file was still being decoded), and the worker says so too.
  const cancelled = await waitFor('the job to end', async () => {
    const { jobs } = await (await fetch(`${gw.url}/api/jobs?limit=1`)).json();
    return jobs[0].status === 'running' ? null : jobs[0];
  });
  assert.equal(cancelled.status, 'cancelled');
  await waitFor('the worker to log the request as cancelled', () => worker.requests().some((r) => r.id.startsWith(cancelled.id) && r.outcome === 'cancelled'));
  const health = await (await fetch(`${gw.url}/api/health`)).json();
  assert.equal(health.workers[0].running + health.queue.running, 0, 'its slot is free');
});

test('OpenAPI document and docs page', async () => {
  const spec = await (await fetch(`${gw.url}/openapi.json`)).json();
  assert.ok(spec.paths['/api/transcribe'].post.requestBody.content['multipart/form-data'].schema.properties.response_format);
  assert.ok(spec.paths['/v1/audio/transcriptions']);
  assert.equal((await fetch(`${gw.url}/docs`)).status, 200);
  const missing = await fetch(`${gw.url}/nope`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'not_found');
});
