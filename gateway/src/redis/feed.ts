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
import { MAX_ATTEMPTS, settledWithin, type JobFeed, type JobRunner, type RunEnd } from '../jobs/feed.ts';
import type { BusMessage, JobBus } from '../jobs/bus.ts';
import type { WorkerDirectory, WorkerView } from '../jobs/types.ts';
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
  log: { warn(obj: object, msg: string): void };
}

const QUEUE = 'jobs';
const SWEEP_MS = 2000; // looks for work now and then: a job put back by another gateway's stalled check sends no message

export class RedisFeed implements JobFeed {
  private readonly options: RedisFeedOptions;
  private readonly client: Redis;
  private readonly queue: Queue;
  private readonly taker: QueueWorker;
  private readonly leases: SlotLeases;
  private runner: JobRunner | null = null;
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
    const connection = connectRedis(url, 'queue');
    this.queue = new Queue(QUEUE, { connection, prefix });
    // maxStalledCount: the attempts are counted in the store (3 at most), not by BullMQ, which would fail a job silently.
    // Whole milliseconds: BullMQ hands the interval to Redis as a PX, and a fraction makes every check fail.
    const checkEveryMs = Math.max(1000, Math.round(lockMs / 3));
    this.taker = new QueueWorker(QUEUE, null, { connection: connectRedis(url, 'taker'), prefix, autorun: false, lockDuration: lockMs, stalledInterval: checkEveryMs, maxStalledCount: 1000 });
    this.taker.on('error', (e) => options.log.warn({ err: e.message }, 'job queue'));
    this.leases = new SlotLeases(url, prefix, lockMs, () => void options.bus.publish({ type: 'slot' }).catch(() => {}));
    options.bus.subscribe((m: BusMessage) => {
      if (m.type === 'slot' || m.type === 'work') this.full.clear();
      if (m.type === 'slot' || m.type === 'work' || m.type === 'resync') this.pump();
    });
    options.directory.onChange(() => this.pump());
  }

  async start(runner: JobRunner): Promise<void> {
    this.runner = runner;
    await this.taker.startStalledCheckTimer();
    this.sweeper = setInterval(() => this.pump(), SWEEP_MS);
    this.sweeper.unref();
    this.pump();
  }

  async add(record: JobRecord): Promise<void> {
    await this.queue.add('transcribe', { id: record.id }, { jobId: record.id, removeOnComplete: true, removeOnFail: true });
    await this.options.bus.publish({ type: 'work' });
    if (record.request.source !== 'jobs') void this.failIfNoWorker(record.id);
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
    this.client.disconnect();
  }

  /** Takes jobs while some worker here has a slot this gateway can lease; one pass at a time. */
  private pump(): void {
    if (!this.runner || this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.takeWhileRoom()
      .catch((e: Error) => this.options.log.warn({ err: e.message }, 'could not take a job from the queue'))
      .finally(() => {
        this.pumping = false;
        if (this.again) (this.again = false), this.pump();
      });
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
      this.track(this.carry(job, token, lease));
    }
  }

  /** A ready worker with a slot not leased by this gateway, and not known full from the others; the most room first. */
  private candidate(): WorkerView | undefined {
    const now = Date.now();
    const room = (w: WorkerView) => w.slots - this.leases.heldOn(w.address);
    return this.options.directory.workers()
      .filter((w) => w.up && room(w) > 0 && (this.full.get(w.address) ?? 0) < now)
      .sort((a, b) => room(b) - room(a))[0];
  }

  private track(run: Promise<void>): void {
    this.inflight.add(run);
    void run.finally(() => {
      this.inflight.delete(run);
      this.pump();
    });
  }

  /** One job on this gateway, from its fetch to its settling in the queue. */
  private async carry(job: Job, token: string, lease: Lease): Promise<void> {
    const lock = setInterval(() => void job.extendLock(token, this.options.lockMs).catch(() => {}), Math.max(500, this.options.lockMs / 3));
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
      await lease.release().catch(() => {});
    }
  }

  private async runOnce(id: string, worker: string): Promise<RunEnd> {
    const runner = this.runner!;
    const record = await this.options.store.get(id);
    if (!record || FINISHED.has(record.status)) return { type: 'finished' }; // cancelled or deleted while in line
    if (record.attempts >= MAX_ATTEMPTS) {
      await runner.settle(id, { status: 'failed', error: { code: 'internal', message: `the job was started ${record.attempts} times and its gateway or worker stopped each time; it was not tried again` } });
      return { type: 'finished' };
    }
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
