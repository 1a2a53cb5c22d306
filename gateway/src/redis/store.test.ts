// The store contract against a real redis-server (one for the file, a prefix
// per storage, so tests never see each other's jobs), and what is particular
// to Redis: the URL, the start checks, riding out an outage, the key layout
// deployments have stored, scripts that touch only the keys they are handed,
// and Redis Cluster with a hash-tagged prefix (the contract again, on a
// one-node Cluster).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { storeContract } from '../jobs/store.contract.ts';
import type { JobRequest } from '../jobs/store.ts';
import { checkRedis, connectRedis, parseRedisUrl } from './connection.ts';
import { RedisStore } from './store.ts';
import { lua } from './lua.ts';
import { startRedis, type RedisOptions } from '../../../test-support/redis.ts';
import { freePort } from '../../../test-support/worker.ts';
import { waitFor } from '../../../test-support/wait.ts';

const server = await startRedis();
after(() => server.stop());

// Every store a test opens is closed at the end too: a contract test that fails
// before its own close() must not leave a client that keeps the file running.
const opened: RedisStore[] = [];
after(() => Promise.all(opened.map((store) => store.close())));
const tracked = (store: RedisStore) => (opened.push(store), store);

storeContract('redis', () => {
  const prefix = `test-${randomUUID()}`;
  return async () => tracked(await RedisStore.connect(server.url, { prefix }));
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

// ——— The key layout. Deployments that upgrade must find their jobs where they
// left them: what the store writes under the default prefix, key by key, as it
// was before the scripts moved out of store.ts (taken from that code).

type StoreOutcome = Parameters<RedisStore['finish']>[1];
const tinyResult = (text: string, language: string, duration: number) =>
  ({ text, language, duration, segments: [] }) as unknown as Extract<StoreOutcome, { status: 'succeeded' }>['result'];

/** Jobs in every status, for every kind of owner, through every write the store has. */
async function lifecycle(store: RedisStore): Promise<void> {
  const hooked: JobRequest = { ...request, callback_url: 'http://hooks.example/done', owner: 'alice' };
  await store.create('a', hooked, '/a/a');
  await store.markRunning('a', 1);
  await store.requeue('a');
  await store.markRunning('a', 2);
  await store.noteProgress('a', { language: 'en', duration: 10, processed: 4 });
  await store.appendEvent('a', { type: 'started', worker: 'w:1', attempt: 2 });
  await store.finish('a', { status: 'succeeded', result: tinyResult('Hi.', 'en', 10) });
  await store.recordWebhook('a', { attempts: 1, delivered: false, last_status: 500, last_error: 'HTTP 500', delivered_at: null }, false);
  await store.claimWebhook('a', 60_000);
  await store.create('b', request, '/a/b');
  await store.finish('b', { status: 'cancelled', error: { code: 'cancelled', message: 'by request' } });
  await store.create('c', { ...request, owner: 'bob/ü?' }, '/a/c');
  await store.markRunning('c', 1);
  await store.create('d', request, '/a/d');
  await store.insertFinished('r', { ...request, owner: 'alice', source: 'realtime' }, { status: 'failed', error: { code: 'worker_lost', message: 'gone' } }, 1000);
  await store.insertFinished('r2', { ...request, source: 'realtime' }, { status: 'succeeded', result: tinyResult('Yo.', 'de', 3) }, 2000);
  await store.create('gone', hooked, '/a/gone');
  await store.appendEvent('gone', { type: 'started', worker: 'w:1', attempt: 1 });
  await store.markRunning('gone', 1);
  await store.delete('gone');
}

/** Every key under `prefix` with what it holds; times taken between t0 and t1 read 'now'. */
async function layout(client: Redis, prefix: string, t0: number, t1: number): Promise<Record<string, unknown>> {
  const when = (v: string) => (/^\d+$/.test(v) && Number(v) >= t0 && Number(v) <= t1 ? 'now' : v);
  const out: Record<string, unknown> = {};
  for (const key of (await client.keys(`${prefix}:*`)).sort()) {
    const type = await client.type(key);
    if (type === 'hash') out[key] = Object.fromEntries(Object.entries(await client.hgetall(key)).sort().map(([f, v]) => [f, when(v)]));
    else if (type === 'zset') out[key] = ((await client.call('ZRANGE', key, '0', '-1', 'WITHSCORES')) as unknown[]).flat().map(String).map(when) // flat: RESP3 pairs;
    else if (type === 'list') out[key] = await client.lrange(key, 0, -1);
    else out[key] = [type, await client.get(key)];
  }
  return out;
}

const requestJson = (extra: string, callback = 'null', source = 'jobs') =>
  `{"model":"base","options":{"language":null,"task":"transcribe"},"filename":"talk.wav","audio_bytes":100,"callback_url":${callback},"source":"${source}"${extra}}`;

// Written by the store before its scripts moved to ./scripts/*.lua (zsets: member, score, …).
const LAYOUT_BEFORE = {
  'whisper:all': ['a', '1', 'b', '2', 'c', '3', 'd', '4', 'r', '5', 'r2', '6'],
  'whisper:events:a': ['{"type":"started","worker":"w:1","attempt":2}'],
  'whisper:finished': ['a', 'now', 'b', 'now', 'r', 'now', 'r2', 'now'],
  'whisper:job:a': {
    attempts: '2', created_at: 'now', duration: '10', finished_at: 'now', id: 'a', language: 'en', n: '1', owner: 'YWxpY2U', processed: '4',
    request: requestJson(',"owner":"alice"', '"http://hooks.example/done"'),
    result: '{"text":"Hi.","language":"en","duration":10,"segments":[]}', started_at: 'now', status: 'succeeded',
    webhook: '{"attempts":1,"delivered":false,"last_status":500,"last_error":"HTTP 500","delivered_at":null}',
  },
  'whisper:job:b': {
    attempts: '0', created_at: 'now', error: '{"code":"cancelled","message":"by request"}', finished_at: 'now', id: 'b', n: '2', owner: '~',
    request: requestJson(''), status: 'cancelled',
  },
  'whisper:job:c': {
    attempts: '1', audio_path: '/a/c', created_at: 'now', id: 'c', n: '3', owner: 'Ym9iL8O8Pw', request: requestJson(',"owner":"bob/ü?"'), started_at: 'now', status: 'running',
  },
  'whisper:job:d': { attempts: '0', audio_path: '/a/d', created_at: 'now', id: 'd', n: '4', owner: '~', request: requestJson(''), status: 'queued' },
  'whisper:job:r': {
    attempts: '1', created_at: '1000', error: '{"code":"worker_lost","message":"gone"}', finished_at: 'now', id: 'r', n: '5', owner: 'YWxpY2U',
    request: requestJson(',"owner":"alice"', 'null', 'realtime'), started_at: '1000', status: 'failed',
  },
  'whisper:job:r2': {
    attempts: '1', created_at: '2000', duration: '3', finished_at: 'now', id: 'r2', language: 'de', n: '6', owner: '~', processed: '3',
    request: requestJson('', 'null', 'realtime'), result: '{"text":"Yo.","language":"de","duration":3,"segments":[]}', started_at: '2000', status: 'succeeded',
  },
  'whisper:owner:YWxpY2U': ['a', '1', 'r', '5'],
  'whisper:owner:YWxpY2U:failed': ['r', '5'],
  'whisper:owner:YWxpY2U:succeeded': ['a', '1'],
  'whisper:owner:Ym9iL8O8Pw': ['c', '3'],
  'whisper:owner:Ym9iL8O8Pw:running': ['c', '3'],
  'whisper:owner:~': ['b', '2', 'd', '4', 'r2', '6'],
  'whisper:owner:~:cancelled': ['b', '2'],
  'whisper:owner:~:queued': ['d', '4'],
  'whisper:owner:~:succeeded': ['r2', '6'],
  'whisper:seq': ['string', '7'],
  'whisper:status:cancelled': ['b', '2'],
  'whisper:status:failed': ['r', '5'],
  'whisper:status:queued': ['d', '4'],
  'whisper:status:running': ['c', '3'],
  'whisper:status:succeeded': ['a', '1', 'r2', '6'],
  'whisper:webhook-claim:a': ['string', '1'],
  'whisper:webhooks': ['a', '1'],
};

test('the default prefix: every key, field and score the store writes is as before (an upgraded deployment finds its jobs)', async () => {
  const redis = await startRedis();
  const store = await RedisStore.connect(redis.url); // no prefix: the default, QUEUE_PREFIX's too
  const client = connectRedis(redis.url, 'inspect');
  try {
    const t0 = Date.now();
    await lifecycle(store);
    const t1 = Date.now();
    assert.deepEqual(await layout(client, 'whisper', t0, t1), LAYOUT_BEFORE);
    assert.deepEqual((await client.keys('*')).sort(), Object.keys(LAYOUT_BEFORE).sort(), 'nothing outside the prefix');
    // The jobs read back as they were written, and deleting each status's job leaves nothing behind.
    assert.deepEqual((await store.list({ limit: 10 })).jobs.map((j) => [j.id, j.status]), [['r2', 'succeeded'], ['r', 'failed'], ['d', 'queued'], ['c', 'running'], ['b', 'cancelled'], ['a', 'succeeded']]);
    for (const id of ['a', 'b', 'c', 'd', 'r', 'r2']) await store.delete(id);
    assert.deepEqual(await layout(client, 'whisper', t0, t1), { 'whisper:seq': ['string', '7'], 'whisper:webhook-claim:a': ['string', '1'] });
  } finally {
    await client.quit();
    await store.close();
    await redis.stop();
  }
});

// ——— Every key a script touches is handed to it in KEYS (what Redis Cluster
// and proxies route by), but the job hashes job-fetch.lua reads from an index.
// MONITOR shows each EVAL/EVALSHA with its KEYS and then the commands its
// script ran (source `lua`); COMMAND GETKEYS says which arguments of those are keys.

const SCRIPT_FILES = readdirSync(new URL('./scripts/', import.meta.url)).filter((f) => f.endsWith('.lua')).map((f) => f.slice(0, -4));
const sha1 = (text: string | Buffer) => createHash('sha1').update(text).digest('hex');
const SCRIPT_BY_SHA = new Map(SCRIPT_FILES.map((file) => [sha1(lua(file).lua), file]));

/** A MONITOR argument as it was sent: Redis quotes it (sdscatrepr), ioredis only undoes \". */
function unquoted(arg: string): Buffer {
  const bytes: number[] = [];
  const escapes: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8, '\\': 92, '"': 34 };
  for (let i = 0; i < arg.length; i++) {
    if (arg[i] !== '\\') bytes.push(...Buffer.from(arg[i]!));
    else if (arg[i + 1] === 'x') (bytes.push(Number.parseInt(arg.slice(i + 2, i + 4), 16)), (i += 3));
    else bytes.push(escapes[arg[++i]!]!);
  }
  return Buffer.from(bytes);
}

test('every key a script touches is one its caller declared in KEYS, but the job hashes job-fetch reads; each script text is sent once', async () => {
  const redis = await startRedis();
  const watcher = connectRedis(redis.url, 'watch');
  const monitor = await watcher.monitor();
  const lines: Array<{ source: string; args: string[] }> = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => lines.push({ source, args }));
  const prefix = 'declared';
  const store = await RedisStore.connect(redis.url, { prefix });
  const inspect = connectRedis(redis.url, 'inspect');
  try {
    await lifecycle(store);
    await store.list({ limit: 10 });
    await store.list({ limit: 1, status: 'succeeded' });
    await store.list({ limit: 10, owner: 'alice' });
    await store.list({ limit: 10, owner: null, status: 'queued' });
    await store.queued();
    await store.interrupted();
    await store.pendingWebhooks();
    await store.expired(Date.now() + 1000);
    await store.renameSpeakers('a', { A: 'Host' });
    await store.reviseTranscript('a', undefined, ([original]) => original!.result);
    await store.finish('d', { status: 'failed', error: { code: 'x', message: 'y' } });
    for (const id of ['a', 'b', 'c', 'd', 'r', 'r2', 'never-was']) await store.delete(id);
    await inspect.echo('declared: the end');
    await waitFor('the monitor to see the end', () => lines.some(({ args }) => args[0] === 'echo' && args[1] === 'declared: the end'));

    const scriptLines = lines.filter(({ source, args }) => source === 'lua' || args[0] === 'eval' || args[0] === 'evalsha');
    // Redis 7.0 shows a script's EVAL before the commands it ran; a Redis that showed it after would be read so too.
    const outerFirst = scriptLines[0]?.source !== 'lua';
    type Run = { script: string; sentText: boolean; declared: string[]; calls: string[][] };
    const runs: Run[] = [];
    let pending: string[][] = [];
    for (const { source, args } of scriptLines) {
      if (source === 'lua') {
        if (outerFirst) runs.at(-1)!.calls.push(args);
        else pending.push(args);
        continue;
      }
      const sha = args[0] === 'eval' ? sha1(unquoted(args[1]!)) : args[1]!;
      const run = { script: SCRIPT_BY_SHA.get(sha) ?? `unknown script ${sha}`, sentText: args[0] === 'eval', declared: args.slice(3, 3 + Number(args[2])), calls: pending };
      pending = [];
      runs.push(run);
    }
    const undeclared: string[] = [];
    for (const { script, declared, calls } of runs) {
      for (const call of calls) {
        const keys = (await inspect.call('COMMAND', 'GETKEYS', ...call)) as string[];
        for (const key of keys) {
          if (declared.includes(key)) continue;
          if (script === 'job-fetch' && call[0]!.toLowerCase() === 'hgetall' && key.startsWith(`${prefix}:job:`)) continue; // the one exception, said in job-fetch.lua
          undeclared.push(`${script}: ${call[0]} ${key}`);
        }
      }
    }
    assert.deepEqual(undeclared, []);
    const storeScripts = SCRIPT_FILES.filter((f) => f.startsWith('job-')).sort();
    assert.deepEqual([...new Set(runs.map((r) => r.script))].sort(), storeScripts, 'every script of the store ran, and no other');
    assert.ok(runs.every((r) => r.calls.length > 0), 'every script was seen running commands');
    for (const script of storeScripts) {
      assert.equal(runs.filter((r) => r.script === script && r.sentText).length, 1, `${script}: its text went once, then only its SHA1`);
    }
  } finally {
    await inspect.quit();
    monitor.disconnect();
    watcher.disconnect();
    await store.close();
    await redis.stop();
  }
});

