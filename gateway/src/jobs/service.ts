// Durable jobs: every job, synchronous or not, is a record in the store with
// its audio under DATA_DIR, and its events are stored as they happen. The feed
// decides which process runs a job and when (./feed.ts), the scheduler runs it
// on a worker; this service keeps the record in step, tells every reader what
// happened over the bus (./bus.ts), and hands the finished job to its webhook.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { JobError, JobEvent, JobHandle, JobQueue } from './types.ts';
import { FINISHED, type JobRecord, type JobRequest, type JobStore, type Outcome, type StoredEvent } from './store.ts';
import { MAX_ATTEMPTS, type JobFeed, type JobRunner, type RunEnd } from './feed.ts';
import type { BusMessage, JobBus } from './bus.ts';
import { RETRYABLE } from './scheduler.ts';
import { checkCallbackUrl, deliverWebhook, type WebhookSettings } from './webhooks.ts';
import type { AudioFiles } from './audio-files.ts';
import { jobObject } from './job-object.ts';
import { ApiError } from '../errors.ts';

export { MAX_ATTEMPTS } from './feed.ts';
const NO_WORKER_RETRY_MS = 5000; // an async job outlives a worker restart: it waits, it does not fail
const CANCELLED: Outcome = { status: 'cancelled', error: { code: 'cancelled', message: 'the job was cancelled' } };

export interface ServiceOptions {
  store: JobStore;
  queue: JobQueue;
  feed: JobFeed;
  bus: JobBus;
  audio: AudioFiles;
  /** For /api/health: which store holds the jobs. */
  storeName: 'sqlite' | 'redis';
  retentionHours: number;
  webhooks: WebhookSettings;
}

interface Running {
  handle: JobHandle | null; // null until the stored events are read
  pinned: boolean; // the feed chose its worker: a retry goes back to the feed, not to another worker here
  async: boolean; // submitted to the jobs API: with no worker up it waits for one (a synchronous request fails)
  cancelled: boolean;
  attempts: number;
  // What is stored already: a retry's (or a restart's) info, segments and progress up to it are repeats.
  lastSegment: number;
  processed: number;
  hasInfo: boolean;
  anyEvents: boolean;
  worker: string | null; // where the latest attempt runs, for the finished job's log line
  end: (end: RunEnd) => void;
}

export class JobService implements JobRunner {
  private readonly store: JobStore;
  private readonly queue: JobQueue;
  private readonly feed: JobFeed;
  private readonly bus: JobBus;
  private readonly audio: AudioFiles;
  private readonly options: ServiceOptions;
  private readonly live = new EventEmitter().setMaxListeners(0); // per job id: its bus messages
  private readonly running = new Map<string, Running>();
  private readonly stopping = new AbortController(); // draining: no new work
  private readonly closing = new AbortController(); // closed: live readers end too
  private readonly purger: NodeJS.Timeout;
  private readonly finishedListeners: Array<(job: JobRecord, worker: string | null) => void> = [];

  constructor(options: ServiceOptions) {
    this.options = options;
    ({ store: this.store, queue: this.queue, feed: this.feed, bus: this.bus, audio: this.audio } = options);
    this.bus.subscribe((m) => this.hear(m));
    this.purger = setInterval(() => void this.purge(), 10 * 60_000);
    this.purger.unref();
  }

  /** Recovers what a crash left and begins running jobs. */
  async start(): Promise<void> {
    await this.feed.start(this);
    void this.purge();
  }

  get draining(): boolean {
    return this.stopping.signal.aborted;
  }

  get storageName(): 'sqlite' | 'redis' {
    return this.options.storeName;
  }

  get uploadsDir(): string {
    return this.audio.uploads;
  }

  /** Null, or why the store cannot be reached (a shared store across the network). */
  storageProblem(): string | null {
    return this.store.health?.() ?? null;
  }

