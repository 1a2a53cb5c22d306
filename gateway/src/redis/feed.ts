// The shared feed: jobs wait in one BullMQ queue on Redis, and a gateway takes
// one only when it holds a lease on a free slot of a worker it can reach, so a
// job runs on whichever gateway has room, and no worker is sent more than its
// slots. Jobs are fetched by hand (BullMQ's manual processing) because the
// decision to fetch is the slot's, not a fixed concurrency. Each job's lock is
// renewed while it runs; a gateway that dies stops renewing, and BullMQ's
// stalled-job check on any other gateway puts the job back in line after
// QUEUE_LOCK_SECONDS, where it is run again with its attempt counted.
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Queue, Worker as QueueWorker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { FINISHED, type JobRecord, type JobStore } from '../jobs/store.ts';
import { settledWithin, type JobFeed, type FeedRunner, type RunEnd } from '../jobs/feed.ts';
import { owned, type Log } from '../owned.ts';
import { triedOn } from '../jobs/retry.ts';
import type { BusMessage, JobBus } from '../jobs/bus.ts';
import type { SlotLedger, WorkerDirectory, WorkerView } from '../workers/types.ts';
import { SlotLeases, type Lease } from './slots.ts';
import { connectRedis } from './connection.ts';

export interface RedisFeedOptions {
  url: string;
  prefix: string;
  lockMs: number;
  store: JobStore;
  bus: JobBus;
  directory: WorkerDirectory;
  /** How long a synchronous request waits for a worker to come up here before failing with no_worker. */
  noWorkerGraceMs: number;
  log: Log;
}

const QUEUE = 'jobs';
const SWEEP_MS = 2000; // looks for work now and then: a job put back by another gateway's stalled check sends no message
const STRANDED_EVERY = 30; // sweeps (a minute) between looks for jobs stored but never queued

export class RedisFeed implements JobFeed {
  private readonly options: RedisFeedOptions;
  private readonly client: Redis;
  private readonly connections: Redis[];
  private readonly queue: Queue;
  private readonly taker: QueueWorker;
  private readonly leases: SlotLeases;
  private runner: FeedRunner | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private readonly full = new Map<string, number>(); // worker → until when another gateway holds all its slots
  private sweeper: NodeJS.Timeout | null = null;
  private pumping = false;
  private again = false;
  private stopped = false;

  constructor(options: RedisFeedOptions) {
    this.options = options;
    const { url, prefix, lockMs } = options;
    this.client = connectRedis(url, 'feed');
    // BullMQ leaves connections it was given open on close(): they are closed here (close()).
    const connection = connectRedis(url, 'queue');
    const takerConnection = connectRedis(url, 'taker');
    this.connections = [this.client, connection, takerConnection];
    this.queue = new Queue(QUEUE, { connection, prefix });
    // maxStalledCount: the attempts are counted in the store (3 at most), not by BullMQ, which would fail a job silently.
    // Whole milliseconds: BullMQ hands the interval to Redis as a PX, and a fraction makes every check fail.
    const checkEveryMs = Math.max(1000, Math.round(lockMs / 3));
    this.taker = new QueueWorker(QUEUE, null, { connection: takerConnection, prefix, autorun: false, lockDuration: lockMs, stalledInterval: checkEveryMs, maxStalledCount: 1000 });
    this.taker.on('error', (e) => options.log.warn({ err: e.message }, 'job queue'));
    this.leases = new SlotLeases(url, prefix, lockMs, options.log, () => owned(options.log, 'telling the gateways a slot is free', options.bus.publish({ type: 'slot' })));
    options.bus.subscribe((m: BusMessage) => {
      if (m.type === 'slot' || m.type === 'work') this.full.clear();
      if (m.type === 'slot' || m.type === 'work' || m.type === 'resync') this.pump();
    });
    options.directory.onChange(() => this.pump());
  }

  /** The live streams' slots, leased like the jobs' (see SlotLedger). */
  readonly streamSlots: SlotLedger = {
    hold: (worker) => {
      const lease = this.leases.hold(worker);
      owned(this.options.log, `leasing a live stream's slot on ${worker}`, lease);
      return { release: () => owned(this.options.log, `giving back a live stream's slot on ${worker}`, lease.then((l) => l.release())) };
    },
  };

