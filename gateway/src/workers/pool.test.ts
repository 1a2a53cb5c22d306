// A host name with several addresses counts as several workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool, splitAddress } from './pool.ts';
import { startFakeWorker } from '../../test/fake-worker.ts';
import { waitFor } from '../../../test-support/wait.ts';

const options = { connectTimeoutMs: 500, statusTimeoutMs: 500, pollIntervalMs: 100, resolveIntervalMs: 60_000, maxBackoffMs: 500, lostAfterMs: 60_000 };

test('each address of a name is its own worker, and is looked up again', async () => {
  const fake = await startFakeWorker(); // listens on 127.0.0.1 only
  let answer = ['127.0.0.1', '127.0.0.2'];
  const pool = new WorkerPool({ ...options, resolveIntervalMs: 200, workers: [`workers.internal:${fake.port}`], lookup: async () => answer });
  try {
    await pool.ready();
    const views = pool.workers();
    assert.deepEqual(views.map((w) => w.address).sort(), [`workers.internal(127.0.0.1):${fake.port}`, `workers.internal(127.0.0.2):${fake.port}`]);
    assert.deepEqual(views.map((w) => w.up).sort(), [false, true]);
    answer = ['127.0.0.1'];
    await waitFor('the second address to leave the pool', () => pool.workers().length === 1 && pool.workers()[0]!.up);
    assert.deepEqual(pool.workers().map((w) => [w.address, w.up]), [[`workers.internal:${fake.port}`, true]]);
  } finally {
    pool.close();
    await fake.close();
  }
});

test('host:port parsing', () => {
  assert.deepEqual(splitAddress('gpu-1.local:9000'), { host: 'gpu-1.local', port: 9000 });
  assert.deepEqual(splitAddress('[::1]:9000'), { host: '::1', port: 9000 });
  assert.throws(() => splitAddress('no-port'), /not host:port/);
});

/** Every change of state of the pool's workers, as 'from->to'. */
function transitions(pool: WorkerPool): string[] {
  const seen: string[] = [];
  pool.subscribe((worker, from) => {
    if (worker.state !== from) seen.push(`${from}->${worker.state}`);
  });
  return seen;
}

test('a worker whose control link dies is marked down once, and taken back when it answers again', async () => {
  const fake = await startFakeWorker();
  const pool = new WorkerPool({ ...options, workers: [fake.address] });
  const seen = transitions(pool);
  try {
    await pool.ready();
    const [worker] = pool.list();
    assert.equal(worker!.state, 'ready');
    assert.deepEqual(seen.splice(0), ['connecting->ready']);

    fake.drop('control'); // the link closes under the gateway
    await waitFor('the worker to be taken back', () => seen.includes('connecting->ready'));
    assert.deepEqual(seen, ['ready->down', 'down->connecting', 'connecting->ready']);
    assert.equal(worker!.downs, 1);
    assert.equal(fake.controlConnections, 2);

    // A status that times out: the gateway closes the link itself, and that close is the same failure, not a second one.
    seen.length = 0;
    let reason = '';
    pool.subscribe((w) => {
      if (w.state !== 'down') return;
      reason = w.error!;
      fake.answerStatus = true; // answers again from the next try on
    });
    fake.answerStatus = false;
    await waitFor('the worker to be taken back again', () => seen.includes('connecting->ready'));
    assert.deepEqual(seen, ['ready->down', 'down->connecting', 'connecting->ready']);
    assert.match(reason, /did not answer 'status' within 500 ms/);
    assert.equal(worker!.downs, 2);
  } finally {
    pool.close();
    await fake.close();
  }
});

test('a live stream\'s link: on the ready worker best placed for its model, its slot counted while the worker says it holds one', async () => {
  const loaded = await startFakeWorker({ slots: 1, loaded: ['base'] });
  const roomy = await startFakeWorker({ slots: 4 });
  const pool = new WorkerPool({ ...options, workers: [loaded.address, roomy.address] });
  try {
    await pool.ready();
    const link = await pool.streamLink('base');
    assert.equal(link.worker, loaded.address, 'the model loaded counts before free slots');
    assert.equal(link.maxAudioFrame, 1 << 20, 'the frame limit of its status');
    assert.equal((await pool.streamLink('tiny.en')).worker, roomy.address, 'then the most free slots');
    assert.equal((await pool.streamLink('base', new Set([loaded.address]))).worker, roomy.address, 'not where the session lost its last stream');

    const worker = pool.list().find((w) => w.address === loaded.address)!;
    const told: number[] = [];
    pool.subscribe((w) => w === worker && told.push(w.busy));
    link.slot(true);
    link.slot(true); // a repeat changes nothing
    assert.deepEqual([worker.busy, worker.freeSlots], [1, 0]);
    link.slot(false);
    assert.deepEqual([worker.busy, told], [0, [0]], 'a slot given back is news to the scheduler');
    link.slot(true);
    link.release();
    link.slot(true); // news after release: ignored
    assert.equal(worker.busy, 0, 'release gives a held slot back');

    await loaded.close();
    await roomy.close();
    await waitFor('both workers to be down', () => pool.list().every((w) => w.state !== 'ready'));
    await assert.rejects(pool.streamLink('base'), (e: Error & { code?: string }) => e.code === 'no_worker' && /No Whisper worker is reachable/.test(e.message));
  } finally {
    pool.close();
    await loaded.close();
    await roomy.close();
  }
});
