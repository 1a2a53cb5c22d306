// Worker slots leased in Redis, so that gateways sharing a worker never send
// it more transcriptions than it has slots. A lease is a member of the
// worker's sorted set scored by its expiry (Redis's own clock, so gateways'
// clocks do not matter); it is renewed while its job runs and dropped when the
// job ends. A gateway that dies stops renewing, and its leases lapse after the
// TTL; the worker freed those slots already, when the dead gateway's links
// closed. Keys hold the worker's address as configured (`<prefix>:slots:<worker>`):
// gateways that share a worker must name it the same way. The scripts are
// ./scripts/slot-*.lua; a renewal spans the keys of every worker this gateway
// holds leases on, which on Redis Cluster takes a hash-tagged prefix, as the
// store does (./store.ts).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from './connection.ts';
import { defineScripts, lua, type ScriptCommands } from './lua.ts';
import { owned, type Log } from '../owned.ts';

// ./scripts/slot-acquire.lua takes the worker's key; slot-renew.lua as many as each call says.
const SCRIPTS = {
  whisperSlotAcquire: lua('slot-acquire', 1),
  whisperSlotRenew: lua('slot-renew'),
};

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
  private readonly client: Redis & ScriptCommands<keyof typeof SCRIPTS>;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly held = new Map<string, string>(); // lease id → worker address
  private readonly renewer: NodeJS.Timeout;
  private readonly onRelease: () => void;

  constructor(url: string, prefix: string, ttlMs: number, log: Log, onRelease: () => void) {
    this.client = defineScripts(connectRedis(url, 'slots'), SCRIPTS);
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
    const got = (await this.client.whisperSlotAcquire(this.key(worker), slots, this.ttlMs, id)) as number;
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
    await this.client.whisperSlotRenew(1, this.key(worker), this.ttlMs, id);
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
    await this.client.whisperSlotRenew(ids.length, ...ids.map((id) => this.key(this.held.get(id)!)), this.ttlMs, ...ids);
  }

  private key(worker: string): string {
    return `${this.prefix}:slots:${worker}`;
  }
}
