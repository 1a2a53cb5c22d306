// Worker slot leases on a real redis-server: never more leases than slots,
// whichever gateway asks; a released lease frees its slot at once, and the
// lease of a gateway that stopped renewing lapses after its TTL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../../../test-support/redis.ts';
import { waitFor } from '../../../test-support/wait.ts';
import { SlotLeases } from './slots.ts';

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
