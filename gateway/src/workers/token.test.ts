// WORKER_TOKEN on the worker link, against scripted workers: `hello` first on
// every connection, a worker that refuses it marked down with the reason, and
// its `unauthorized` never reaching a client. And what the link never passes
// on: the worker's file paths (list_models' `path`), the gateway's own.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from '../app.ts';
import { loadConfig } from '../config.ts';
import { fromJobError } from '../errors.ts';
import { createDispatch } from '../dispatch/index.ts';
import { JobFailure } from '../dispatch/types.ts';
import { startFakeWorker } from '../../test/fake-worker.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'token-'));
const audio = path.join(dir, 'audio.bin');
writeFileSync(audio, Buffer.alloc(1024, 7));
after(() => rmSync(dir, { recursive: true, force: true }));
const fast = { pollIntervalMs: 100, noWorkerGraceMs: 300, connectTimeoutMs: 500, statusTimeoutMs: 500 };

async function failure(promise: Promise<unknown>): Promise<JobFailure> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof JobFailure) return e;
    throw e;
  }
  throw new Error('the job succeeded');
}

test('with the right token every connection, control and data, begins with hello', async () => {
  const worker = await startFakeWorker({ token: 's3cret' });
  const system = createDispatch({ workers: [worker.address], workerToken: 's3cret', ...fast });
  try {
    await system.directory.ready();
    assert.equal(system.directory.workers()[0]!.up, true);
    const result = await system.dispatcher.submit({ model: 'base', options: {}, audioPath: audio, audioBytes: 1024 }).result();
    assert.match(result.text, /^done /);
    assert.deepEqual(worker.firstCommands, ['hello', 'hello'], 'the control link and the data link');
    assert.equal(worker.refused, 0);
  } finally {
    await system.close();
    await worker.close();
  }
});

for (const [gatewayToken, reason] of [
  ['wrong', /^the worker refused WORKER_TOKEN: set the same WORKER_TOKEN on the gateway and the worker$/],
  [null, /^the worker refused WORKER_TOKEN: it requires one and the gateway has none/],
] as const) {
  test(`a worker that refuses the gateway's token (${gatewayToken ?? 'none'}) is down with the reason, and its jobs fail as no_worker`, async () => {
    const worker = await startFakeWorker({ token: 's3cret' });
    const system = createDispatch({ workers: [worker.address], workerToken: gatewayToken, ...fast });
    try {
      await system.directory.ready();
      const [view] = system.directory.workers();
      assert.equal(view!.up, false);
      assert.match(view!.error!, reason);
      assert.equal(worker.firstCommands[0], gatewayToken ? 'hello' : 'status');
      const failed = await failure(system.dispatcher.submit({ model: 'base', options: {}, audioPath: audio, audioBytes: 1024 }).result());
      // The gateway's misconfiguration: a 503 for the client, never its 401.
      assert.equal(failed.code, 'no_worker');
      assert.match(failed.message, /the worker refused WORKER_TOKEN/);
      assert.equal(fromJobError(failed.code, failed.message).status, 503);
      assert.deepEqual(worker.transcriptions, []);
    } finally {
      await system.close();
      await worker.close();
    }
  });
}

test('a worker without a token accepts the hello of a gateway that has one', async () => {
  const worker = await startFakeWorker();
  const system = createDispatch({ workers: [worker.address], workerToken: 's3cret', ...fast });
  try {
    await system.directory.ready();
    assert.equal(system.directory.workers()[0]!.up, true);
    assert.deepEqual(worker.firstCommands, ['hello']);
  } finally {
    await system.close();
    await worker.close();
  }
});

test("/api/models and /api/health never pass on the worker's model paths", async () => {
  const worker = await startFakeWorker({ loaded: ['base'] }); // its list_models answers path: /models/<name>
  const jobs = createDispatch({ workers: [worker.address], ...fast });
  const app = await build({ config: loadConfig({ WEB_DIR: '/nonexistent', DATA_DIR: mkdtempSync(path.join(dir, 'data-')) }), dispatch: jobs, logger: false });
  try {
    await jobs.directory.ready();
    for (const url of ['/api/models', '/api/health', '/v1/models']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.ok(!response.body.includes('/models/') && !response.body.includes('"path"'), `${url}: ${response.body}`);
    }
    assert.ok((await app.inject({ method: 'GET', url: '/api/models' })).json().models.some((m: { name: string }) => m.name === 'base'));
  } finally {
    await app.close();
    await jobs.close();
    await worker.close();
  }
});

test("an upload that cannot be read fails its job without naming the gateway's file", async () => {
  const worker = await startFakeWorker();
  const system = createDispatch({ workers: [worker.address], ...fast });
  try {
    await system.directory.ready();
    const missing = path.join(dir, 'gone-secret.bin');
    const failed = await failure(system.dispatcher.submit({ model: 'base', options: {}, audioPath: missing, audioBytes: 10 }).result());
    assert.ok(!failed.message.includes('gone-secret') && !failed.message.includes(dir), failed.message);
    assert.match(failed.message, /ENOENT/);
  } finally {
    await system.close();
    await worker.close();
  }
});
