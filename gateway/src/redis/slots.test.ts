// Worker slot leases on a real redis-server: never more leases than slots,
// whichever gateway asks; a released lease frees its slot at once, and the
// lease of a gateway that stopped renewing lapses after its TTL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../../../test-support/redis.ts';
import { waitFor } from '../../../test-support/wait.ts';
import { SlotLeases } from './slots.ts';
import { connectRedis } from './connection.ts';

const log = { info() {}, warn() {}, error() {} };
let redis: RedisServer;
before(async () => (redis = await startRedis()));
after(async () => redis?.stop());

test('two gateways share a worker of 2 slots: 2 leases at most, freed on release', async () => {
  let freed = 0;
  const [a, b] = [new SlotLeases(redis.url, 'share', 5000, log, () => freed++), new SlotLeases(redis.url, 'share', 5000, log, () => {})];
  try {
    const first = await a.acquire('w:1', 2);
    const second = await b.acquire('w:1', 2);
    assert.ok(first && second);
    assert.equal(await a.acquire('w:1', 2), null, 'the worker is full, whoever asks');
    assert.equal(await b.acquire('w:1', 2), null);
    assert.ok(await a.acquire('w:2', 1), 'another worker has its own slots');
    assert.deepEqual([a.heldOn('w:1'), b.heldOn('w:1'), a.heldOn('w:2')], [1, 1, 1]);
    const unused = await a.acquire('w:3', 1);
    await unused!.release(false);
    assert.equal(freed, 0, 'a lease that carried no job goes in silence: idle gateways must not wake each other');
    await first.release();
    assert.equal(freed, 1, 'a used one is announced, so waiting gateways look again');
    assert.ok(await b.acquire('w:1', 2), 'a released slot is free at once');
  } finally {
    a.close();
    b.close();
  }
});

// A TTL of 2 s renews every 0.67 s: a loaded 2-core machine that runs a renewal a second late still holds the lease.
test('a lease is kept while renewed, and lapses once its gateway stops renewing', async () => {
  const [alive, dead] = [new SlotLeases(redis.url, 'lapse', 2000, log, () => {}), new SlotLeases(redis.url, 'lapse', 2000, log, () => {})];
  try {
    assert.ok(await alive.acquire('w:1', 2));
    assert.ok(await dead.acquire('w:1', 2));
    dead.close(); // as a gateway killed with SIGKILL: no more renewals
    await new Promise((r) => setTimeout(r, 4500)); // past two TTLs: the renewed lease must still hold
    assert.equal(await alive.acquire('w:1', 1), null, 'the renewed lease still holds its slot');
    const third = new SlotLeases(redis.url, 'lapse', 2000, log, () => {});
    try {
      assert.ok(await waitFor('the dead lease to lapse', () => third.acquire('w:1', 2), 10_000, 100));
      assert.equal(await third.acquire('w:1', 2), null, 'only the lapsed slot was free');
    } finally {
      third.close();
    }
  } finally {
    alive.close();
  }
});

/** calls=… of a command in INFO commandstats (0 if it never ran). */
const calls = (stats: string, command: string) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);

test('leases are where they always were (<prefix>:slots:<worker>), scored by their expiry; each script goes once per connection, then by SHA1', async () => {
  const inspect = connectRedis(redis.url, 'inspect');
  const leases = new SlotLeases(redis.url, 'whisper', 1500, log, () => {});
  try {
    await inspect.config('RESETSTAT');
    for (let i = 0; i < 5; i++) assert.ok(await leases.acquire('w:1', 10));
    await leases.hold('w:2');
    await leases.hold('w:2');
    assert.deepEqual((await inspect.keys('whisper:*')).sort(), ['whisper:slots:w:1', 'whisper:slots:w:2']);
    assert.equal(await inspect.zcard('whisper:slots:w:1'), 5);
    const [seconds, micros] = (await inspect.time()).map(Number) as [number, number];
    const now = seconds * 1000 + Math.floor(micros / 1000);
    const scored = ((await inspect.call('ZRANGE', 'whisper:slots:w:2', '0', '-1', 'WITHSCORES')) as unknown[]).flat().map(String); // flat: RESP3 pairs
    assert.equal(scored.length, 4, 'both holds');
    for (const score of scored.filter((_, i) => i % 2 === 1)) {
      assert.ok(Number(score) > now && Number(score) <= now + 1500, `expires within the TTL on Redis's clock: ${score} vs ${now}`);
    }
    // 5 acquires, 2 holds, then the renewals every 0.5 s: at least one.
    const stats = await waitFor('a renewal', async () => {
      const text = await inspect.info('commandstats');
      return calls(text, 'eval') + calls(text, 'evalsha') >= 8 ? text : null;
    }, 10_000, 100);
    assert.ok(calls(stats, 'eval') <= 2, `the text of each of the 2 scripts is sent at most once: ${calls(stats, 'eval')} EVALs`);
  } finally {
    leases.close();
    await inspect.quit();
  }
});
