// Several gateways on one Redis (QUEUE_URL), as processes over real HTTP with
// real workers: jobs go wherever there is a free slot, any gateway answers for
// any job, a shared worker is never sent more than its slots, and no job is
// lost when a gateway is killed or stopped or when Redis itself goes away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWorker, CLIP, SHORT_CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test-support/gateway-process.ts';
import { startRedis, type RedisServer } from '../../test-support/redis.ts';
import { submit, job, until, readEvents } from '../../test-support/jobs-client.ts';
import { form } from '../../test-support/gateway.ts';
import { waitFor } from '../../test-support/wait.ts';

let redis: RedisServer;
let twoSlots: RunningWorker;
let oneSlot: RunningWorker;
let longClip: string; // ~35 s: long enough to stop a gateway or Redis under it
let longerClip: string; // 150 s: still running while a second gateway starts, on any machine
const gateways: GatewayProcess[] = [];

before(async () => {
  redis = await startRedis({ appendonly: true });
  [twoSlots, oneSlot] = await Promise.all([startWorker({ WHISPER_SLOTS: '2' }), startWorker({ WHISPER_SLOTS: '1' })]);
  longClip = path.join(mkdtempSync(path.join(tmpdir(), 'long-')), 'long.wav');
  execFileSync('sox', [CLIP, CLIP, CLIP, CLIP, CLIP, longClip]);
  longerClip = path.join(path.dirname(longClip), 'longer.wav');
  execFileSync('sox', [...Array(5).fill(longClip), longerClip, 'trim', '0', '150']);
});
after(async () => {
  for (const g of gateways) await g.kill();
  await Promise.all([twoSlots?.stop(), oneSlot?.stop()]);
  await redis?.stop();
});

/** Gateways of one deployment: one Redis prefix and one DATA_DIR that all of them mount. */
function deployment(lockSeconds = 3) {
  const shared = { QUEUE_URL: redis.url, QUEUE_PREFIX: `t${randomUUID().slice(0, 8)}`, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'shared-data-')), QUEUE_LOCK_SECONDS: String(lockSeconds) };
  return async (workers: RunningWorker[], env: Record<string, string> = {}) => {
    const g = await startGatewayProcess({ ...shared, WHISPER_WORKERS: workers.map((w) => w.address).join(','), ...env });
    gateways.push(g);
    return g;
  };
}

const startedOn = async (url: string, id: string) =>
  (await readEvents(await fetch(`${url}/api/jobs/${id}/events`))).filter((e) => e.event === 'started').map((e) => e.data.worker as string);

test('three gateways: jobs sent to one run wherever a slot is free, and any gateway answers for any job', async () => {
  const gateway = deployment();
  const [g1, g2, g3] = [await gateway([oneSlot]), await gateway([twoSlots]), await gateway([twoSlots])];
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await submit(g1.url, CLIP)).id);
  // Follow the first job on g1 until it starts, then resume on g3 from the last event seen.
  const seen = await readEvents(await fetch(`${g1.url}/api/jobs/${ids[0]}/events`), (e) => e.event === 'started');
  const rest = await readEvents(await fetch(`${g3.url}/api/jobs/${ids[0]}/events`, { headers: { 'last-event-id': String(seen.at(-1)!.id) } }));
  assert.deepEqual([...seen, ...rest].map((e) => e.id), [...seen, ...rest].map((_, i) => i + 1), 'resumed on another gateway with no gap and no repeat');
  assert.equal(rest.at(-1)!.event, 'result');

  const workers = new Set<string>();
  for (const id of ids) {
    const done = await until(g2.url, id, 'succeeded');
    assert.equal(done.attempts, 1);
    assert.match(done.result.text.toLowerCase(), /dashwood/);
    for (const w of await startedOn(g3.url, id)) workers.add(w);
  }
  assert.deepEqual([...workers].sort(), [oneSlot.address, twoSlots.address].sort(), 'jobs sent to g1 ran on its worker and on the others\' too');
  const listed = await (await fetch(`${g3.url}/api/jobs?limit=10`)).json();
  assert.deepEqual(listed.jobs.map((j: { id: string }) => j.id), [...ids].reverse(), 'every gateway lists every job, newest first');
  assert.equal((await fetch(`${g2.url}/api/jobs/${ids[1]}`, { method: 'DELETE' })).status, 204);
  assert.equal((await fetch(`${g1.url}/api/jobs/${ids[1]}`)).status, 404, 'deleted on one gateway, gone on all');
  assert.match(await (await fetch(`${g3.url}/api/jobs/${ids[2]}/result?format=srt`)).text(), /^1\n00:00:00,000 --> /);
});

test('two gateways sharing a worker of 2 slots never run more than 2 jobs on it at once, and none fails for it', async () => {
  const gateway = deployment();
  const [g1, g2] = [await gateway([twoSlots]), await gateway([twoSlots])];
  const submitted = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(i % 2 ? g2.url : g1.url, i % 3 ? SHORT_CLIP : CLIP)));
  const done = await Promise.all(submitted.map((s) => until(g1.url, s.id, 'succeeded')));
  for (const d of done) assert.equal(d.attempts, 1);
  // Wall-clock intervals on the worker never overlap more than 2 deep (by the order of the gateways' own marks,
  // not by how long a job waited inside the worker: on a loaded machine that is no measure of oversending).
  const spans = done.map((d) => [Date.parse(d.started_at), Date.parse(d.finished_at)] as const);
  const deepest = Math.max(...spans.map(([s]) => spans.filter(([a, b]) => a <= s + 50 && s < b - 50).length));
  assert.ok(deepest <= 2, `${deepest} jobs ran at once on a worker of 2 slots`);
  const ran = await Promise.all([g1, g2].map(async (g) => Number(/whisper_jobs_total\{status="succeeded"\} (\d+)/.exec(await (await fetch(`${g.url}/metrics`)).text())?.[1])));
  assert.equal(ran[0]! + ran[1]!, 8, `each job ran once, on one gateway (${ran})`);
});

