// A fault run under load: two gateways on Redis in front of two real workers,
// 40 jobs of real speech sent over both, while a script pauses a worker past
// its heartbeat (SIGSTOP, then SIGCONT), kills a gateway with SIGKILL and
// starts it again, restarts Redis, and publishes garbage on the job bus.
// Every job must end succeeded, once, with the text a clean run gives the
// same file; nothing may be left in the uploads or audio folders.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openAsBlob, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startWorker, LIBRIVOX, type RunningWorker, freePort } from '../../test-support/worker.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test-support/gateway-process.ts';
import { startRedis, type RedisServer } from '../../test-support/redis.ts';
import { readEvents } from '../../test-support/jobs-client.ts';
import { form } from '../../test-support/gateway.ts';
import { waitFor } from '../../test-support/wait.ts';

const JOBS = 40;
const CLIPS = readdirSync(LIBRIVOX).filter((f) => f.endsWith('.wav')).sort().map((f) => path.join(LIBRIVOX, f));

let redis: RedisServer;
let workers: RunningWorker[];
const gateways: GatewayProcess[] = [];

before(async () => {
  redis = await startRedis({ appendonly: true });
  workers = await Promise.all([startWorker({ WHISPER_SLOTS: '2' }), startWorker({ WHISPER_SLOTS: '2' })]);
});
after(async () => {
  for (const g of gateways) await g.kill();
  await Promise.all(workers.map((w) => w.stop()));
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client's patience: a request that meets a gateway being killed, or Redis away, is sent again (to the other gateway). */
async function retrying<T>(what: string, urls: () => string[], attempt: (url: string) => Promise<T | null>): Promise<T> {
  for (let i = 0; ; i++) {
    const url = urls()[i % urls().length]!;
    const got = await attempt(url).catch(() => null);
    if (got !== null) return got;
    if (i > 600) throw new Error(`gave up on ${what}`);
    await sleep(100);
  }
}

async function transcribe(url: string, clip: string): Promise<string> {
  const response = await fetch(`${url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(clip), { model: 'tiny.en', language: 'en' }) });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()).text;
}

test('40 jobs over two gateways while a worker is paused, a gateway killed, Redis restarted and garbage published: none lost, none twice, the same text', { timeout: 600_000 }, async () => {
  const shared = { QUEUE_URL: redis.url, QUEUE_PREFIX: `run${randomUUID().slice(0, 6)}`, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'fault-run-')), QUEUE_LOCK_SECONDS: '3', WHISPER_WORKERS: workers.map((w) => w.address).join(','),
    // The run polls 40 jobs twice a second, past the default 600 requests a minute that the gateways share: the rate
    // limit (tested on its own) would answer 429 and a read would count no result.
    RATE_LIMIT_PER_MINUTE: '1000000' };
  const ports = [await freePort(), await freePort()];
  const start = async (i: number) => {
    const g = await startGatewayProcess({ ...shared, SERVER_PORT: String(ports[i]) }); // a restart on its own port clears its own uploads folder
    gateways.push(g);
    return g;
  };
  const live: GatewayProcess[] = [await start(0), await start(1)];
  const urls = () => live.map((g) => g.url);

  // The clean run: each file once, nothing going wrong.
  const clean = new Map<string, string>();
  for (const clip of CLIPS) clean.set(clip, await transcribe(live[0]!.url, clip));
  const cleanAudio = readdirSync(path.join(shared.DATA_DIR, 'audio')); // the clean run's jobs succeeded: their audio is kept too

  const faults: string[] = [];
  const script = (async () => {
    await sleep(1500);
    workers[0]!.process.kill('SIGSTOP');
    faults.push('SIGSTOP worker 1');
    await sleep(2000);
    await live[1]!.kill('SIGKILL');
    faults.push('SIGKILL gateway 2');
    live[1] = await start(1);
    faults.push('gateway 2 started again');
    const admin = new Redis(redis.url);
    for (const garbage of ['not json', '{"type":"cancel"}', '{"type":"event","id":"x"}']) await admin.publish(`${shared.QUEUE_PREFIX}:bus`, garbage);
    admin.disconnect();
    faults.push('garbage on the bus');
    await sleep(Math.max(0, 8000 - 2000 - 1500));
    workers[0]!.process.kill('SIGCONT');
    faults.push('SIGCONT worker 1');
    await redis.stop();
    faults.push('Redis stopped');
    await sleep(1500);
    await redis.start();
    faults.push('Redis started again');
  })();

  const ids: Array<{ id: string; clip: string }> = [];
  for (let i = 0; i < JOBS; i++) {
    const clip = CLIPS[i % CLIPS.length]!;
    const id = await retrying('a submit', urls, async (url) => {
      const response = await fetch(`${url}/api/jobs`, { method: 'POST', body: form(await openAsBlob(clip), { model: 'tiny.en', language: 'en' }) });
      return response.status === 202 ? ((await response.json()) as { id: string }).id : null;
    });
    ids.push({ id, clip });
    await sleep(150);
  }
  await script;

  const finished = await waitFor('every job to finish', async () => {
    const all = await Promise.all(ids.map(({ id }) => retrying('a job', urls, async (url) => (await fetch(`${url}/api/jobs/${id}`)).json())));
    return all.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status)) ? all : null;
  }, 300_000, 500);

  const lost = finished.filter((j) => j.status !== 'succeeded');
  const wrong = finished.filter((j, i) => j.status === 'succeeded' && j.result.text !== clean.get(ids[i]!.clip));
  const results = await Promise.all(ids.map(({ id }) => retrying('events', urls, async (url) => {
    const response = await fetch(`${url}/api/jobs/${id}/events`);
    if (!response.ok) return null; // a gateway refusing the read (restarting, say): read again, never count an error as no result
    return (await readEvents(response)).filter((e) => e.event === 'result').length;
  })));
  console.log(`fault run: ${faults.length} faults (${faults.join('; ')}); ${JOBS} jobs, ${lost.length} lost, ${wrong.length} with another text, ` +
    `${results.filter((n) => n !== 1).length} with other than one result; attempts: ${finished.map((j) => j.attempts).join(' ')}`);
  assert.deepEqual(lost.map((j) => [j.id, j.status, j.error]), [], 'no job lost');
  assert.deepEqual(wrong.map((j) => j.result.text), [], 'the text of a clean run');
  assert.deepEqual(results, ids.map(() => 1), 'each job succeeded once');
  assert.equal(faults.length, 7, 'every fault was injected');
  // KEEP_AUDIO (on by default): every job succeeded, so each one's audio stays for playback, and nothing else (no leftovers of a fault).
  const kept = [...cleanAudio, ...ids.map(({ id }) => id)].sort();
  const audio = () => readdirSync(path.join(shared.DATA_DIR, 'audio')).sort();
  await waitFor('the audio of every job, and nothing else, to be kept', () => JSON.stringify(audio()) === JSON.stringify(kept), 30_000)
    .catch(() => assert.deepEqual({ missing: kept.filter((id) => !audio().includes(id)), extra: audio().filter((f) => !kept.includes(f)) }, { missing: [], extra: [] }));
  const uploads = path.join(shared.DATA_DIR, 'uploads');
  assert.deepEqual(readdirSync(uploads).flatMap((g) => readdirSync(path.join(uploads, g))), [], 'no upload left behind');
  for (const g of live) assert.deepEqual(g.bugs(), []);
});
