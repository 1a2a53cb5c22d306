// Scheduling, cancellation and worker state, against scripted fake workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createJobSystem } from './index.ts';
import { JobFailure, type JobSpec } from './types.ts';
import { startFakeWorker } from '../../test/fake-worker.ts';
import { waitFor } from '../../../test-support/wait.ts';

const audio = path.join(mkdtempSync(path.join(tmpdir(), 'fake-')), 'a.bin');
writeFileSync(audio, Buffer.alloc(3 << 20, 7)); // 3 MiB: several socket writes, so backpressure is exercised
const spec = (model = 'tiny.en'): JobSpec => ({ model, options: {}, audioPath: audio, audioBytes: 3 << 20 });
const fast = { pollIntervalMs: 100, noWorkerGraceMs: 500, connectTimeoutMs: 500, statusTimeoutMs: 500 };

test('jobs wait in the gateway and go to a worker only when it has a free slot', async () => {
  const worker = await startFakeWorker({ slots: 1, transcribeMs: 150 });
  const system = createJobSystem({ workers: [worker.address], ...fast });
  await system.directory.ready();
  try {
    const jobs = [system.queue.submit(spec()), system.queue.submit(spec()), system.queue.submit(spec())];
    await waitFor('the first job to start', () => worker.transcriptions.length === 1);
    assert.deepEqual(system.queue.counts(), { waiting: 2, running: 1 });
    const results = await Promise.all(jobs.map((j) => j.result()));
    assert.equal(results.length, 3);
    assert.deepEqual(worker.audioBytes, [3 << 20, 3 << 20, 3 << 20]); // every byte of each file arrived
  } finally {
    await system.close();
    await worker.close();
  }
});

test('a worker with the model loaded is preferred', async () => {
  const cold = await startFakeWorker({ slots: 1, loaded: [] });
  const warm = await startFakeWorker({ slots: 1, loaded: ['base'] });
  const system = createJobSystem({ workers: [cold.address, warm.address], ...fast });
  await system.directory.ready();
  try {
    await system.queue.submit(spec('base')).result();
    assert.equal(warm.transcriptions.length, 1);
    assert.equal(cold.transcriptions.length, 0);
  } finally {
    await system.close();
    await cold.close();
    await warm.close();
  }
});

test('cancel: a waiting job leaves the queue, a running one is cancelled on the worker', async () => {
  const worker = await startFakeWorker({ slots: 1, transcribeMs: 5000 });
  const system = createJobSystem({ workers: [worker.address], ...fast });
  await system.directory.ready();
  try {
    const running = system.queue.submit(spec());
    const controller = new AbortController();
    const waiting = system.queue.submit(spec(), controller.signal);
    await waitFor('the first job to run on the worker', () => worker.transcriptions.length === 1);
    controller.abort();
    await assert.rejects(waiting.result(), (e: JobFailure) => e.code === 'cancelled');
    running.cancel();
    await assert.rejects(running.result(), (e: JobFailure) => e.code === 'cancelled');
    assert.equal(worker.cancelled.length, 1);
    assert.equal(worker.transcriptions.length, 1);
  } finally {
    await system.close();
    await worker.close();
  }
});

test('a worker that stops answering is marked down; jobs then fail with no_worker', async () => {
  const silent = await startFakeWorker({ answerStatus: false });
  const system = createJobSystem({ workers: [silent.address], ...fast });
  await system.directory.ready();
  try {
    const [view] = system.directory.workers();
    assert.equal(view!.up, false);
    assert.match(view!.error!, /did not answer 'status'/);
    await assert.rejects(system.queue.submit(spec()).result(), (e: JobFailure) => e.code === 'no_worker' && e.message.includes(silent.address));
  } finally {
    await system.close();
    await silent.close();
  }
});

test('a worker that comes back is taken back', async () => {
  const first = await startFakeWorker();
  const port = first.port;
  const system = createJobSystem({ workers: [first.address], ...fast });
  await system.directory.ready();
  try {
    assert.equal(system.directory.workers()[0]!.up, true);
    await first.close();
    await waitFor('the worker to be marked down', () => !system.directory.workers()[0]!.up);
    const again = await startFakeWorker({}, port);
    try {
      await waitFor('the worker to be taken back', () => system.directory.workers()[0]!.up);
      assert.match((await system.queue.submit(spec()).result()).text, /^done /);
    } finally {
      await again.close();
    }
  } finally {
    await system.close();
  }
});
