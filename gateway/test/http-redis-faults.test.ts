// Faults of a deployment on Redis (QUEUE_URL), gateways as processes over real
// HTTP: Redis out of memory under a running job, garbage published on the
// job bus, a bus that reconnects under waiting requests, a job deleted while
// a request waits on it, a job stored but never queued; and the retry rule,
// the same on Redis as on SQLite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, openAsBlob, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startWorker, SHORT_CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { longSpeech } from '../../test-support/clips.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test-support/gateway-process.ts';
import { startRedis, type RedisServer } from '../../test-support/redis.ts';
import { submit, job, until } from '../../test-support/jobs-client.ts';
import { form } from '../../test-support/gateway.ts';
import { waitFor } from '../../test-support/wait.ts';
import { startFakeWorker } from './fake-worker.ts';
import { RedisStore } from '../src/redis/store.ts';

let redis: RedisServer;
let admin: Redis;
let worker: RunningWorker;
let longClip: string; // 150 s, FLAC
const gateways: GatewayProcess[] = [];

before(async () => {
  redis = await startRedis({ appendonly: true });
  admin = new Redis(redis.url);
  worker = await startWorker();
  longClip = longSpeech(150, 'flac');
});
after(async () => {
  for (const g of gateways) await g.kill();
  await worker?.stop();
  admin?.disconnect();
  await redis?.stop();
});

function deployment() {
  const env = { QUEUE_URL: redis.url, QUEUE_PREFIX: `f${randomUUID().slice(0, 8)}`, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'shared-data-')), QUEUE_LOCK_SECONDS: '3' };
  const start = async (workers: string[] = [worker.address], extra: Record<string, string> = {}) => {
    const g = await startGatewayProcess({ ...env, WHISPER_WORKERS: workers.join(','), ...extra });
    gateways.push(g);
    return g;
  };
  return { env, start };
}

const listJobs = async (url: string) => (await (await fetch(`${url}/api/jobs?limit=50`)).json()).jobs as Array<{ id: string; status: string }>;
const calls = async (command: string) => Number(/calls=(\d+)/.exec((await admin.info('commandstats')).split('\n').find((l) => l.startsWith(`cmdstat_${command}:`)) ?? '')?.[1] ?? 0);

test('Redis out of memory under running jobs: the synchronous request gets 507, the async job runs again once Redis takes writes', async () => {
  const { start } = deployment();
  const g = await start(undefined, { LOG_LEVEL: 'info' });
  const waiting = fetch(`${g.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(longClip), { model: 'tiny.en' }, 'long.flac') });
  const { id: asyncId } = await submit(g.url, longClip, { model: 'tiny.en' });
  await waitFor('both jobs to run', async () => {
    const jobs = await listJobs(g.url);
    return jobs.length === 2 && jobs.every((j) => j.status === 'running');
  }, 60_000);
  await admin.config('SET', 'maxmemory', '1'); // every write that needs memory now answers -OOM
  try {
    const refused = await waiting;
    assert.equal(refused.status, 507, await refused.clone().text());
    assert.equal((await refused.json()).error.code, 'insufficient_storage');
    await waitFor('the async job to meet the refusal', () => g.log().includes(`job ${asyncId}: the job store has no room left`), 60_000);
    assert.equal((await fetch(`${g.url}/api/health`)).status, 200, 'the gateway is up');
  } finally {
    await admin.config('SET', 'maxmemory', '0');
  }
  const done = await until(g.url, asyncId, 'succeeded', 120_000);
  assert.match(done.result.text.toLowerCase(), /dashwood/);
  const syncId = (await listJobs(g.url)).find((j) => j.id !== asyncId)!.id;
  assert.equal((await until(g.url, syncId, 'failed', 30_000)).error.code, 'insufficient_storage');
  assert.deepEqual(g.bugs(), []);
});

test('garbage published on the job bus is dropped: no gateway exits, and jobs go on', async () => {
  const { env, start } = deployment();
  const [g1, g2] = [await start(), await start()];
  const channel = `${env.QUEUE_PREFIX}:bus`;
  for (const garbage of ['not json', '{"type":"event"}', '{"type":"cancel","id":5}', '[]', 'null', '{"type":"end"}', '{"type":"event","id":"x","seq":1,"event":null}']) {
    assert.equal(await admin.publish(channel, garbage), 2, 'both gateways listen');
  }
  const { id } = await submit(g1.url, SHORT_CLIP);
  const done = await until(g2.url, id, 'succeeded');
  assert.match(done.result.text.toLowerCase(), /\bman\b/);
  for (const g of [g1, g2]) {
    assert.equal(g.process.exitCode, null, 'still running');
    assert.equal((await fetch(`${g.url}/api/health`)).status, 200);
    assert.deepEqual(g.bugs(), []);
  }
});

test('after the bus reconnects, a request waiting for its job reads Redis once more, not in a loop', async () => {
  const { start } = deployment();
  const g = await start();
  const waiting = fetch(`${g.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(longClip), { model: 'base' }, 'long.flac') });
  await waitFor('the job to run', async () => (await listJobs(g.url)).some((j) => j.status === 'running'), 60_000);
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'); // the gateway's subscriber reconnects and tells its readers to resync
  await new Promise((r) => setTimeout(r, 1000));
  const before = await calls('hgetall');
  await new Promise((r) => setTimeout(r, 2000));
  const reads = (await calls('hgetall')) - before;
  assert.ok(reads < 50, `${reads} job reads in 2 s while one request waits`);
  const answer = await waiting;
  assert.equal(answer.status, 200, 'and the request still gets its result');
});

