// Scheduling, cancellation and worker state, against scripted fake workers.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDispatch } from './index.ts';
import { JobFailure, type JobEvent, type JobHandle, type JobSpec } from './types.ts';
import { startFakeWorker } from '../../test/fake-worker.ts';
import { waitFor } from '../../../test-support/wait.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'fake-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const audio = path.join(dir, 'a.bin');
writeFileSync(audio, Buffer.alloc(3 << 20, 7)); // 3 MiB: several socket writes, so backpressure is exercised
const spec = (model = 'tiny.en'): JobSpec => ({ model, options: {}, audioPath: audio, audioBytes: 3 << 20 });
const fast = { pollIntervalMs: 100, noWorkerGraceMs: 500, connectTimeoutMs: 500, statusTimeoutMs: 500 };

/** The job's next event of that type (events are kept, so none is missed). */
async function next(job: JobHandle, type: JobEvent['type']): Promise<JobEvent> {
  for await (const event of job.events()) if (event.type === type) return event;
  throw new Error(`the job ended without '${type}'`);
}

test('jobs wait in the gateway and go to a worker only when it has a free slot', async () => {
  const worker = await startFakeWorker({ slots: 1, transcribeMs: 150 });
  const system = createDispatch({ workers: [worker.address], ...fast });
  await system.directory.ready();
  try {
    const jobs = [system.dispatcher.submit(spec()), system.dispatcher.submit(spec()), system.dispatcher.submit(spec())];
    await waitFor('the first job to start', () => worker.transcriptions.length === 1);
    assert.deepEqual(system.dispatcher.counts(), { waiting: 2, running: 1 });
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
  const system = createDispatch({ workers: [cold.address, warm.address], ...fast });
  await system.directory.ready();
  try {
    await system.dispatcher.submit(spec('base')).result();
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
  const system = createDispatch({ workers: [worker.address], ...fast });
  await system.directory.ready();
  try {
    const running = system.dispatcher.submit(spec());
    const controller = new AbortController();
    const waiting = system.dispatcher.submit(spec(), controller.signal);
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
  const system = createDispatch({ workers: [silent.address], ...fast });
  await system.directory.ready();
  try {
    const [view] = system.directory.workers();
    assert.equal(view!.up, false);
    assert.match(view!.error!, /did not answer 'status'/);
    await assert.rejects(system.dispatcher.submit(spec()).result(), (e: JobFailure) => e.code === 'no_worker' && e.message.includes(silent.address));
  } finally {
    await system.close();
    await silent.close();
  }
});

test('a worker that comes back is taken back', async () => {
  const first = await startFakeWorker();
  const port = first.port;
  const system = createDispatch({ workers: [first.address], ...fast });
  await system.directory.ready();
  try {
    assert.equal(system.directory.workers()[0]!.up, true);
    await first.close();
    await waitFor('the worker to be marked down', () => !system.directory.workers()[0]!.up);
    const again = await startFakeWorker({}, port);
    try {
      await waitFor('the worker to be taken back', () => system.directory.workers()[0]!.up);
      assert.match((await system.dispatcher.submit(spec()).result()).text, /^done /);
    } finally {
      await again.close();
    }
  } finally {
    await system.close();
  }
});

test('dispatch needs no timer: a job starts when it arrives at a free slot, and the next when one ends', { timeout: 20_000 }, async (t) => {
  const worker = await startFakeWorker({ slots: 1, manual: true }); // transcriptions end on finish(), not on a timer
  // From here no timer fires: not the heartbeat, not any dispatch loop. Only events can move a job.
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const system = createDispatch({ workers: [worker.address], ...fast });
  t.after(async () => { // also when the test times out, which is how a dispatch that waits for a timer fails here
    await system.close();
    await worker.close();
  });
  await system.directory.ready();
  const first = system.dispatcher.submit(spec());
  const second = system.dispatcher.submit(spec());
  await next(first, 'info'); // the worker has its audio
  assert.deepEqual(system.dispatcher.counts(), { waiting: 1, running: 1 });
  worker.finish();
  assert.match((await first.result()).text, /^done /);
  await next(second, 'info');
  worker.finish();
  assert.match((await second.result()).text, /^done /);
  assert.equal(worker.transcriptions.length, 2);
});

test('attempts count on from a restart (previousAttempts 2: this is the third); a lost data link fails the attempt once, as worker_lost', async () => {
  const worker = await startFakeWorker({ dropData: true }); // every data link breaks once its audio is in
  const system = createDispatch({ workers: [worker.address], ...fast });
  await system.directory.ready();
  try {
    const job = system.dispatcher.submit({ ...spec(), id: 'job-from-the-store', previousAttempts: 2 });
    assert.equal(job.id, 'job-from-the-store');
    // Whether it is tried again is the job service's (jobs/retry.ts): the scheduler reports the attempt's end.
    await assert.rejects(job.result(), (e: JobFailure) => e.code === 'worker_lost');
    assert.deepEqual(await next(job, 'started'), { type: 'started', worker: worker.address, attempt: 3 });
    assert.deepEqual(worker.dropped, ['job-from-the-store/3']);
  } finally {
    await system.close();
    await worker.close();
  }
});

test('cancel while the audio is still being sent closes the data link; the worker stays up and takes the next job', async () => {
  const worker = await startFakeWorker({ readBytesPerSecond: 4 << 20 });
  const system = createDispatch({ workers: [worker.address], ...fast });
  await system.directory.ready();
  try {
    // 16 MiB at 4 MiB/s: more than the socket buffers hold, so the gateway is still writing when the cancel comes.
    const big = path.join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(16 << 20, 7));
    const job = system.dispatcher.submit({ ...spec(), audioPath: big, audioBytes: 16 << 20 });
    await waitFor('the upload to start', () => worker.uploads.length === 1);
    job.cancel();
    await assert.rejects(job.result(), (e: JobFailure) => e.code === 'cancelled');
    assert.deepEqual(worker.audioBytes, [], 'the upload was cut short');
    assert.equal(system.directory.workers()[0]!.up, true);
    const tiny = path.join(dir, 'tiny.bin');
    writeFileSync(tiny, 'x');
    assert.match((await system.dispatcher.submit({ model: 'base', options: {}, audioPath: tiny, audioBytes: 1 }).result()).text, /^done /);
  } finally {
    await system.close();
    await worker.close();
  }
});

test('a job pinned to a worker (its slot leased by the feed) runs there; pinned to one that is not ready, it fails once with worker_lost', async () => {
  const preferred = await startFakeWorker({ slots: 1, loaded: ['base'] });
  const leased = await startFakeWorker({ slots: 1, loaded: [] });
  const system = createDispatch({ workers: [preferred.address, leased.address], ...fast });
  await system.directory.ready();
  try {
    await system.dispatcher.submit({ ...spec('base'), worker: leased.address }).result();
    assert.deepEqual([preferred.transcriptions.length, leased.transcriptions.length], [0, 1], 'not the worker with the model: the one pinned');
    const lost = system.dispatcher.submit({ ...spec('base'), worker: '127.0.0.1:1' });
    await assert.rejects(lost.result(), (e: JobFailure) => e.code === 'worker_lost' && /127\.0\.0\.1:1 is not configured here/.test(e.message));
    assert.equal(preferred.transcriptions.length + leased.transcriptions.length, 1, 'not retried elsewhere: placing it again is the feed\'s');
  } finally {
    await system.close();
    await preferred.close();
    await leased.close();
  }
});
