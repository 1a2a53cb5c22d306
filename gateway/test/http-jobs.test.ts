// Durable jobs over real HTTP, with a real worker and real weights, and the
// gateway as its own process: killed with SIGKILL and started again on the
// same DATA_DIR, stopped with SIGTERM, cancelled, and calling a webhook.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { startWorker, CLIP, SHORT_CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test-support/gateway-process.ts';
import { form } from '../../test-support/gateway.ts';
import { submit, job, until, readEvents } from '../../test-support/jobs-client.ts';
import { waitFor } from '../../test-support/wait.ts';

let worker: RunningWorker;
let longClip: string; // ~35 s: long enough to be killed mid-way
const gateways: GatewayProcess[] = [];

before(async () => {
  worker = await startWorker({ WHISPER_SLOTS: '1' });
  longClip = path.join(mkdtempSync(path.join(tmpdir(), 'long-')), 'long.wav');
  execFileSync('sox', [CLIP, CLIP, CLIP, CLIP, CLIP, longClip]);
});
after(async () => {
  for (const g of gateways) await g.kill();
  await worker?.stop();
});

async function gateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const g = await startGatewayProcess({ WHISPER_WORKERS: worker.address, ...env });
  gateways.push(g);
  return g;
}

const newDataDir = () => mkdtempSync(path.join(tmpdir(), 'jobs-data-'));

test('the jobs API end to end: submit, follow, result in any format, list, delete', async () => {
  const g = await gateway({ DATA_DIR: newDataDir() });
  const { id } = await submit(g.url, CLIP, { response_format: 'vtt' });
  const events = await readEvents(await fetch(`${g.url}/api/jobs/${id}/events`));
  assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1), 'every event has the next id');
  assert.equal(events.at(-1)!.event, 'result');
  assert.match(events.at(-1)!.data.text.toLowerCase(), /dashwood/);
  const done = await job(g.url, id);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.language, 'en');
  assert.ok(done.duration > 7 && done.attempts === 1 && done.started_at && done.finished_at);
  assert.match(await (await fetch(`${g.url}/api/jobs/${id}/result`)).text(), /^WEBVTT\n/);
  assert.match((await (await fetch(`${g.url}/api/jobs/${id}/result?format=text`)).text()).toLowerCase(), /dashwood/);
  const list = await (await fetch(`${g.url}/api/jobs`)).json();
  assert.equal(list.jobs[0].id, id);
  const logged = worker.requests().find((l) => l.id === `${id}/1`);
  assert.equal(logged?.outcome, 'ok', 'the worker logged the same work under the job\'s id (= the HTTP request id)');
  assert.equal((await fetch(`${g.url}/api/jobs/${id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await fetch(`${g.url}/api/jobs/${id}`)).status, 404);
  await g.kill();
});

test('a succeeded job\'s audio plays back (KEEP_AUDIO, the default): the same bytes, byte ranges, only to its key, gone with the job', async () => {
  const dataDir = newDataDir();
  const g = await gateway({ DATA_DIR: dataDir, API_KEYS: 'alice:sk-alice-audio-0001,bob:sk-bob-audio-00001' });
  const alice = { authorization: 'Bearer sk-alice-audio-0001' };
  const sent = await fetch(`${g.url}/api/jobs`, { method: 'POST', headers: alice, body: form(await openAsBlob(CLIP), { model: 'tiny.en' }, 'sense.wav') });
  assert.equal(sent.status, 202, await sent.clone().text());
  const { id } = await sent.json();
  await waitFor('the job to succeed', async () => (await (await fetch(`${g.url}/api/jobs/${id}`, { headers: alice })).json()).status === 'succeeded', 120_000);
  const uploaded = readFileSync(CLIP);
  const audio = `${g.url}/api/jobs/${id}/audio`;

  const whole = await fetch(audio, { headers: alice });
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'audio/wav');
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.equal(Number(whole.headers.get('content-length')), uploaded.length);
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(uploaded), 'the bytes as uploaded');

  const part = await fetch(audio, { headers: { ...alice, range: 'bytes=1000-1999' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${uploaded.length}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(uploaded.subarray(1000, 2000)), 'the slice asked');
  const open = await fetch(audio, { headers: { ...alice, range: `bytes=${uploaded.length - 10}-` } });
  assert.equal(open.status, 206);
  assert.ok(Buffer.from(await open.arrayBuffer()).equals(uploaded.subarray(uploaded.length - 10)), 'from an offset to the end');
  const suffix = await fetch(audio, { headers: { ...alice, range: 'bytes=-16' } });
  assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(uploaded.subarray(uploaded.length - 16)), 'the last bytes');
  const past = await fetch(audio, { headers: { ...alice, range: `bytes=${uploaded.length}-` } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${uploaded.length}`);
  assert.equal((await past.json()).error.code, 'range_not_satisfiable');

  // <audio src> sends no header: the key may come in the query here, as for the event stream.
  const byQuery = await fetch(`${audio}?api_key=sk-alice-audio-0001`, { headers: { range: 'bytes=0-3' } });
  assert.equal(byQuery.status, 206);
  assert.equal(await byQuery.text(), 'RIFF');
  assert.equal((await fetch(audio)).status, 401, 'no key');
  const bob = await fetch(audio, { headers: { authorization: 'Bearer sk-bob-audio-00001' } });
  assert.equal(bob.status, 404, 'another key\'s job is as absent as none');
  assert.equal((await bob.json()).error.code, 'not_found');

  assert.ok(readdirSync(path.join(dataDir, 'audio')).includes(id), 'kept in DATA_DIR');
  assert.equal((await fetch(`${g.url}/api/jobs/${id}`, { method: 'DELETE', headers: alice })).status, 204);
  assert.equal((await fetch(audio, { headers: alice })).status, 404, 'gone with the job');
  assert.deepEqual(readdirSync(path.join(dataDir, 'audio')), [], 'and its file from DATA_DIR');
  await g.kill();
});

