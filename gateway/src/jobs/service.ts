// Durable jobs: every job, synchronous or not, is a record in the store with
// its audio under DATA_DIR, and its events are stored as they happen. The
// scheduler (the JobQueue) only runs them; this service keeps the record in
// step, replays events to late readers, recovers after a crash and hands the
// finished job to its webhook.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { JobEvent, JobHandle, JobQueue } from './types.ts';
import { FINISHED, type JobRecord, type JobRequest, type JobStore, type StoredEvent } from './store.ts';
import { checkCallbackUrl, deliverWebhook, type WebhookSettings } from './webhooks.ts';
import type { AudioFiles } from './audio-files.ts';
import { jobObject } from './job-object.ts';
import { ApiError } from '../errors.ts';

export const MAX_ATTEMPTS = 3;
const NO_WORKER_RETRY_MS = 5000; // an async job outlives a worker restart: it waits, it does not fail

export interface ServiceOptions {
  store: JobStore;
  queue: JobQueue;
  audio: AudioFiles;
  retentionHours: number;
  webhooks: WebhookSettings;
}

interface Running {
  handle: JobHandle;
  started: boolean;
  cancelled: boolean;
  // What is stored already: a retry's (or a restart's) info, segments and progress up to it are repeats.
  lastSegment: number;
  processed: number;
  hasInfo: boolean;
  anyEvents: boolean;
  worker: string | null; // where the latest attempt runs, for the finished job's log line
}

export class JobService {
  private readonly store: JobStore;
  private readonly queue: JobQueue;
  private readonly audio: AudioFiles;
  private readonly options: ServiceOptions;
  private readonly live = new EventEmitter();
  private readonly running = new Map<string, Running>();
  private readonly stopping = new AbortController(); // draining: no new work
  private readonly closing = new AbortController(); // closed: live readers end too
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly purger: NodeJS.Timeout;
  private readonly settled = new EventEmitter();
  private readonly finishedListeners: Array<(job: JobRecord, worker: string | null) => void> = [];

  constructor(options: ServiceOptions) {
    this.options = options;
    this.store = options.store;
    this.queue = options.queue;
    this.audio = options.audio;
    this.live.setMaxListeners(0);
    this.settled.setMaxListeners(0);
    this.recover();
    void this.purge();
    this.purger = setInterval(() => void this.purge(), 10 * 60_000);
    this.purger.unref();
  }

  get draining(): boolean {
    return this.stopping.signal.aborted;
  }

  get uploadsDir(): string {
    return this.audio.uploads;
  }

  /**
   * Whether new work from `owner` may come in, checked before its upload is read:
   * not while shutting down (503 with Retry-After), nor past MAX_JOBS_PER_KEY (429).
   */
  admit(owner: string | null, maxActive: number): void {
    if (this.draining) throw new ApiError('shutting_down', 'The gateway is shutting down: send the request again in a few seconds (to another gateway, or to this one once restarted).');
    const active = this.store.activeCount(owner);
    if (active >= maxActive) {
      throw new ApiError('too_many_jobs', `${owner ? `The key '${owner}' has` : 'There are'} ${active} jobs queued or running, the most allowed (MAX_JOBS_PER_KEY=${maxActive}): wait for some to finish, or cancel some.`);
    }
  }

  /** Takes over an uploaded file and queues its job (its id: the HTTP request's, so logs join up). */
  async submit(uploadPath: string, request: JobRequest, id: string = randomUUID()): Promise<JobRecord> {
    const audioPath = await this.audio.adopt(uploadPath, id);
    const record = this.store.create(id, request, audioPath);
    this.run(record);
    return record;
  }

  /** Told once of each job that ends in this process, with its last attempt's worker (metrics, the job's log line). */
  onFinished(listener: (job: JobRecord, worker: string | null) => void): void {
    this.finishedListeners.push(listener);
  }

  get(id: string): JobRecord | null {
    return this.store.get(id);
  }

  view(record: JobRecord) {
    return jobObject(record, record.status === 'queued' ? this.store.position(record.id) : null);
  }