  /** 503 with Retry-After while the store is unreachable: a request must not hang on it. */
  checkStorage(): void {
    const problem = this.storageProblem();
    if (problem) throw new ApiError('storage_unavailable', `${problem}: jobs cannot be stored or read now. Nothing was kept; try again in a few seconds.`);
  }

  /**
   * Whether new work from `owner` may come in, checked before its upload is read:
   * not while shutting down or the store is unreachable (503 with Retry-After),
   * nor past MAX_JOBS_PER_KEY (429).
   */
  async admit(owner: string | null, maxActive: number): Promise<void> {
    if (this.draining) throw new ApiError('shutting_down', 'The gateway is shutting down: send the request again in a few seconds (to another gateway, or to this one once restarted).');
    this.checkStorage();
    const active = await this.store.activeCount(owner);
    if (active >= maxActive) {
      throw new ApiError('too_many_jobs', `${owner ? `The key '${owner}' has` : 'There are'} ${active} jobs queued or running, the most allowed (MAX_JOBS_PER_KEY=${maxActive}): wait for some to finish, or cancel some.`);
    }
  }

  /** Takes over an uploaded file and queues its job (its id: the HTTP request's, so logs join up). */
  async submit(uploadPath: string, request: JobRequest, id: string = randomUUID()): Promise<JobRecord> {
    const audioPath = await this.audio.adopt(uploadPath, id);
    const record = await this.store.create(id, request, audioPath);
    await this.feed.add(record);
    return record;
  }

  /** Work that ran outside the queue (a realtime session), stored as a job that has finished: it is listed, fetched and purged like any other. */
  recordFinished(id: string, request: JobRequest, outcome: Outcome, startedAt: number): Promise<JobRecord> {
    return this.store.insertFinished(id, request, outcome, startedAt);
  }

  /** Told once of each job that ends in this process, with its last attempt's worker (metrics, the job's log line). */
  onFinished(listener: (job: JobRecord, worker: string | null) => void): void {
    this.finishedListeners.push(listener);
  }

  get(id: string): Promise<JobRecord | null> {
    return this.store.get(id);
  }

  async view(record: JobRecord) {
    return jobObject(record, record.status === 'queued' ? await this.store.position(record.id) : null);
  }

  counts(): Promise<{ waiting: number; running: number }> {
    return this.feed.counts();
  }

