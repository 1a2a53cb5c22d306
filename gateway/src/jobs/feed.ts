// The job feed: where jobs wait for a slot and which process runs them. One
// gateway feeds its own jobs to its scheduler as they come (LocalFeed, below);
// several gateways share one BullMQ queue on Redis, and each pulls a job only
// when it holds a free worker slot (../redis/feed.ts).
import { FINISHED, type JobRecord, type JobStore, type Outcome } from './store.ts';
import { owned, type Log } from '../owned.ts';

/** How this gateway's run of a job ended: the outcome is stored, or the job goes back in line. */
export type RunEnd = { type: 'finished' } | { type: 'requeue'; delayMs: number };

/** What a feed drives: the job service. */
export interface FeedRunner {
  /** Runs a stored job here (on that worker, when the feed chose one); settles when this gateway is done with it, never rejects. */
  run(record: JobRecord, worker: string | null): Promise<RunEnd>;
  /** Ends a job that will not run (cancelled in line, attempts spent). */
  settle(id: string, outcome: Outcome): Promise<void>;
  cancel(id: string): Promise<boolean>;
}

export interface JobFeed {
  /** Begins feeding jobs to the runner, recovering those a crash left behind. */
  start(runner: FeedRunner): Promise<void>;
  /** A new job, stored already. */
  add(record: JobRecord): Promise<void>;
  /** Takes a job out of line when it is waiting and not running anywhere: true when it did. */
  withdraw(id: string): Promise<boolean>;
  /** Takes no more jobs (SIGTERM); resolves once the runs it started are settled, or after `timeoutMs`. */
  stop(timeoutMs: number): Promise<void>;
  /** Jobs waiting and running, wherever they run, for /api/health and the metrics. */
  counts(): Promise<{ waiting: number; running: number }>;
  close(): Promise<void>;
}

/** Resolves once every run has settled, or after `timeoutMs`, whichever comes first (a feed's stop()). */
export async function settledWithin(runs: Iterable<Promise<unknown>>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(runs), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

/** One gateway: every job runs here, so a job is run as soon as it comes, and the scheduler queues it in memory. */
export class LocalFeed implements JobFeed {
  private readonly store: JobStore;
  private readonly counter: () => { waiting: number; running: number };
  private readonly log: Log;
  private runner: FeedRunner | null = null;
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(store: JobStore, counts: () => { waiting: number; running: number }, log: Log) {
    this.store = store;
    this.counter = counts;
    this.log = log;
  }

  /** What was running when the process stopped goes back in line (its attempt counted: see retry.ts), then all that waits runs. */
  async start(runner: FeedRunner): Promise<void> {
    this.runner = runner;
    for (const job of await this.store.interrupted()) await this.store.requeue(job.id);
    for (const job of await this.store.queued()) this.launch(job);
  }

  async add(record: JobRecord): Promise<void> {
    this.launch(record);
  }

  async withdraw(id: string): Promise<boolean> {
    // Only this process runs jobs, and the service looked there first: anything else is waiting.
    clearTimeout(this.retries.get(id));
    this.retries.delete(id);
    return true;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    await settledWithin(this.inflight, timeoutMs);
  }

  async counts() {
    return this.counter();
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
  }

  private launch(record: JobRecord): void {
    if (this.stopped) return; // it stays queued in the store for the next start
    const run = this.runner!.run(record, null).then((end) => {
      if (end.type === 'requeue' && !this.stopped) this.retryLater(record.id, end.delayMs);
    });
    this.inflight.add(run);
    owned(this.log, `running job ${record.id}`, run.finally(() => this.inflight.delete(run)));
  }

  /**
   * Runs the job again after `delayMs`, unless it ended meanwhile. A job still
   * marked running is run too: only this process runs jobs, so it was handed
   * back by a run whose store refused the requeue.
   */
  private retryLater(id: string, delayMs: number): void {
    const timer = setTimeout(() => {
      this.retries.delete(id);
      const again = this.store.get(id).then(
        (record) => record && !FINISHED.has(record.status) && this.launch(record),
        (err: unknown) => {
          this.log.warn({ err, job: id }, 'the job store could not be read to run a job again; trying later');
          if (!this.stopped) this.retryLater(id, Math.max(delayMs, 5000));
        },
      );
      owned(this.log, `running job ${id} again`, again);
    }, delayMs);
    this.retries.set(id, timer);
  }
}