  /** Stored events after `afterSeq`, then live ones, until the job ends or `signal` aborts. */
  async *events(id: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    const pending: StoredEvent[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    const onEvent = (e: StoredEvent | null) => {
      if (e) pending.push(e);
      else ended = true; // null: the job ended
      wake?.();
    };
    // Subscribed before reading the store: node:sqlite is synchronous, so nothing is appended in between.
    this.live.on(id, onEvent);
    ended = FINISHED.has(this.store.get(id)?.status ?? 'failed'); // a job gone counts as ended
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    this.closing.signal.addEventListener('abort', onAbort);
    try {
      let last = afterSeq;
      for (const stored of this.store.events(id, afterSeq)) {
        yield stored;
        last = stored.seq;
      }
      while (!ended && !signal.aborted && !this.closing.signal.aborted) {
        if (pending.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        for (const e of pending.splice(0)) if (e.seq > last) yield ((last = e.seq), e);
      }
      for (const e of pending.splice(0)) if (e.seq > last) yield ((last = e.seq), e);
    } finally {
      this.live.off(id, onEvent);
      signal.removeEventListener('abort', onAbort);
      this.closing.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The finished record (for the synchronous endpoints). */
  finished(id: string): Promise<JobRecord> {
    const now = this.store.get(id);
    if (now && FINISHED.has(now.status)) return Promise.resolve(now);
    return new Promise((resolve) => this.settled.once(id, resolve));
  }

  /** Cancels a queued or running job; true when there was one to cancel. */
  cancel(id: string): boolean {
    const running = this.running.get(id);
    if (running) {
      running.cancelled = true;
      running.handle.cancel();
      return true;
    }
    const record = this.store.get(id);
    if (!record || FINISHED.has(record.status)) return false;
    // Queued but with no handle: waiting out a time with no worker.
    this.finish(record.id, { status: 'cancelled', error: { code: 'cancelled', message: 'the job was cancelled' } });
    return true;
  }

  /** A callback URL checked against the webhook settings this service delivers with (400 when refused). */
  checkCallbackUrl(raw: string): string {
    return checkCallbackUrl(raw, this.options.webhooks);
  }

  list(query: Parameters<JobStore['list']>[0]) {
    return this.store.list(query);
  }

  /** Deletes a finished job's record, events and audio. */
  async remove(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record) return;
    this.store.delete(id);
    await this.audio.remove(id);
  }

  /**
   * SIGTERM: no new work; jobs still waiting stay queued in the store for the
   * next start; running ones get up to `graceMs` to finish.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping.abort();
    for (const [, r] of this.running) if (!r.started) r.handle.cancel();
    const deadline = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }

  /** Live readers end (so the HTTP server can close); nothing more is recorded. */
  endLiveReaders(): void {
    this.stopping.abort();
    this.closing.abort();
  }

  /** Ends everything and closes the store, which the service owns from its construction. */
  close(): void {
    this.endLiveReaders();
    clearInterval(this.purger);
    for (const t of this.timers) clearTimeout(t);
    this.store.close();
  }

  private recover(): void {
    for (const job of this.store.interrupted()) {
      if (job.attempts >= MAX_ATTEMPTS) {
        this.finish(job.id, { status: 'failed', error: { code: 'internal', message: `the gateway stopped ${job.attempts} times while this job ran; it was not tried again` } });
      } else {
        this.store.requeue(job.id);
      }
    }
    for (const job of this.store.queued()) this.run(job);
  }

  private run(record: JobRecord): void {
    const handle = this.queue.submit({
      id: record.id,
      model: record.request.model,
      options: record.request.options,
      audioPath: record.audio_path!,
      audioBytes: record.request.audio_bytes,
      previousAttempts: record.attempts,
    });
    const stored = this.store.events(record.id, 0);
    const segments = stored.flatMap((e) => (e.event.type === 'segment' ? [e.event.segment.id] : []));
    const state: Running = {
      handle, started: false, cancelled: false, worker: null, anyEvents: stored.length > 0,
      lastSegment: segments.length ? Math.max(...segments) : -1, processed: record.processed ?? -1, hasInfo: record.language !== null,
    };
    this.running.set(record.id, state);
    void this.follow(record.id, state);
  }

  private async follow(id: string, state: Running): Promise<void> {
    for await (const event of state.handle.events()) {
      // After close the store is gone: what happens to the job now is the next start's to recover.
      if (this.closing.signal.aborted || this.running.get(id) !== state) return;
      if (event.type === 'started') {
        state.started = true;
        state.worker = event.worker;
        this.store.markRunning(id, event.attempt);
      }
      if (event.type === 'failed' && this.settleFailure(id, state, event.error)) return;
      this.record(id, state, event);
    }
  }

  /** True when the failure does not end the job (a shutdown, or no worker for an async job). */
  private settleFailure(id: string, state: Running, error: { code: string; message: string }): boolean {
    const record = this.store.get(id)!;
    if (this.draining && !state.cancelled) {
      this.running.delete(id);
      if (record.status === 'running') this.store.requeue(id);
      return true;
    }
    // No worker up: an async job waits for one, unless its attempts are spent (its worker kept dying under it).
    if (error.code === 'no_worker' && record.request.source === 'jobs' && !state.cancelled && record.attempts < MAX_ATTEMPTS) {
      this.running.delete(id);
      if (record.status === 'running') this.store.requeue(id);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const again = this.store.get(id);
        if (again?.status === 'queued' && !this.draining) this.run(again);
      }, NO_WORKER_RETRY_MS);
      this.timers.add(timer);
      return true;
    }
    return false;
  }

  /** Stores an event (a retry's repeats left out), tells live readers, and ends the job on done/failed. */
  private record(id: string, state: Running, event: JobEvent): void {
    if (!isNew(state, event)) return;
    state.anyEvents = true;
    if (event.type === 'segment') state.lastSegment = event.segment.id;
    if (event.type === 'info') {
      state.hasInfo = true;
      this.store.noteProgress(id, { language: event.language, duration: event.duration });
    }
    if (event.type === 'progress') {
      state.processed = event.processed;
      this.store.noteProgress(id, { processed: event.processed, duration: event.duration });
    }
    const seq = this.store.appendEvent(id, event);
    this.live.emit(id, { seq, event });
    if (event.type === 'done') this.finish(id, { status: 'succeeded', result: event.result });
    if (event.type === 'failed') {
      const cancelled = state.cancelled || event.error.code === 'cancelled';
      this.finish(id, cancelled ? { status: 'cancelled', error: { code: 'cancelled', message: 'the job was cancelled' } } : { status: 'failed', error: event.error });
    }
  }

  private finish(id: string, outcome: Parameters<JobStore['finish']>[1]): void {
    const done = this.store.finish(id, outcome);
    const worker = this.running.get(id)?.worker ?? null;
    this.running.delete(id);
    void this.audio.remove(id);
    this.settled.emit(id, done);
    this.live.emit(id, null);
    if (done.request.callback_url) void this.notify(done);
    for (const listener of this.finishedListeners) listener(done, worker);
  }

  private async notify(job: JobRecord): Promise<void> {
    const payload = this.view(job);
    await deliverWebhook(job.request.callback_url!, `job_${job.id}`, payload, this.options.webhooks, (d) => this.store.recordWebhook(job.id, d), this.stopping.signal);
  }

  /** Deletes finished jobs older than JOB_RETENTION_HOURS (0 keeps them forever); runs every 10 minutes. */
  async purge(now = Date.now()): Promise<number> {
    if (this.options.retentionHours <= 0) return 0;
    const expired = this.store.expired(now - this.options.retentionHours * 3_600_000);
    for (const job of expired) await this.remove(job.id);
    return expired.length;
  }
}

/** After a retry or a restart, the new attempt's info, segments and progress up to where the last one got are not news. */
function isNew(state: Running, event: JobEvent): boolean {
  switch (event.type) {
    case 'queued':
      return !state.anyEvents;
    case 'info':
      return !state.hasInfo;
    case 'progress':
      return event.processed > state.processed;
    case 'segment':
      return event.segment.id > state.lastSegment;
    default:
      return true;
  }
}