// ——— The owner's keys: read before the script, checked by it.

test('a script handed another owner\'s keys changes nothing, and the store reads the owner again', async () => {
  const prefix = `owner-${randomUUID()}`;
  const client = connectRedis(server.url, 'store');
  const store = new RedisStore(client, parseRedisUrl(server.url), prefix);
  const inspect = connectRedis(server.url, 'inspect');
  // What the store reads as the job's owner, wrong the next `lies` times: as if the job had been made again by mallory.
  const read = client.hget.bind(client);
  const mallory = Buffer.from('mallory').toString('base64url');
  let lies = 0;
  client.hget = ((key: string, field: string) => (lies-- > 0 ? Promise.resolve(mallory) : read(key, field))) as typeof client.hget;
  const keys = async () => (await inspect.keys(`${prefix}:*`)).sort();
  try {
    await store.create('j', { ...request, owner: 'alice' }, '/a/j');
    lies = 1;
    await store.markRunning('j', 1);
    assert.equal((await store.get('j'))!.status, 'running');
    lies = 1;
    await store.requeue('j');
    assert.equal(await store.position('j'), 1);
    lies = 1;
    assert.equal((await store.finish('j', { status: 'cancelled', error: { code: 'cancelled', message: 'by request' } }))!.status, 'cancelled');
    assert.deepEqual((await store.list({ limit: 10, owner: 'alice', status: 'cancelled' })).jobs.map((j) => j.id), ['j']);
    assert.ok(!(await keys()).some((k) => k.includes(mallory)), 'mallory\'s indexes were never touched');
    const before = await layout(inspect, prefix, 0, 0);
    lies = 100;
    await assert.rejects(store.delete('j'), /job j changed owner 5 times/);
    assert.deepEqual(await layout(inspect, prefix, 0, 0), before, 'a delete that never found its owner changed nothing');
    lies = 0;
    await store.delete('j');
    assert.deepEqual(await keys(), [`${prefix}:seq`]);
  } finally {
    await inspect.quit();
    await store.close();
  }
});

