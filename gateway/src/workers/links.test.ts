// The worker link: control traffic on its own connection, never behind audio;
// a data link that breaks fails only its job's attempt.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDispatch, type LocalDispatch } from '../dispatch/index.ts';
import { form, startGateway } from '../../../test-support/gateway.ts';
import { waitFor } from '../../../test-support/wait.ts';
import type { WorkerPool } from './pool.ts';
import { startFakeWorker } from '../../test/fake-worker.ts';

const BIG = 16 << 20;
const dir = mkdtempSync(path.join(tmpdir(), 'links-'));
const big = path.join(dir, 'big.bin');
writeFileSync(big, Buffer.alloc(BIG, 7));
const small = path.join(dir, 'small.bin');
writeFileSync(small, Buffer.alloc(64 << 10, 7));
after(() => rmSync(dir, { recursive: true, force: true }));
const fast = { pollIntervalMs: 100, noWorkerGraceMs: 500, connectTimeoutMs: 500, statusTimeoutMs: 500 };

/** Every change of state of the pool's workers from now on, as 'address from->to'. */
function transitions(pool: WorkerPool): string[] {
  const seen: string[] = [];
  pool.subscribe((worker, from) => {
    if (worker.state !== from) seen.push(`${worker.address} ${from}->${worker.state}`);
  });
  return seen;
}

test('a status poll is answered while a large upload is still being written on a data link', async () => {
  const worker = await startFakeWorker({ readBytesPerSecond: 4 << 20 }); // 16 MiB: about 4 s, 8 status timeouts
  const system = createDispatch({ workers: [worker.address], ...fast });
  await system.directory.ready();
  const seen = transitions(system.pool);
  try {
    const result = await system.dispatcher.submit({ model: 'base', options: {}, audioPath: big, audioBytes: BIG }).result();
    assert.match(result.text, /^done /);
    assert.deepEqual(worker.audioBytes, [BIG]);
    const upload = worker.uploads[0]!;
    const answered = worker.statusAnswered.filter((t) => t > upload.start && t < upload.end!).length;
    console.log(`upload ${upload.end! - upload.start} ms; ${answered} status polls answered meanwhile`);
    assert.ok(upload.end! - upload.start > 4 * fast.statusTimeoutMs, `the upload was slow enough to matter (${upload.end! - upload.start} ms)`);
    assert.ok(answered >= 5, `status polls went on during the upload (${answered})`);
    assert.deepEqual(seen, [], 'the worker stayed ready throughout');
  } finally {
    await system.close();
    await worker.close();
  }
});

test('a data link dropped mid-job: the job runs again on another worker, and the first is not marked down', async () => {
  const dropping = await startFakeWorker({ dropData: true, loaded: ['base'] }); // preferred: it has the model
  const other = await startFakeWorker();
  const gateway = await startGateway([dropping.address, other.address]);
  const seen = transitions((gateway.dispatch as LocalDispatch).pool);
  try {
    const { id } = await (await fetch(`${gateway.url}/api/jobs`, { method: 'POST', body: form(new Blob([readFileSync(small)]), { model: 'base' }) })).json();
    const done = await waitFor('the job to succeed', async () => {
      const job = await (await fetch(`${gateway.url}/api/jobs/${id}`)).json();
      return job.status === 'succeeded' ? job : null;
    });
    assert.match(done.result.text, /^done /);
    assert.equal(done.attempts, 2);
    const events = await (await fetch(`${gateway.url}/api/jobs/${id}/events`)).text();
    const started = [...events.matchAll(/event: started\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!));
    assert.deepEqual(started, [{ worker: dropping.address, attempt: 1 }, { worker: other.address, attempt: 2 }]);
    assert.equal(dropping.dropped.length, 1);
    assert.equal(other.transcriptions.length, 1);
    assert.deepEqual(seen, [], 'no worker changed state');
    assert.equal(dropping.controlConnections, 1, 'its control link was never replaced');
    assert.equal(gateway.dispatch.directory.workers().find((w) => w.address === dropping.address)!.up, true);
  } finally {
    await gateway.close();
    await dropping.close();
    await other.close();
  }
});