  /** Stored events after `afterSeq`, then live ones, until the job ends or `signal` aborts. */
  async *events(id: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    const pending: StoredEvent[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    let reread = true; // the store first; again after the bus may have missed messages
    const onMessage = (m: BusMessage) => {
      if (m.type === 'event') pending.push({ seq: m.seq, event: m.event });
      else if (m.type === 'end') ended = true;
      else if (m.type === 'resync') reread = true;
      wake?.();
    };
    // Listening before reading the store: whatever is stored after the read arrives here (repeats are skipped by seq).
    this.live.on(id, onMessage);
    this.live.on('*', onMessage);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    this.closing.signal.addEventListener('abort', onAbort);
    const open = () => !signal.aborted && !this.closing.signal.aborted;
    try {
      let last = afterSeq;
      while (open()) {
        if (reread) {
          reread = false;
          ended ||= FINISHED.has((await this.store.get(id))?.status ?? 'failed'); // a job gone counts as ended
          for (const stored of await this.store.events(id, last)) if (stored.seq > last) yield ((last = stored.seq), stored);
        }
        for (const e of pending.splice(0)) if (e.seq > last) yield ((last = e.seq), e);
        if (ended || !open()) break;
        if (pending.length === 0 && !reread) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.live.off(id, onMessage);
      this.live.off('*', onMessage);
      signal.removeEventListener('abort', onAbort);
      this.closing.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The finished record (for the synchronous endpoints), wherever the job ran. */
  async finished(id: string): Promise<JobRecord> {
    let ended!: () => void;
    const end = new Promise<void>((resolve) => (ended = resolve));
    const onMessage = (m: BusMessage) => (m.type === 'end' || m.type === 'resync') && ended();
    this.live.on(id, onMessage);
    this.live.on('*', onMessage);
    try {
      for (;;) {
        const now = await this.store.get(id);
        if (!now || FINISHED.has(now.status)) return now!;
        await end;
      }
    } finally {
      this.live.off(id, onMessage);
      this.live.off('*', onMessage);
    }
  }

  /** Cancels a queued or running job, wherever it runs; true when there was one to cancel. */
  async cancel(id: string): Promise<boolean> {
    if (this.cancelHere(id)) return true;
    const record = await this.store.get(id);
    if (!record || FINISHED.has(record.status)) return false;
    if (await this.feed.withdraw(id)) await this.settle(id, CANCELLED);
    else await this.bus.publish({ type: 'cancel', id }); // it runs on another gateway
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
    await this.store.delete(id);
    await this.audio.remove(id);
  }

  /**
   * SIGTERM: no new work; jobs still waiting stay queued for the next start (or
   * another gateway); running ones get up to `graceMs` to finish, and what is
   * still running then is stopped and handed back to the queue.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping.abort();
    const feedStopped = this.feed.stop(graceMs + 10_000);
    for (const [, r] of this.running) if (r.worker === null) r.handle?.cancel();
    const deadline = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const [, r] of this.running) r.handle?.cancel(); // not r.cancelled: it is handed back, not cancelled
    await feedStopped;
  }

  /** Live readers end (so the HTTP server can close); nothing more is recorded. */
  endLiveReaders(): void {
    this.stopping.abort();
    this.closing.abort();
  }

  /** Ends everything and closes what the service was given: feed, bus, store. */
  async close(): Promise<void> {
    this.endLiveReaders();
    clearInterval(this.purger);
    await this.feed.close();
    await this.bus.close();
    await this.store.close();
  }

  async run(record: JobRecord, worker: string | null): Promise<RunEnd> {
    const id = record.id;
    let end!: (end: RunEnd) => void;
    const ended = new Promise<RunEnd>((resolve) => (end = resolve));
    const state: Running = {
      handle: null, pinned: worker !== null, async: record.request.source === 'jobs', cancelled: false, attempts: record.attempts, worker: null,
      anyEvents: false, lastSegment: -1, processed: record.processed ?? -1, hasInfo: record.language !== null, end,
    };
    // Known before any await, so a cancel from the bus finds it from now on.
    this.running.set(id, state);
    const stored = await this.store.events(id, 0);
    const segments = stored.flatMap((e) => (e.event.type === 'segment' ? [e.event.segment.id] : []));
    state.anyEvents = stored.length > 0;
    state.lastSegment = segments.length ? Math.max(...segments) : -1;
    if (state.cancelled) {
      await this.finish(id, CANCELLED);
      return ended;
    }
    state.handle = this.queue.submit({
      id, model: record.request.model, options: record.request.options, audioPath: record.audio_path!,
      audioBytes: record.request.audio_bytes, previousAttempts: record.attempts, worker: worker ?? undefined,
    });
    void this.follow(id, state);
    return ended;
  }

  async settle(id: string, outcome: Outcome): Promise<void> {
    await this.finish(id, outcome);
  }

  private hear(m: BusMessage): void {
    if (m.type === 'cancel') this.cancelHere(m.id);
    else if (m.type === 'event' || m.type === 'end') this.live.emit(m.id, m);
    else if (m.type === 'resync') this.live.emit('*', m);
  }

  private cancelHere(id: string): boolean {
    const running = this.running.get(id);
    if (!running) return false;
    running.cancelled = true;
    running.handle?.cancel(); // no handle yet: run() sees the flag
    return true;
  }

  private async follow(id: string, state: Running): Promise<void> {
    for await (const event of state.handle!.events()) {
      // After close the store is gone: what happens to the job now is the next start's (or another gateway's) to recover.
      if (this.closing.signal.aborted || this.running.get(id) !== state) return state.end({ type: 'requeue', delayMs: 0 });
      if (event.type === 'started') {
        state.worker = event.worker;
        state.attempts = event.attempt;
        await this.store.markRunning(id, event.attempt);
      }
      if (event.type === 'failed') {
        const requeued = await this.settleFailure(id, state, event.error);
        if (requeued) return state.end(requeued);
      }
      await this.record(id, state, event);
    }
  }

  /** A failure that does not end the job: a shutdown, no worker for an async job, or a retry of a job the feed placed. */
  private async settleFailure(id: string, state: Running, error: JobError): Promise<RunEnd | null> {
    if (state.cancelled) return null;
    let delayMs: number | null = null;
    if (this.draining) delayMs = 0;
    // No worker up: an async job waits for one, unless its attempts are spent (its worker kept dying under it).
    else if (error.code === 'no_worker' && state.async && state.attempts < MAX_ATTEMPTS) delayMs = NO_WORKER_RETRY_MS;
    else if (state.pinned && RETRYABLE.has(error.code) && state.attempts < MAX_ATTEMPTS) delayMs = 1000;
    if (delayMs === null) return null;
    this.running.delete(id);
    await this.store.requeue(id);
    return { type: 'requeue', delayMs };
  }

  /** Stores an event (a retry's repeats left out), tells every reader, and ends the job on done/failed. */
  private async record(id: string, state: Running, event: JobEvent): Promise<void> {
    if (!isNew(state, event)) return;
    state.anyEvents = true;
    if (event.type === 'segment') state.lastSegment = event.segment.id;
    if (event.type === 'info') {
      state.hasInfo = true;
      await this.store.noteProgress(id, { language: event.language, duration: event.duration });
    }
    if (event.type === 'progress') {
      state.processed = event.processed;
      await this.store.noteProgress(id, { processed: event.processed, duration: event.duration });
    }
    const seq = await this.store.appendEvent(id, event);
    await this.bus.publish({ type: 'event', id, seq, event });
    if (event.type === 'done') await this.finish(id, { status: 'succeeded', result: event.result });
    if (event.type === 'failed') await this.finish(id, state.cancelled || event.error.code === 'cancelled' ? CANCELLED : { status: 'failed', error: event.error });
  }

  private async finish(id: string, outcome: Outcome): Promise<void> {
    const state = this.running.get(id);
    this.running.delete(id);
    const done = await this.store.finish(id, outcome);
    // Finished already (elsewhere, or a cancel that crossed the end): the first outcome stands, told once.
    if (!done) return state?.end({ type: 'finished' });
    await this.audio.remove(id);
    await this.bus.publish({ type: 'end', id });
    state?.end({ type: 'finished' });
    if (done.request.callback_url) void this.notify(done);
    for (const listener of this.finishedListeners) listener(done, state?.worker ?? null);
  }

  private async notify(job: JobRecord): Promise<void> {
    const payload = await this.view(job);
    await deliverWebhook(job.request.callback_url!, `job_${job.id}`, payload, this.options.webhooks, (d) => void this.store.recordWebhook(job.id, d), this.stopping.signal);
  }

  /** Deletes finished jobs older than JOB_RETENTION_HOURS (0 keeps them forever), and orphaned audio; runs every 10 minutes. */
  async purge(now = Date.now()): Promise<number> {
    if (this.closing.signal.aborted) return 0;
    await this.sweepAudio(now - ORPHAN_AGE_MS);
    if (this.options.retentionHours <= 0 || this.closing.signal.aborted) return 0;
    const expired = await this.store.expired(now - this.options.retentionHours * 3_600_000);
    for (const job of expired) await this.remove(job.id);
    return expired.length;
  }

  private async sweepAudio(before: number): Promise<void> {
    for (const id of await this.audio.arrivedBefore(before)) {
      if (this.closing.signal.aborted) return; // the store is closed under a sweep that started just before
      const record = await this.store.get(id);
      if (!record || FINISHED.has(record.status)) await this.audio.remove(id);
    }
  }
}

/** Audio whose job has finished or is gone (a crash between the two writes), once it is this old. */
const ORPHAN_AGE_MS = 3_600_000;

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