test('KEEP_AUDIO=false: the audio goes when the job ends, and asking for it says so', async () => {
  const dataDir = newDataDir();
  const g = await gateway({ DATA_DIR: dataDir, KEEP_AUDIO: 'false' });
  const { id } = await submit(g.url, SHORT_CLIP);
  await until(g.url, id, 'succeeded');
  await waitFor('the audio to go', () => readdirSync(path.join(dataDir, 'audio')).length === 0, 5_000);
  const gone = await fetch(`${g.url}/api/jobs/${id}/audio`);
  assert.equal(gone.status, 404);
  const { error } = await gone.json();
  assert.equal(error.code, 'job_audio_gone');
  assert.match(error.message, /KEEP_AUDIO=false/);
  assert.equal((await fetch(`${g.url}/api/jobs/${id}/result?format=text`)).status, 200, 'the result stays');
  await g.kill();
});

test('SIGKILL mid-job: after a restart the running job runs again, queued ones run, results survive, events resume', async () => {
  const dataDir = newDataDir();
  const first = await gateway({ DATA_DIR: dataDir });
  const finished = await submit(first.url, SHORT_CLIP);
  await until(first.url, finished.id, 'succeeded');
  // Sequential decoding: segments come window by window, so there is a middle to kill it in (batched, they come in one batch).
  const long = await submit(first.url, longClip, { batch_size: '0' });
  const queued = [await submit(first.url, SHORT_CLIP), await submit(first.url, CLIP)];
  // Follow the long job until a segment has arrived, then kill the gateway under it.
  const seen = await readEvents(await fetch(`${first.url}/api/jobs/${long.id}/events`), (e) => e.event === 'segment');
  await first.kill('SIGKILL');

  const second = await gateway({ DATA_DIR: dataDir });
  assert.match(await (await fetch(`${second.url}/api/jobs/${finished.id}/result?format=text`)).text(), /\bman\b/i, 'a finished result survives');
  const rest = await readEvents(await fetch(`${second.url}/api/jobs/${long.id}/events`, { headers: { 'last-event-id': String(seen.at(-1)!.id) } }));
  assert.ok(rest[0]!.id === seen.at(-1)!.id + 1, 'resumed right after the last event seen');
  const segmentIds = [...seen, ...rest].filter((e) => e.event === 'segment').map((e) => e.data.id);
  assert.deepEqual(segmentIds, [...new Set(segmentIds)].sort((a, b) => a - b), 'no segment twice, none out of order');
  assert.equal(rest.at(-1)!.event, 'result');
  assert.ok(rest.some((e) => e.event === 'started' && e.data.attempt === 2), 'the second attempt is announced');
  const done = await job(second.url, long.id);
  assert.deepEqual([done.status, done.attempts], ['succeeded', 2]);
  assert.match(done.result.text.toLowerCase(), /dashwood/);
  assert.equal(done.result.segments.length, segmentIds.length, 'the result holds every segment once');
  for (const q of queued) assert.equal((await until(second.url, q.id, 'succeeded')).attempts, 1);
  // KEEP_AUDIO (on by default): a succeeded job's audio stays for playback, and nothing else does (no reference clips, no
  // leftovers of the killed attempt); it goes just after the job is marked finished, so a poll may see it a moment before.
  const succeeded = [finished.id, long.id, ...queued.map((q) => q.id)].sort();
  await waitFor('only the succeeded jobs\' audio to stay', () => JSON.stringify(readdirSync(path.join(dataDir, 'audio')).sort()) === JSON.stringify(succeeded), 5_000);
  await second.kill();
});