  async start(runner: FeedRunner): Promise<void> {
    this.runner = runner;
    await this.requeueStranded();
    await this.taker.startStalledCheckTimer();
    let sweeps = 0;
    this.sweeper = setInterval(() => {
      this.pump();
      if (++sweeps % STRANDED_EVERY === 0) owned(this.options.log, 'looking for stranded jobs', this.requeueStranded());
    }, SWEEP_MS);
    this.sweeper.unref();
    this.pump();
  }

  /**
   * Jobs the store has queued that the queue does not know: their gateway died
   * between storing the job and queueing it. They are queued now (at start, and
   * now and then, so another gateway takes them over too). A job queued under
   * its id already is left as it is: BullMQ takes an id once.
   */
  private async requeueStranded(): Promise<void> {
    for (const record of await this.options.store.queued()) {
      if (this.stopped) return;
      if (await this.queue.getJob(record.id)) continue;
      const again = await this.options.store.get(record.id); // it may have been queued and run meanwhile
      if (again?.status !== 'queued') continue;
      await this.queue.add('transcribe', { id: record.id }, { jobId: record.id, removeOnComplete: true, removeOnFail: true });
      this.options.log.warn({ job: record.id }, 'a job stored but never queued (its gateway stopped in between) is queued now');
    }
    await this.options.bus.publish({ type: 'work' });
  }

  async add(record: JobRecord): Promise<void> {
    await this.queue.add('transcribe', { id: record.id }, { jobId: record.id, removeOnComplete: true, removeOnFail: true });
    await this.options.bus.publish({ type: 'work' });
    if (record.request.source !== 'jobs') owned(this.options.log, `job ${record.id} waiting for a worker`, this.failIfNoWorker(record.id));
  }

  async withdraw(id: string): Promise<boolean> {
    const job = await this.queue.getJob(id);
    if (!job) return true; // not in line, nor running anywhere: nothing else will end it
    // remove() refuses a job that is locked: it runs on some gateway, which hears the cancel on the bus, or,
    // when it took the job a moment ago and was not listening for it yet, finds this mark (see runOnce).
    if ((await this.queue.remove(id)) === 1) return true;
    await this.client.set(this.cancelMark(id), '1', 'EX', 3600);
    return false;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await settledWithin(this.inflight, timeoutMs);
  }

  async counts(): Promise<{ waiting: number; running: number }> {
    const c = await this.queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
    return { waiting: (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0), running: c.active ?? 0 };
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.leases.close();
    await this.taker.close(true).catch(() => {});
    await this.queue.close().catch(() => {});
    for (const connection of this.connections) connection.disconnect();
  }

