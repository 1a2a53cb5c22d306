// Worker slots leased in Redis, so that gateways sharing a worker never send
// it more transcriptions than it has slots. A lease is a member of the
// worker's sorted set scored by its expiry (Redis's own clock, so gateways'
// clocks do not matter); it is renewed while its job runs and dropped when the
// job ends. A gateway that dies stops renewing, and its leases lapse after the
// TTL; the worker freed those slots already, when the dead gateway's links
// closed. Keys hold the worker's address as configured: gateways that share a
// worker must name it the same way.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from './connection.ts';
import { owned, type Log } from '../jobs/owned.ts';

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
return 1`;

// Re-added even when it lapsed (Redis was away longer than the TTL): the job still runs there, so the slot is taken.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], now + tonumber(ARGV[1]), ARGV[i + 1]) end
return #KEYS`;

export interface Lease {
  readonly worker: string;
  /**
   * `used`: a job ran on it, so its end is news to gateways waiting for a slot.
   * A lease taken while the queue turned out empty is dropped in silence, or
   * gateways would wake each other for ever.
   */
  release(used?: boolean): Promise<void>;
}

export class SlotLeases {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly held = new Map<string, string>(); // lease id → worker address
  private readonly renewer: NodeJS.Timeout;
  private readonly onRelease: () => void;

  constructor(url: string, prefix: string, ttlMs: number, log: Log, onRelease: () => void) {
    this.client = connectRedis(url, 'slots');
    this.prefix = prefix;
    this.ttlMs = ttlMs;
    this.onRelease = onRelease;
    // A lease that lapses lets another gateway send the worker one job too many: said, and renewed again next round.
    const renew = () => this.renew().catch((err: Error) => log.warn({ err: err.message }, 'worker slot leases could not be renewed'));
    this.renewer = setInterval(() => owned(log, 'renewing worker slot leases', renew()), Math.max(500, ttlMs / 3));
    this.renewer.unref();
  }

  /** A lease on one of `worker`'s `slots`, or null when every slot is leased (by any gateway). */
  async acquire(worker: string, slots: number): Promise<Lease | null> {
    const id = randomUUID();
    const got = (await this.client.eval(ACQUIRE, 1, this.key(worker), slots, this.ttlMs, id)) as number;
    if (got !== 1) return null;
    this.held.set(id, worker);
    let released = false;
    return {
      worker,
      release: async (used = true) => {
        if (released) return;
        released = true;
        this.held.delete(id);
        await this.client.zrem(this.key(worker), id);
        if (used) this.onRelease();
      },
    };
  }

  /**
   * A lease taken whatever the count: the slot is held already (a live stream
   * took it on the worker), and the others must see it. Renewed like the rest.
   */
  async hold(worker: string): Promise<Lease> {
    const id = randomUUID();
    this.held.set(id, worker);
    await this.client.eval(RENEW, 1, this.key(worker), this.ttlMs, id);
    let released = false;
    return {
      worker,
      release: async () => {
        if (released) return;
        released = true;
        this.held.delete(id);
        await this.client.zrem(this.key(worker), id);
        this.onRelease();
      },
    };
  }

  /** Leases this gateway holds on `worker`. */
  heldOn(worker: string): number {
    let n = 0;
    for (const w of this.held.values()) if (w === worker) n += 1;
    return n;
  }

  close(): void {
    clearInterval(this.renewer);
    this.client.disconnect();
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const ids = [...this.held.keys()];
    await this.client.eval(RENEW, ids.length, ...ids.map((id) => this.key(this.held.get(id)!)), this.ttlMs, ...ids);
  }

  private key(worker: string): string {
    return `${this.prefix}:slots:${worker}`;
  }
}
