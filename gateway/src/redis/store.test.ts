// The store contract against a real redis-server (one for the file, a prefix
// per storage, so tests never see each other's jobs), and what is particular
// to Redis: the URL, the start checks, and riding out an outage.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { storeContract } from '../jobs/store.contract.ts';
import type { JobRequest } from '../jobs/store.ts';
import { checkRedis, connectRedis, parseRedisUrl } from './connection.ts';
import { RedisStore } from './store.ts';
import { startRedis, type RedisOptions } from '../../../test-support/redis.ts';
import { freePort } from '../../../test-support/worker.ts';
import { waitFor } from '../../../test-support/wait.ts';

const server = await startRedis();
after(() => server.stop());

storeContract('redis', () => {
  const prefix = `test-${randomUUID()}`;
  return () => RedisStore.connect(server.url, { prefix });
});

const request: JobRequest = {
  model: 'base', options: { language: null, task: 'transcribe' }, filename: 'talk.wav', audio_bytes: 100, callback_url: null, source: 'jobs',
};

test('parseRedisUrl: host, port, db, credentials and TLS, with defaults', () => {
  assert.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost', port: 6379, db: 0, tls: false, label: 'localhost:6379/0' });
  assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6380/2'), { host: '10.0.0.5', port: 6380, db: 2, tls: false, label: '10.0.0.5:6380/2' });
  assert.deepEqual(parseRedisUrl('rediss://app:s%40cret@cache.example:6390/'), {
    host: 'cache.example', port: 6390, db: 0, tls: true, username: 'app', password: 's@cret', label: 'cache.example:6390/0',
  });
  assert.deepEqual(parseRedisUrl('redis://:pw@[::1]:7000/1'), { host: '::1', port: 7000, db: 1, tls: false, password: 'pw', label: '[::1]:7000/1' });
});

test('parseRedisUrl: anything else is refused, naming QUEUE_URL and never the password', () => {
  for (const [url, why] of [
    ['http://localhost:6379', /scheme http/],
    ['redis://localhost/abc', /database number "abc"/],
    ['redis://localhost/1/2', /database number/],
    ['redis://localhost/-1', /database number/],
    ['redis://localhost/0?tls=true', /query/],
    ['not a url', /not a URL/],
    ['redis://user:hunter2@localhost/x', /database number/],
  ] as const) {
    assert.throws(() => parseRedisUrl(url), (e: Error) => {
      assert.match(e.message, /^QUEUE_URL /);
      assert.match(e.message, why);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    }, url);
  }
});

async function check(options: RedisOptions) {
  const redis = await startRedis(options);
  const client = connectRedis(redis.url, 'check');
  try {
    return await checkRedis(client);
  } finally {
    await client.quit();
    await redis.stop();
  }
}

test('checkRedis: an evicting maxmemory-policy is an error that names the setting and the fix', async () => {
  const { errors } = await check({ maxmemoryPolicy: 'allkeys-lru', appendonly: true });
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /maxmemory-policy is allkeys-lru/);
  assert.match(errors[0]!, /maxmemory-policy noeviction/);
  assert.match(errors[0]!, /BullMQ loses jobs/);
});

test('checkRedis: appendonly off is a warning that says what is lost and the fix', async () => {
  const { errors, warnings } = await check({ appendonly: false });
  assert.deepEqual(errors, []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /appendonly is off/);
  assert.match(warnings[0]!, /lost if Redis restarts/);
  assert.match(warnings[0]!, /appendonly yes/);
});

test('checkRedis: noeviction with appendonly is all BullMQ needs', async () => {
  assert.deepEqual(await check({ appendonly: true, maxmemoryPolicy: 'noeviction' }), { errors: [], warnings: [] });
});

test('connect: nothing listening is a clear error within the timeout', async () => {
  const port = await freePort();
  await assert.rejects(RedisStore.connect(`redis://127.0.0.1:${port}/0`, { connectTimeoutMs: 1000 }), (e: Error) => {
    assert.match(e.message, new RegExp(`Redis at 127\\.0\\.0\\.1:${port}/0 is unreachable \\(.*ECONNREFUSED`));
    return true;
  });
});

test('health names Redis and its address while it is down, and clears when it is back', async () => {
  const redis = await startRedis();
  const store = await RedisStore.connect(redis.url, { prefix: 'health' });
  try {
    assert.equal(store.health(), null);
    await redis.stop();
    const problem = await waitFor('health to report the outage', () => store.health());
    assert.match(problem, new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port}/0 is (unreachable|not connected)`));
    await waitFor('health to say why', () => /ECONNREFUSED/.test(store.health() ?? ''));
    await redis.start();
    await waitFor('health to recover', () => store.health() === null);
    await store.create('after', request, '/a/after');
    assert.equal((await store.get('after'))!.status, 'queued');
  } finally {
    await store.close();
    await redis.stop();
  }
});

test('a write issued while Redis is down completes once it is back, and is kept', async () => {
  const redis = await startRedis({ appendonly: true });
  const store = await RedisStore.connect(redis.url, { prefix: 'outage' });
  try {
    await redis.stop();
    await waitFor('the store to notice the outage', () => store.health());
    let settled = false;
    const pending = store.create('offline', request, '/a/offline').finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false, 'the write waits for Redis instead of failing');
    await redis.start();
    const job = await pending;
    assert.deepEqual([job.id, job.status], ['offline', 'queued']);
  } finally {
    await store.close();
  }
  // A clean restart keeps it: it reached the AOF.
  await redis.stop();
  await redis.start();
  const again = await RedisStore.connect(redis.url, { prefix: 'outage' });
  try {
    assert.equal((await again.get('offline'))!.status, 'queued');
    assert.equal(await again.position('offline'), 1);
  } finally {
    await again.close();
    await redis.stop();
  }
});

test('delete leaves no index entry behind; a resent create returns its job, another job under the same id is refused', async () => {
  const prefix = `keys-${randomUUID()}`;
  const store = await RedisStore.connect(server.url, { prefix });
  const client = connectRedis(server.url, 'inspect');
  try {
    await store.create('k', { ...request, owner: 'alice' }, '/a/k');
    assert.deepEqual(await store.create('k', { ...request, owner: 'alice' }, '/a/k'), await store.get('k'));
    await assert.rejects(store.create('k', request, '/a/other'), /job k already exists/);
    await store.markRunning('k', 1);
    await store.appendEvent('k', { type: 'started', worker: 'w:1', attempt: 1 });
    await store.noteProgress('k', { processed: 1 });
    await store.finish('k', { status: 'failed', error: { code: 'x', message: 'y' } });
    await store.recordWebhook('k', { attempts: 1, delivered: true, last_status: 200, last_error: null, delivered_at: '2026-11-25T00:00:00.000Z' }, true);
    assert.ok((await client.keys(`${prefix}:*`)).length > 2);
    await store.delete('k');
    assert.deepEqual(await client.keys(`${prefix}:*`), [`${prefix}:seq`]);
    await store.noteProgress('k', { processed: 2 });
    await store.recordWebhook('k', { attempts: 2, delivered: false, last_status: 500, last_error: 'no', delivered_at: null }, false);
    assert.deepEqual(await client.keys(`${prefix}:*`), [`${prefix}:seq`], 'an update after delete does not bring the job back');
  } finally {
    await client.quit();
    await store.close();
  }
});