// ——— Redis Cluster. A one-node Cluster (every slot on it) applies Cluster's
// rules on keys to a plain client: a script's KEYS must share a slot, and
// (Redis 7 and later, for scripts that start with `#!lua`) so must every key
// it touches. The store's scripts are given that line here only: a server
// older than 7 would refuse it, and those Redis versions are still supported.

async function startClusterNode(): Promise<{ url: string; major: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-cluster-'));
  const port = await freePort();
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'),
  ], { stdio: 'ignore' });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const url = `redis://127.0.0.1:${port}/0`;
  const client = connectRedis(url, 'cluster-setup');
  try {
    await client.ping();
    await client.call('CLUSTER', 'ADDSLOTS', ...Array.from({ length: 16384 }, (_, slot) => String(slot)));
    await waitFor('the one-node cluster to be ok', async () => /cluster_state:ok/.test((await client.call('CLUSTER', 'INFO')) as string), 20_000, 50);
    const major = Number(/redis_version:(\d+)/.exec(await client.info('server'))?.[1] ?? 0);
    return {
      url,
      major,
      async stop() {
        process.off('exit', kill);
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      },
    };
  } catch (e) {
    kill();
    throw e;
  } finally {
    client.disconnect();
  }
}

const cluster = await startClusterNode();
after(() => cluster.stop());

