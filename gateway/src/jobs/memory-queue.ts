// The in-memory job queue and its scheduler. Jobs wait here, in order, not in
// the workers: a job goes to a worker only when that worker has a free slot,
// preferring one that already holds the model, so nothing waits behind a long
// file while another worker idles. Storage (this array) and scheduling are
// apart so that a durable queue can reuse the scheduling.
import type { JobQueue, JobSpec, JobEvent, TranscriptionResult } from './types.ts';
import { Job } from './job.ts';
import type { Worker, WorkerPool } from '../workers/pool.ts';
import type { Reply } from '../workers/connection.ts';

export interface QueueOptions {
  maxAttempts: number;
  noWorkerGraceMs: number; // how long jobs wait for some worker to come up before failing
}

// Worker errors that another attempt cannot fix.
const RETRYABLE = new Set(['worker_lost', 'overloaded', 'internal']);

export class MemoryQueue implements JobQueue {
  private readonly pool: WorkerPool;
  private readonly options: QueueOptions;
  private readonly waiting: Job[] = [];
  private readonly running = new Set<Job>();
  private noWorkerSince: number | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(pool: WorkerPool, options: QueueOptions) {
    this.pool = pool;
    this.options = options;
    pool.onChange = () => this.dispatch();
    this.timer = setInterval(() => this.dispatch(), 250);
    this.timer.unref();
  }

  submit(spec: JobSpec, signal?: AbortSignal): Job {
    const job = new Job(spec);
    job.onCancel = () => this.cancel(job);
    signal?.addEventListener('abort', () => job.cancel(), { once: true });
    this.waiting.push(job);
    job.emit({ type: 'queued', position: this.waiting.length });
    queueMicrotask(() => this.dispatch());
    return job;
  }

  counts(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running.size };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const job of [...this.waiting, ...this.running]) job.fail({ code: 'cancelled', message: 'the gateway is shutting down' });
  }

  private dispatch(): void {
    this.failIfNoWorker();
    while (this.waiting.length > 0) {
      const job = this.waiting[0]!;
      const worker = this.pick(job.spec.model);
      if (!worker) return;
      this.waiting.shift();
      this.start(job, worker);
    }
  }

  private pick(model: string): Worker | undefined {
    const free = this.pool.list().filter((w) => w.freeSlots > 0 && w.connection?.state === 'open');
    free.sort((a, b) => Number(b.loadedModels.includes(model)) - Number(a.loadedModels.includes(model)) || b.freeSlots - a.freeSlots);
    return free[0];
  }

  private failIfNoWorker(): void {
    const anyUp = this.pool.list().some((w) => w.up);
    if (anyUp) {
      this.noWorkerSince = null;
      return;
    }
    this.noWorkerSince ??= Date.now();
    if (Date.now() - this.noWorkerSince < this.options.noWorkerGraceMs) return;
    const reasons = this.pool.list().map((w) => `${w.address}: ${w.error ?? 'down'}`).join('; ');
    for (const job of this.waiting.splice(0)) {
      job.fail({ code: 'no_worker', message: `No Whisper worker is reachable (${reasons}). Start one with 'make start' or check WHISPER_HOST/WHISPER_PORT.` });
    }
  }

  private start(job: Job, worker: Worker): void {
    job.state = 'running';
    job.attempts += 1;
    this.running.add(job);
    worker.inFlight += 1;
    job.emit({ type: 'started', worker: worker.address, attempt: job.attempts });
    const requestId = `${job.id}/${job.attempts}`;
    job.onCancel = () => worker.connection?.send({ command: 'cancel', target: requestId }, () => {});
    worker.connection!.send(
      { id: requestId, command: 'transcribe', model: job.spec.model, options: job.spec.options },
      (reply) => this.onReply(job, worker, reply),
      job.spec.audioPath,
      job.spec.audioBytes,
    );
  }

  private onReply(job: Job, worker: Worker, reply: Reply): void {
    const event = toEvent(reply);
    if (event) {
      job.emit(event);
      return;
    }
    if (reply.type !== 'result' && reply.type !== 'error') return;
    this.running.delete(job);
    worker.inFlight -= 1;
    void this.pool.poll(worker);
    if (reply.type === 'result') {
      job.emit({ type: 'done', result: reply.result as TranscriptionResult });
      return;
    }
    if (reply.type !== 'error') return;
    const error = reply.error;
    if (job.cancelRequested) {
      job.fail({ code: 'cancelled', message: 'the job was cancelled' });
    } else if (RETRYABLE.has(error.code) && job.attempts < this.options.maxAttempts) {
      this.requeue(job); // segments already streamed come again from the start: readers skip ids they have
    } else {
      const code = error.code === 'worker_lost' ? 'no_worker' : error.code;
      const message = error.code === 'worker_lost' ? `the job failed on ${job.attempts} worker(s); last: ${error.message}` : error.message;
      job.fail({ code, message });
    }
    this.dispatch();
  }

  private requeue(job: Job): void {
    job.state = 'waiting';
    job.onCancel = () => this.cancel(job);
    this.waiting.unshift(job);
  }

  private cancel(job: Job): void {
    const index = this.waiting.indexOf(job);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      job.fail({ code: 'cancelled', message: 'the job was cancelled' });
    }
  }
}

/** A worker's event as a job event: the reply was checked against the protocol schema on arrival. */
function toEvent(reply: Reply): JobEvent | null {
  switch (reply.type) {
    case 'queued':
      return { type: 'queued', position: reply.position };
    case 'info':
      return { type: 'info', language: reply.language, language_probability: reply.language_probability, duration: reply.duration, model: reply.model };
    case 'progress':
      return { type: 'progress', processed: reply.processed, duration: reply.duration };
    case 'segment':
      return { type: 'segment', segment: reply.segment };
    default:
      return null;
  }
}
