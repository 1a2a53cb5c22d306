// The scheduler: the Dispatcher in memory. Jobs wait here, in order, not in the
// workers: a job goes to a worker only when that worker is ready and has a free
// slot, preferring one that holds the model, so nothing waits behind a long file
// while another worker idles. Nothing polls: dispatch() runs when a job
// arrives, when an attempt ends and when a worker's state changes (the pool
// tells us). The one timer is the no-worker deadline, armed only while no
// worker is up and jobs wait.
import type { Dispatcher, JobSpec } from './types.ts';
import { DispatchedJob } from './dispatched-job.ts';
import { Attempt, type AttemptEnd } from './attempt.ts';
import { compareScores, type Worker, type WorkerPool } from '../workers/pool.ts';

export interface SchedulerOptions {
  noWorkerGraceMs: number; // how long jobs wait for some worker to come up before failing with no_worker
}

interface Entry {
  job: DispatchedJob;
  attempt: Attempt | null; // while running
}

export class Scheduler implements Dispatcher {
  private readonly pool: WorkerPool;
  private readonly options: SchedulerOptions;
  private readonly waiting: Entry[] = [];
  private readonly running = new Set<Entry>();
  private noWorkerSince: number | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private dispatching = false;
  private again = false;
  private closed = false;

  constructor(pool: WorkerPool, options: SchedulerOptions) {
    this.pool = pool;
    this.options = options;
    pool.subscribe(() => this.dispatch());
  }

  submit(spec: JobSpec, signal?: AbortSignal): DispatchedJob {
    const job = new DispatchedJob(spec);
    const entry: Entry = { job, attempt: null };
    job.onCancel = () => this.cancel(entry);
    if (this.closed) {
      job.fail({ code: 'cancelled', message: 'the gateway is shutting down' });
      return job;
    }
    this.waiting.push(entry);
    job.emit({ type: 'queued', position: this.waiting.length });
    signal?.addEventListener('abort', () => job.cancel(), { once: true });
    if (signal?.aborted) job.cancel();
    // A microtask, not a timer: the caller holds the handle before the job can start or fail.
    queueMicrotask(() => this.dispatch());
    return job;
  }

  counts(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearDeadline();
    const entries = [...this.waiting.splice(0), ...this.running];
    for (const { job } of entries) job.fail({ code: 'cancelled', message: 'the gateway is shutting down' });
  }

  private dispatch(): void {
    if (this.closed) return;
    if (this.dispatching) {
      this.again = true; // called from inside a dispatch (a link failing at once): go round once more
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.again = false;
        this.watchNoWorker();
        while (this.waiting.length > 0) {
          const entry = this.waiting[0]!;
          const lost = this.pinnedElsewhere(entry);
          if (lost) {
            this.waiting.shift();
            entry.job.fail({ code: 'worker_lost', message: lost });
            continue;
          }
          const worker = this.pick(entry);
          if (!worker) break;
          this.waiting.shift();
          this.start(entry, worker);
        }
      } while (this.again);
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * The ready worker with a free slot that suits the job best: not one an
   * earlier attempt failed on, then the model loaded, then the most free slots;
   * for a job pinned to a worker (the feed leased its slot), that worker once
   * it has a free slot.
   */
  private pick(entry: Entry): Worker | undefined {
    const { model, worker: pinned, avoid = [] } = entry.job.spec;
    const score = (w: Worker) => [Number(!avoid.includes(w.address)), Number(w.loadedModels.includes(model)), w.freeSlots];
    let best: Worker | undefined;
    for (const w of this.pool.list()) {
      if (w.freeSlots <= 0 || (pinned !== undefined && w.address !== pinned)) continue;
      if (!best || compareScores(score(w), score(best)) > 0) best = w;
    }
    return best;
  }

  /** Why a pinned job cannot run where it was placed (its worker is not ready), for the feed to place it again; null when it can. */
  private pinnedElsewhere(entry: Entry): string | null {
    const pinned = entry.job.spec.worker;
    if (pinned === undefined) return null;
    const worker = this.pool.list().find((w) => w.address === pinned);
    return worker?.state === 'ready' ? null : `the worker ${pinned} is ${worker ? worker.state : 'not configured here'}`;
  }

  private start(entry: Entry, worker: Worker): void {
    const { job } = entry;
    job.state = 'running';
    job.attempts += 1;
    this.running.add(entry);
    this.pool.reserve(worker);
    job.emit({ type: 'started', worker: worker.address, attempt: job.attempts });
    // Unique on its data link (all the protocol asks), and it names the job in the worker's log.
    const requestId = `${job.id}/${job.attempts}`.slice(-128);
    entry.attempt = new Attempt(worker.links, requestId, job.spec, (event) => job.emit(event), (end) => this.ended(entry, worker, end));
    entry.attempt.start();
  }

  private ended(entry: Entry, worker: Worker, end: AttemptEnd): void {
    const { job } = entry;
    this.running.delete(entry);
    entry.attempt = null;
    this.pool.release(worker);
    // Whether it is tried again is the job service's decision (./retry.ts), the same in every mode.
    if (end.type === 'result') job.emit({ type: 'done', result: end.result });
    else job.fail(job.cancelRequested ? { code: 'cancelled', message: 'the job was cancelled' } : end.error);
    // Fresh loaded models after a job; after a broken data link, whether the worker itself is gone.
    this.pool.check(worker);
    this.dispatch();
  }

  private cancel(entry: Entry): void {
    const index = this.waiting.indexOf(entry);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      entry.job.fail({ code: 'cancelled', message: 'the job was cancelled' });
    } else {
      entry.attempt?.cancel(); // it ends with the worker's answer, in ended()
    }
  }

  /** No worker up: waiting jobs get noWorkerGraceMs for one to come (or come back), then fail with no_worker. */
  private watchNoWorker(): void {
    const workers = this.pool.list();
    if (workers.some((w) => w.state === 'ready')) {
      this.noWorkerSince = null;
      this.clearDeadline();
      return;
    }
    this.noWorkerSince ??= Date.now();
    if (this.waiting.length === 0 || this.deadline) return;
    const left = this.noWorkerSince + this.options.noWorkerGraceMs - Date.now();
    if (left > 0) {
      this.deadline = setTimeout(() => {
        this.deadline = null;
        this.dispatch();
      }, left);
      this.deadline.unref();
      return;
    }
    const reasons = workers.map((w) => `${w.address}: ${w.error ?? 'down'}`).join('; ');
    for (const { job } of this.waiting.splice(0)) {
      job.fail({ code: 'no_worker', message: `No Whisper worker is reachable (${reasons}). Start one with 'make start' or check WHISPER_HOST/WHISPER_PORT.` });
    }
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }
}