test('a job deleted while a request waits on it: that request gets 404, not 500', async () => {
  const { env, start } = deployment();
  const g = await start();
  const waiting = fetch(`${g.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(longClip), { model: 'tiny.en' }, 'long.flac') });
  const id = (await waitFor('the job to run', async () => (await listJobs(g.url)).find((j) => j.status === 'running'), 60_000)).id;
  // As another gateway's DELETE does the moment the job has finished there: the record goes, and readers hear the end.
  const store = await RedisStore.connect(redis.url, { prefix: env.QUEUE_PREFIX });
  try {
    await store.delete(id);
  } finally {
    await store.close();
  }
  await admin.publish(`${env.QUEUE_PREFIX}:bus`, JSON.stringify({ type: 'end', id }));
  const answer = await waiting;
  assert.equal(answer.status, 404, await answer.clone().text());
  assert.equal((await answer.json()).error.code, 'not_found');
  assert.deepEqual(g.bugs(), []);
});

test('a gateway killed between storing a job and queueing it: the job runs after the restart, and stops counting against the key', async () => {
  const { env, start } = deployment();
  // What such a gateway leaves: the record, queued, and its audio; nothing in the queue.
  const id = randomUUID();
  const audio = path.join(env.DATA_DIR, 'audio', id);
  mkdirSync(path.dirname(audio), { recursive: true });
  copyFileSync(SHORT_CLIP, audio);
  const store = await RedisStore.connect(redis.url, { prefix: env.QUEUE_PREFIX });
  try {
    await store.create(id, { model: 'tiny.en', options: {}, filename: 'stranded.wav', audio_bytes: statSync(audio).size, callback_url: null, source: 'jobs', owner: 'alice' }, audio);
  } finally {
    await store.close();
  }
  const g = await start(undefined, { API_KEYS: 'alice:sk-alice-stranded', MAX_JOBS_PER_KEY: '1' });
  const headers = { authorization: 'Bearer sk-alice-stranded' };
  const done = await waitFor('the stranded job to run', async () => {
    const now = await (await fetch(`${g.url}/api/jobs/${id}`, { headers })).json();
    return now.status === 'succeeded' ? now : null;
  }, 60_000).catch((e) => {
    throw new Error(`${e.message}\n${g.log()}`);
  });
  assert.match(done.result.text.toLowerCase(), /\bman\b/);
  const next = await fetch(`${g.url}/api/jobs`, { method: 'POST', headers, body: form(await openAsBlob(SHORT_CLIP), { model: 'tiny.en' }) });
  assert.equal(next.status, 202, 'the key has room again');
  assert.deepEqual(readdirSync(path.join(env.DATA_DIR, 'audio')).filter((f) => f === id), [id], 'a succeeded job\'s audio is kept (KEEP_AUDIO)');
  assert.equal((await fetch(`${g.url}/api/jobs/${id}/audio`, { headers })).status, 200, 'and any gateway sharing DATA_DIR plays it');
});

test('the retry rule is the same on SQLite and on Redis: a lost data link is tried again elsewhere; three lost, and the job fails saying so', async () => {
  const dropping = await startFakeWorker({ dropData: true });
  const good = await startFakeWorker();
  try {
    for (const mode of ['sqlite', 'redis'] as const) {
      const env: Record<string, string> = mode === 'redis' ? deployment().env : { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'retry-')) };
      const pair = await startGatewayProcess({ ...env, WHISPER_WORKERS: [dropping.address, good.address].join(',') });
      gateways.push(pair);
      const lone = await startGatewayProcess({ ...env, ...(mode === 'redis' && { QUEUE_PREFIX: `${env.QUEUE_PREFIX}-lone` }), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'retry-')), WHISPER_WORKERS: dropping.address });
      gateways.push(lone);
      const savedId = (await submit(pair.url, SHORT_CLIP)).id;
      const saved = await until(pair.url, savedId, 'succeeded', 60_000).catch(async (e) => {
        throw new Error(`${mode}: ${e.message}: ${JSON.stringify(await job(pair.url, savedId))}\n${pair.log()}`);
      });
      const lost = await until(lone.url, (await submit(lone.url, SHORT_CLIP)).id, 'failed', 60_000);
      assert.deepEqual(
        { saved: saved.attempts, lostAttempts: lost.attempts, lostCode: lost.error.code, lostMessage: /failed in 3 attempts/.test(lost.error.message) },
        { saved: 2, lostAttempts: 3, lostCode: 'no_worker', lostMessage: true },
        mode,
      );
      await pair.kill();
      await lone.kill();
    }
  } finally {
    await dropping.close();
    await good.close();
  }
});