test('a gateway killed with SIGKILL mid-job: another takes the job over and finishes it once, its attempt counted', async () => {
  const gateway = deployment(5); // a lock that is not a multiple of 3 s: the stalled check runs every lock/3, in whole ms
  const g1 = await gateway([twoSlots]);
  const long = await submit(g1.url, longerClip);
  await until(g1.url, long.id, 'running');
  const g2 = await gateway([twoSlots]); // after the job started on g1, so that it surely runs there
  const seen = await readEvents(await fetch(`${g1.url}/api/jobs/${long.id}/events`), (e) => e.event === 'segment');
  await g1.kill('SIGKILL');
  assert.equal((await job(g2.url, long.id)).status, 'running', 'killed while the job ran');
  const rest = await readEvents(await fetch(`${g2.url}/api/jobs/${long.id}/events`, { headers: { 'last-event-id': String(seen.at(-1)!.id) } }));
  const again = rest.find((e) => e.event === 'started');
  assert.equal(again?.data.attempt, 2, `the second attempt is announced: ${JSON.stringify(rest.map((e) => [e.id, e.event, e.data.attempt ?? e.data.id]))}`);
  const segments = [...seen, ...rest].filter((e) => e.event === 'segment').map((e) => e.data.id);
  assert.deepEqual(segments, [...new Set(segments)].sort((a, b) => a - b), 'no segment twice, none out of order');
  const done = await job(g2.url, long.id);
  assert.deepEqual([done.status, done.attempts], ['succeeded', 2]);
  assert.equal(done.result.segments.length, segments.length, 'the result holds every segment once');
});

test('Redis stops mid-run: new work gets 503 naming Redis, health says so, the running job is kept, all recovers', async () => {
  const gateway = deployment(15); // a lock that outlasts the outage: the job stays with its gateway
  const g1 = await gateway([twoSlots]);
  const long = await submit(g1.url, longClip);
  await until(g1.url, long.id, 'running');
  await redis.stop();
  try {
    const refused = await waitFor('a submit to be refused', async () => {
      const r = await fetch(`${g1.url}/api/jobs`, { method: 'POST', body: form(await openAsBlob(SHORT_CLIP)) });
      return r.status === 503 ? r : null;
    });
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.match((await refused.json()).error.message, /Redis at 127\.0\.0\.1:\d+\/0 is unreachable/);
    const health = await fetch(`${g1.url}/api/health`);
    assert.equal(health.status, 503);
    const body = await health.json();
    assert.equal(body.storage.backend, 'redis');
    assert.match(body.storage.error, /Redis/);
    assert.equal((await fetch(`${g1.url}/api/jobs/${long.id}`)).status, 503, 'reads fail fast too, rather than hang');
  } finally {
    await redis.start();
  }
  const done = await until(g1.url, long.id, 'succeeded');
  assert.equal(done.attempts, 1, 'it ran through the outage, once');
  assert.match(done.result.text.toLowerCase(), /dashwood/);
  const events = await readEvents(await fetch(`${g1.url}/api/jobs/${long.id}/events`));
  assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1), 'no event lost during the outage');
  const after = await submit(g1.url, SHORT_CLIP);
  assert.equal((await until(g1.url, after.id, 'succeeded')).attempts, 1);
  assert.equal((await fetch(`${g1.url}/api/health`)).status, 200);
});

test('SIGTERM (a rolling deploy): the running job is handed back and another gateway finishes it; none is lost', async () => {
  const gateway = deployment();
  const g1 = await gateway([oneSlot], { SHUTDOWN_GRACE_SECONDS: '0' });
  const long = await submit(g1.url, longClip);
  const waiting = await submit(g1.url, SHORT_CLIP);
  await until(g1.url, long.id, 'running');
  // Killed at once, and the next gateway started after: a gateway's start takes seconds on a loaded machine,
  // in which the long job could finish on the first one and never be handed back.
  assert.equal(await g1.kill('SIGTERM'), 0, `exit code 0\n${g1.log()}`);
  const g2 = await gateway([twoSlots]);
  const done = await until(g2.url, long.id, 'succeeded');
  assert.equal(done.attempts, 2, 'handed back, and run again from the start');
  assert.match(done.result.text.toLowerCase(), /dashwood/);
  assert.equal((await until(g2.url, waiting.id, 'succeeded')).status, 'succeeded');
});

test('the rate limit is the deployment\'s: requests to either gateway count against one limit', async () => {
  const gateway = deployment();
  const [g1, g2] = [await gateway([twoSlots], { RATE_LIMIT_PER_MINUTE: '3' }), await gateway([twoSlots], { RATE_LIMIT_PER_MINUTE: '3' })];
  const statuses = [];
  for (const g of [g1, g2, g1, g2]) statuses.push((await fetch(`${g.url}/api/jobs`)).status);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
});
