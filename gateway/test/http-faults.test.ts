// No single fault takes a gateway down or loses a job: a full disk under a
// running job, a deadline on a stream, a worker paused past its heartbeat, a
// gateway killed while a webhook is retried. Real worker, real weights, the
// gateway as its own process where a process is what the fault is about.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, openAsBlob, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWorker, SHORT_CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test-support/gateway-process.ts';
import { form, startGateway } from '../../test-support/gateway.ts';
import { submit, job, until, readEvents } from '../../test-support/jobs-client.ts';
import { mountSmallDisk } from '../../test-support/tmpfs.ts';
import { longSpeech } from '../../test-support/clips.ts';
import { waitFor } from '../../test-support/wait.ts';

let worker: RunningWorker;
let longClip: string; // 150 s of LibriVox, as FLAC (small on a small disk): still decoding when the fault comes
const gateways: GatewayProcess[] = [];

before(async () => {
  worker = await startWorker();
  longClip = longSpeech(150, 'flac');
});
after(async () => {
  for (const g of gateways) await g.kill();
  await worker?.stop();
});

async function gateway(env: Record<string, string>): Promise<GatewayProcess> {
  const g = await startGatewayProcess({ WHISPER_WORKERS: worker.address, ...env });
  gateways.push(g);
  return g;
}

const listJobs = async (url: string) => (await (await fetch(`${url}/api/jobs?limit=50`)).json()).jobs as Array<{ id: string; status: string }>;

test('the disk fills while jobs run: the synchronous request gets 507, the async job waits and finishes once there is room, the gateway stays up', async () => {
  const disk = mountSmallDisk(24);
  try {
    const g = await gateway({ DATA_DIR: disk.dir, LOG_LEVEL: 'info' });
    const waiting = fetch(`${g.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(longClip), { model: 'tiny.en' }, 'long.flac') });
    const { id: asyncId } = await submit(g.url, longClip, { model: 'tiny.en' });
    await waitFor('both jobs to run', async () => {
      const jobs = await listJobs(g.url);
      return jobs.length === 2 && jobs.every((j) => j.status === 'running');
    }, 60_000);
    const filler = disk.fill();

    const refused = await waiting;
    assert.equal(refused.status, 507, await refused.clone().text());
    const error = (await refused.json()).error;
    assert.equal(error.code, 'insufficient_storage');
    assert.match(error.message, /no room left/);
    assert.equal((await fetch(`${g.url}/api/health`)).status, 200, 'the gateway is up');
    // The async job hits the full disk at its next event, and goes back in line rather than failing.
    await waitFor('the async job to meet the full disk', () => g.log().includes(`job ${asyncId}: the job store has no room left`), 60_000);
    assert.notEqual((await job(g.url, asyncId)).status, 'failed', 'the async job is not failed: it waits for room');

    rmSync(filler);
    const done = await until(g.url, asyncId, 'succeeded', 120_000);
    assert.match(done.result.text.toLowerCase(), /dashwood/);
    assert.ok(done.attempts >= 2, `run again once the store took writes (attempts ${done.attempts})`);
    const syncId = (await listJobs(g.url)).find((j) => j.id !== asyncId)!.id;
    const recorded = await until(g.url, syncId, 'failed', 30_000);
    assert.equal(recorded.error.code, 'insufficient_storage', 'the refused outcome is written once the store takes it');
    const after = await fetch(`${g.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(SHORT_CLIP), { model: 'tiny.en' }) });
    assert.equal(after.status, 200, 'other requests go on');
    // KEEP_AUDIO (on by default): the succeeded jobs' audio stays for playback; the failed one's went when it ended.
    const succeeded = JSON.stringify((await listJobs(g.url)).filter((j) => j.status === 'succeeded').map((j) => j.id).sort());
    await waitFor('only the succeeded jobs\' audio to stay', () => JSON.stringify(readdirSync(path.join(disk.dir, 'audio')).sort()) === succeeded, 5_000);
    assert.ok(!readdirSync(path.join(disk.dir, 'audio')).includes(syncId), 'the failed job\'s audio is gone');
    assert.deepEqual(g.bugs(), []);
    await g.kill();
  } finally {
    disk.unmount();
  }
});