/** A store on the cluster node whose scripts must keep to one slot (`#!lua`, where the server knows it). */
function clusterStore(prefix?: string): { store: RedisStore; strict: string[] } {
  const client = connectRedis(cluster.url, 'store');
  const strict: string[] = [];
  if (cluster.major >= 7) {
    const define = client.defineCommand.bind(client);
    client.defineCommand = (name, definition) => {
      strict.push(name);
      define(name, { ...definition, lua: `#!lua\n${definition.lua}` });
    };
  }
  return { store: tracked(new RedisStore(client, parseRedisUrl(cluster.url), prefix)), strict };
}

// The hash-tagged prefix Cluster takes (QUEUE_PREFIX='{whisper}'): the whole contract, on Cluster.
storeContract('redis cluster, prefix {…}', () => {
  const prefix = `{test-${randomUUID()}}`;
  return () => clusterStore(prefix).store;
});

test('Redis Cluster: the default prefix is refused (CROSSSLOT); QUEUE_PREFIX={whisper} keeps the same layout, in one slot', async () => {
  const plain = clusterStore();
  try {
    await assert.rejects(plain.store.create('x', request, '/a/x'), /CROSSSLOT/);
  } finally {
    await plain.store.close();
  }
  const tagged = clusterStore('{whisper}');
  const client = connectRedis(cluster.url, 'inspect');
  try {
    if (cluster.major >= 7) assert.equal(tagged.strict.length, SCRIPT_FILES.filter((f) => f.startsWith('job-')).length, 'every script of the store kept to one slot');
    const t0 = Date.now();
    await lifecycle(tagged.store);
    const t1 = Date.now();
    const renamed = Object.fromEntries(Object.entries(LAYOUT_BEFORE).map(([key, value]) => [key.replace(/^whisper:/, '{whisper}:'), value]));
    assert.deepEqual(await layout(client, '{whisper}', t0, t1), renamed);
    assert.deepEqual((await tagged.store.list({ limit: 10, owner: 'alice' })).jobs.map((j) => j.id), ['r', 'a']);
  } finally {
    await client.quit();
    await tagged.store.close();
  }
});