  /** Takes jobs while some worker here has a slot this gateway can lease; one pass at a time. */
  private pump(): void {
    if (!this.runner || this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    const pass = this.takeWhileRoom()
      .catch((e: Error) => this.options.log.warn({ err: e.message }, 'could not take a job from the queue'))
      .finally(() => {
        this.pumping = false;
        if (this.again) (this.again = false), this.pump();
      });
    owned(this.options.log, 'taking jobs from the queue', pass);
  }

  private async takeWhileRoom(): Promise<void> {
    while (!this.stopped) {
      const worker = this.candidate();
      if (!worker) return;
      const lease = await this.leases.acquire(worker.address, worker.slots);
      if (!lease) {
        this.full.set(worker.address, Date.now() + SWEEP_MS); // until a slot message or the next sweep
        continue;
      }
      const token = randomUUID();
      const job = await this.taker.getNextJob(token, { block: false }).catch(async (e: unknown) => {
        await lease.release(false);
        throw e;
      });
      if (!job) return void (await lease.release(false));
      // Before the next round of this loop leases more: a slot elsewhere for a retry must still be free to take.
      const held = await this.elsewhereIfTried(job.id!, lease).catch((e: Error) => {
        this.options.log.warn({ job: job.id, err: e.message }, 'could not look where the job ran before; it runs where its slot was leased');
        return lease;
      });
      this.track(this.carry(job, token, held));
    }
  }

  /** Ready workers with a slot not leased by this gateway, and not known full from the others; the most room first. */
  private candidates(): WorkerView[] {
    const now = Date.now();
    const room = (w: WorkerView) => w.slots - this.leases.heldOn(w.address);
    return this.options.directory.workers()
      .filter((w) => w.up && room(w) > 0 && (this.full.get(w.address) ?? 0) < now)
      .sort((a, b) => room(b) - room(a));
  }

  private candidate(): WorkerView | undefined {
    return this.candidates()[0];
  }

  private track(run: Promise<void>): void {
    this.inflight.add(run);
    const settled = run.finally(() => {
      this.inflight.delete(run);
      this.pump();
    });
    owned(this.options.log, 'carrying a job', settled);
  }

  /** One job on this gateway, from its fetch to its settling in the queue. */
  private async carry(job: Job, token: string, lease: Lease): Promise<void> {
    // A renewal that fails is said: past QUEUE_LOCK_SECONDS the job is handed to another gateway while it still runs here.
    const renew = () => job.extendLock(token, this.options.lockMs).catch((err: Error) => this.options.log.warn({ job: job.id, err: err.message }, 'the job\'s lock could not be renewed'));
    const lock = setInterval(() => owned(this.options.log, `renewing job ${job.id}'s lock`, renew()), Math.max(500, this.options.lockMs / 3));
    try {
      const end = await this.runOnce(job.id!, lease.worker);
      if (end.type === 'finished') await job.moveToCompleted(null, token, false);
      else {
        await job.moveToDelayed(Date.now() + end.delayMs, token);
        if (end.delayMs === 0) await this.options.bus.publish({ type: 'work' });
      }
    } catch (e) {
      // The lock was lost (Redis was away longer than QUEUE_LOCK_SECONDS): the stalled check has put the job back already.
      this.options.log.warn({ job: job.id, err: (e as Error).message }, 'could not settle the job in the queue');
    } finally {
      clearInterval(lock);
      await lease.release().catch((err: Error) => this.options.log.warn({ job: job.id, err: err.message }, 'a worker slot lease could not be released; it lapses by itself'));
    }
  }

  /**
   * A retry goes to another worker when one has room (retry.ts, triedOn): the
   * slot was leased before the job was known, so a lease on a worker an earlier
   * attempt ran on is traded for one elsewhere when there is one.
   */
  private async elsewhereIfTried(id: string, lease: Lease): Promise<Lease> {
    const tried = new Set(triedOn(await this.options.store.events(id, 0)));
    if (!tried.has(lease.worker)) return lease;
    for (const w of this.candidates().filter((c) => !tried.has(c.address))) {
      const other = await this.leases.acquire(w.address, w.slots);
      if (!other) continue;
      await lease.release(false);
      return other;
    }
    return lease;
  }

  private async runOnce(id: string, worker: string): Promise<RunEnd> {
    const runner = this.runner!;
    const record = await this.options.store.get(id);
    if (!record || FINISHED.has(record.status)) return { type: 'finished' }; // cancelled or deleted while in line
    if (!record.audio_path || !existsSync(record.audio_path)) {
      await runner.settle(id, { status: 'failed', error: { code: 'internal', message: `the job's audio is not on this gateway (${record.audio_path}): every gateway must mount the same DATA_DIR` } });
      return { type: 'finished' };
    }
    const run = runner.run(record, worker); // from here a cancel on the bus reaches it
    if ((await this.client.exists(this.cancelMark(id))) === 1) await runner.cancel(id);
    return run;
  }

  private cancelMark(id: string): string {
    return `${this.options.prefix}:cancel:${id}`;
  }

  /** A synchronous request needs an answer: with no worker up here after the grace, it fails rather than wait in line. */
  private async failIfNoWorker(id: string): Promise<void> {
    const deadline = Date.now() + this.options.noWorkerGraceMs;
    while (Date.now() < deadline) {
      if (this.options.directory.workers().some((w) => w.up)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (this.options.directory.workers().some((w) => w.up) || !(await this.withdraw(id))) return;
    const reasons = this.options.directory.workers().map((w) => `${w.address}: ${w.error ?? 'down'}`).join('; ');
    await this.runner!.settle(id, { status: 'failed', error: { code: 'no_worker', message: `No Whisper worker is reachable (${reasons}). Start one with 'make start' or check WHISPER_HOST/WHISPER_PORT.` } });
  }
}