test('REQUEST_TIMEOUT_MS with stream=true: the stream ends with a timeout error event, and the job is cancelled', async () => {
  const g = await startGateway([worker.address], { REQUEST_TIMEOUT_MS: '1500' });
  try {
    const api = await fetch(`${g.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(longClip), { model: 'tiny.en', stream: 'true' }, 'long.flac') });
    const events = await readEvents(api);
    assert.equal(events.at(-1)!.event, 'error');
    assert.equal(events.at(-1)!.data.error.code, 'timeout');
    assert.match(events.at(-1)!.data.error.message, /REQUEST_TIMEOUT_MS=1500/);
    const openai = await fetch(`${g.url}/v1/audio/transcriptions`, { method: 'POST', body: form(await openAsBlob(longClip), { model: 'tiny.en', stream: 'true' }, 'long.flac') });
    const text = await openai.text();
    const last = JSON.parse(text.trim().split('\n').filter((l) => l.startsWith('data: ')).at(-1)!.slice(6));
    assert.deepEqual([last.type, last.error.code], ['error', 'timeout']);
    // A cancel takes effect at the worker's next segment: seconds on a loaded 2-core machine, so a wide margin.
    await waitFor('both jobs to end cancelled', async () => (await listJobs(g.url)).every((j) => j.status === 'cancelled'), 90_000);
  } finally {
    await g.close();
  }
});

test('a worker paused past its heartbeat (SIGSTOP 8 s): no new work goes there meanwhile, and its running job finishes, attempt 1', async () => {
  const g = await startGateway([worker.address]);
  try {
    const { id } = await submit(g.url, longClip, { model: 'base' });
    await until(g.url, id, 'running', 60_000);
    const stopped = Date.now();
    worker.process.kill('SIGSTOP');
    try {
      await waitFor('the worker to be marked down', async () => (await (await fetch(`${g.url}/api/health`)).json()).workers[0].up === false, 15_000);
      const { id: second } = await submit(g.url, SHORT_CLIP);
      await new Promise((r) => setTimeout(r, Math.max(0, 8000 - (Date.now() - stopped))));
      assert.equal((await job(g.url, second)).status, 'queued', 'nothing is sent to a worker that is down');
    } finally {
      worker.process.kill('SIGCONT');
    }
    const done = await until(g.url, id, 'succeeded', 180_000);
    assert.equal(done.attempts, 1, 'the running job finished on its own data link');
    const started = (await readEvents(await fetch(`${g.url}/api/jobs/${id}/events`))).filter((e) => e.event === 'started');
    assert.equal(started.length, 1);
    assert.match(done.result.text.toLowerCase(), /dashwood/);
  } finally {
    await g.close();
  }
});

test('a webhook retried across a gateway restart: the pending delivery resumes from the store and arrives once more, same id', async () => {
  const secret = 'whsec_' + Buffer.from('a test secret of thirty-two bytes!').toString('base64');
  const received: string[] = [];
  const hung: IncomingMessage[] = [];
  // The first attempt fails, the second never answers (the gateway is killed while it waits), the one after the restart succeeds.
  const receiver = createServer((req, res) => {
    received.push(String(req.headers['webhook-id']));
    req.resume();
    if (received.length === 1) res.writeHead(500).end();
    else if (received.length === 2) hung.push(req);
    else res.writeHead(200).end();
  }).listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const port = (receiver.address() as { port: number }).port;
  const env = { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'hooks-')), WEBHOOK_SECRET: secret, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' };
  try {
    const first = await gateway(env);
    const { id } = await submit(first.url, SHORT_CLIP, { callback_url: `http://127.0.0.1:${port}/hook` });
    await waitFor('the second attempt to be in flight', () => received.length === 2, 120_000);
    assert.equal((await job(first.url, id)).webhook.attempts, 1);
    await first.kill();
    const second = await gateway(env);
    const delivered = await waitFor('the delivery to resume and succeed', async () => {
      const now = await job(second.url, id);
      return now.webhook?.delivered ? now : null;
    }, 30_000);
    assert.deepEqual(received, [`job_${id}`, `job_${id}`, `job_${id}`], 'one webhook id: the receiver can drop repeats');
    assert.equal(delivered.webhook.attempts, 2, 'the attempt cut by the kill was never recorded; counting went on from the store');
    assert.deepEqual(second.bugs(), []);
  } finally {
    for (const req of hung) req.socket.destroy();
    receiver.close();
  }
});