test('SIGTERM: new work gets 503 with Retry-After, the running job finishes, the queued one waits for the next start', async () => {
  const dataDir = newDataDir();
  const g = await gateway({ DATA_DIR: dataDir, SHUTDOWN_GRACE_SECONDS: '120' });
  const running = await submit(g.url, longClip);
  const waiting = await submit(g.url, SHORT_CLIP);
  await until(g.url, running.id, 'running');
  const exited = g.kill('SIGTERM');
  const refused = await waitFor('new work to be refused', async () => {
    const r = await fetch(`${g.url}/api/jobs`, { method: 'POST', body: form(await openAsBlob(SHORT_CLIP)) });
    return r.status === 503 ? r : null;
  });
  assert.equal(refused.headers.get('retry-after'), '5');
  assert.equal((await refused.json()).error.code, 'shutting_down');
  assert.equal(await exited, 0, 'exits 0 once the running job is done');
  const next = await gateway({ DATA_DIR: dataDir });
  assert.equal((await job(next.url, running.id)).status, 'succeeded', 'the running job finished within the grace time');
  assert.equal((await until(next.url, waiting.id, 'succeeded')).attempts, 1, 'the queued job ran after the restart, once');
  await next.kill();
});

test('cancel: DELETE of a running and a queued job; the worker is told and its slot is free', async () => {
  const g = await gateway({ DATA_DIR: newDataDir() });
  const running = await submit(g.url, longClip);
  const waiting = await submit(g.url, longClip);
  await until(g.url, running.id, 'running');
  for (const id of [waiting.id, running.id]) {
    const r = await fetch(`${g.url}/api/jobs/${id}`, { method: 'DELETE' });
    assert.equal(r.status, 202);
    assert.equal((await r.json()).status, 'cancelled');
  }
  await waitFor('the worker\'s slot to be free', async () => {
    const health = await (await fetch(`${g.url}/api/health`)).json();
    return health.workers[0].running === 0 && health.queue.running === 0;
  });
  await g.kill();
});

test('a webhook is delivered, signed per Standard Webhooks, and recorded on the job', async () => {
  const secret = 'whsec_' + Buffer.from('a test secret of thirty-two bytes!').toString('base64');
  const received: Array<{ headers: Record<string, string>; body: string }> = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(200).end();
    });
  }).listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const port = (receiver.address() as { port: number }).port;
  try {
    const g = await gateway({ DATA_DIR: newDataDir(), WEBHOOK_SECRET: secret, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
    const { id } = await submit(g.url, SHORT_CLIP, { callback_url: `http://127.0.0.1:${port}/hooks/whisper` });
    await waitFor('the webhook', () => received.length === 1, 120_000);
    const payload = new Webhook(secret).verify(received[0]!.body, received[0]!.headers) as { id: string; status: string; result: { text: string } };
    assert.deepEqual([payload.id, payload.status], [id, 'succeeded']);
    assert.match(payload.result.text.toLowerCase(), /\bman\b/);
    const recorded = await waitFor('the delivery to be recorded', async () => (await job(g.url, id)).webhook?.delivered && job(g.url, id));
    assert.equal(recorded.webhook.last_status, 200);
    await g.kill();
  } finally {
    receiver.close();
  }
});
