// Durable jobs: every job, synchronous or not, is a record in the store with
// its audio under DATA_DIR, and its events are stored as they happen. The feed
// decides which process runs a job and when (./feed.ts), the scheduler runs it
// on a worker; this service keeps the record in step, tells every reader what
// happened over the bus (./bus.ts), and hands the finished job to its webhook.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { JobEvent, JobHandle, JobQueue } from './types.ts';
import { FINISHED, type JobRecord, type JobRequest, type JobStore, type Outcome, type StoredEvent } from './store.ts';
import type { JobFeed, JobRunner, RunEnd } from './feed.ts';
import type { BusMessage, JobBus } from './bus.ts';
import { afterFailure, CANCELLED_ERROR, refuseStart, triedOn } from './retry.ts';
import { checkCallbackUrl, deliverWebhook, deliveryOver, type WebhookDelivery, type WebhookSettings } from './webhooks.ts';
import type { AudioFiles } from './audio-files.ts';
import { jobObject } from './job-object.ts';
import { ApiError } from '../errors.ts';
import { owned, storeFailure, type Log } from './owned.ts';

const CANCELLED: Outcome = { status: 'cancelled', error: CANCELLED_ERROR };
// How soon what a failing store refused is tried again: an outcome it could not write, a job it could not keep running.
const STORE_RETRY_MS = 5000;

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
  log: Log;
}

interface Running {
  handle: JobHandle | null; // null until the stored events are read
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
  private readonly log: Log;
  // Outcomes the store refused to write (a full disk, Redis out of memory): told to readers now, written once it takes them.
  private readonly unwritten = new Map<string, Outcome>();
  private readonly rewriter: NodeJS.Timeout;

  constructor(options: ServiceOptions) {
    this.options = options;
    ({ store: this.store, queue: this.queue, feed: this.feed, bus: this.bus, audio: this.audio, log: this.log } = options);
    this.bus.subscribe((m) => this.hear(m));
    this.purger = setInterval(() => this.purgeInBackground(), 10 * 60_000);
    this.purger.unref();
    this.rewriter = setInterval(() => owned(this.log, 'writing the outcomes the store refused', this.rewrite()), STORE_RETRY_MS);
    this.rewriter.unref();
  }

  /** Recovers what a crash left and begins running jobs; resumes the webhooks a restart interrupted. */
  async start(): Promise<void> {
    await this.feed.start(this);
    this.purgeInBackground();
    owned(this.log, 'resuming pending webhooks', this.resumeWebhooks());
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
    let record: JobRecord;
    try {
      record = await this.store.create(id, request, audioPath);
    } catch (e) {
      await this.audio.remove(id).catch(() => {}); // nothing was kept; the sweep takes it if this fails too
      throw storeFailure(e).asApiError();
    }
    // Stored: from here the job is the feed's. A gateway that dies before the feed has it leaves it queued
    // in the store, and the feed takes it from there (RedisFeed.requeueStranded).
    try {
      await this.feed.add(record);
    } catch (e) {
      // The client is told it failed, so it must not run: ended here (or, if even that is refused, run once the store is back).
      const failure = storeFailure(e);
      await this.finish(id, { status: 'failed', error: failure.jobError() });
      throw failure.asApiError();
    }
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

  /**
   * Stored events after `afterSeq`, then live ones, until the job ends or
   * `signal` aborts. An outcome the store refused (see finish()) ends it too,
   * as a last event numbered after the stored ones.
   */
  async *events(id: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    const pending: StoredEvent[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    let told: Outcome | null = null;
    let reread = true; // the store first; again after the bus may have missed messages
    const onMessage = (m: BusMessage) => {
      if (m.type === 'event') pending.push({ seq: m.seq, event: m.event });
      else if (m.type === 'end') (ended = true), (told = m.outcome ?? null);
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
          const status = (await this.store.get(id))?.status ?? 'failed'; // a job gone counts as ended
          if (FINISHED.has(status)) (ended = true), (told = null);
          else if (this.unwritten.has(id)) (ended = true), (told = this.unwritten.get(id)!);
          for (const stored of await this.store.events(id, last)) if (stored.seq > last) yield ((last = stored.seq), stored);
        }
        for (const e of pending.splice(0)) if (e.seq > last) yield ((last = e.seq), e);
        if (ended || !open()) break;
        if (pending.length === 0 && !reread) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      const outcome = told as Outcome | null;
      if (outcome && open()) yield { seq: last + 1, event: outcome.status === 'succeeded' ? { type: 'done', result: outcome.result } : { type: 'failed', error: outcome.error } };
    } finally {
      this.live.off(id, onMessage);
      this.live.off('*', onMessage);
      signal.removeEventListener('abort', onAbort);
      this.closing.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The finished record (for the synchronous endpoints), wherever the job ran;
   * not_found when the job is deleted meanwhile. Waits for the bus between
   * reads, one wait per read: a resync (the bus reconnected) is one more read,
   * never a loop of them.
   */
  async finished(id: string): Promise<JobRecord> {
    for (;;) {
      const next = this.nextMessage(id);
      try {
        const now = await this.store.get(id);
        if (!now) throw new ApiError('not_found', `Job ${id} was deleted while this request waited for it.`, 'id');
        if (FINISHED.has(now.status)) return now;
        const unwritten = this.unwritten.get(id);
        if (unwritten) return withOutcome(now, unwritten);
        const message = await next.message;
        if (message === null) throw new ApiError('shutting_down', 'The gateway is shutting down: the job goes on, and its result can be fetched from GET /api/jobs/{id}.');
        if (message.type === 'end' && message.outcome) return withOutcome(now, message.outcome);
      } finally {
        next.dispose();
      }
    }
  }

  /** The next bus message about `id` (its end, or a resync); armed before the store is read, so nothing is missed. */
  private nextMessage(id: string): { message: Promise<Extract<BusMessage, { type: 'end' | 'resync' }> | null>; dispose(): void } {
    let resolve!: (m: Extract<BusMessage, { type: 'end' | 'resync' }> | null) => void;
    const message = new Promise<Extract<BusMessage, { type: 'end' | 'resync' }> | null>((r) => (resolve = r));
    const onMessage = (m: BusMessage) => (m.type === 'end' || m.type === 'resync') && resolve(m);
    const onClose = () => resolve(null);
    this.live.on(id, onMessage);
    this.live.on('*', onMessage);
    this.closing.signal.addEventListener('abort', onClose);
    return {
      message,
      dispose: () => {
        this.live.off(id, onMessage);
        this.live.off('*', onMessage);
        this.closing.signal.removeEventListener('abort', onClose);
      },
    };
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
    clearInterval(this.rewriter);
    await this.feed.close();
    await this.bus.close();
    await this.store.close();
  }

  /**
   * Runs a stored job here. Never rejects: whatever fails on the way (a store
   * that refuses a write, a bug) ends this run in a known state, the job
   * failed or handed back to the feed, and is logged.
   */
  run(record: JobRecord, worker: string | null): Promise<RunEnd> {
    const id = record.id;
    let end!: (end: RunEnd) => void;
    const ended = new Promise<RunEnd>((resolve) => (end = resolve));
    const state: Running = {
      handle: null, async: record.request.source === 'jobs', cancelled: false, attempts: record.attempts, worker: null,
      anyEvents: false, lastSegment: -1, processed: record.processed ?? -1, hasInfo: record.language !== null, end,
    };
    // Known before any await, so a cancel from the bus finds it from now on.
    this.running.set(id, state);
    this.attempt(record, worker, state).catch((err: unknown) => this.runFailed(id, state, err));
    return ended;
  }

  /** Ends a job that will not run (cancelled in line, its audio missing, no worker for a request that waits). */
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
    running.handle?.cancel(); // no handle yet: attempt() sees the flag
    return true;
  }

  /** One attempt: refused when the job's attempts are spent, else submitted to the scheduler and followed to its end. */
  private async attempt(record: JobRecord, worker: string | null, state: Running): Promise<void> {
    const id = record.id;
    const refused = refuseStart(record.attempts);
    if (refused) return this.finish(id, { status: 'failed', error: refused });
    const stored = await this.store.events(id, 0);
    const segments = stored.flatMap((e) => (e.event.type === 'segment' ? [e.event.segment.id] : []));
    state.anyEvents = stored.length > 0;
    state.lastSegment = segments.length ? Math.max(...segments) : -1;
    if (state.cancelled) return this.finish(id, CANCELLED);
    state.handle = this.queue.submit({
      id, model: record.request.model, options: record.request.options, audioPath: record.audio_path!,
      audioBytes: record.request.audio_bytes, previousAttempts: record.attempts, worker: worker ?? undefined, avoid: triedOn(stored),
    });
    await this.follow(id, state);
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
      if (event.type !== 'failed') {
        await this.record(id, state, event);
        continue;
      }
      const decision = afterFailure({ error: event.error, attempts: state.attempts, async: state.async, cancelled: state.cancelled, draining: this.draining });
      if (decision.type === 'retry') return this.handBack(id, state, decision.delayMs);
      await this.record(id, state, { type: 'failed', error: decision.error });
    }
  }

  /** The attempt failed and the job is tried again: back in line (elsewhere when another worker is free: retry.ts triedOn). */
  private async handBack(id: string, state: Running, delayMs: number): Promise<void> {
    this.running.delete(id);
    await this.store.requeue(id);
    state.end({ type: 'requeue', delayMs });
  }

  /**
   * The run broke (a store that refused a write: a full disk, Redis out of
   * memory; or a bug). Its work on the worker is stopped. A job submitted to
   * the jobs API goes back in line, to run again once the store takes writes;
   * a synchronous request's job fails, so that its client hears why now.
   */
  private async runFailed(id: string, state: Running, err: unknown): Promise<void> {
    const failure = storeFailure(err);
    this.log.error({ err, job: id }, `job ${id}: ${failure.message}; ${state.async ? 'it goes back in line' : 'it fails'}`);
    state.handle?.cancel();
    if (this.running.get(id) !== state) return state.end({ type: 'requeue', delayMs: STORE_RETRY_MS });
    if (state.async && !state.cancelled && !this.closing.signal.aborted) {
      this.running.delete(id);
      await this.store.requeue(id).catch(() => {}); // refused too, most likely: the feed runs it again whatever it says
      return state.end({ type: 'requeue', delayMs: STORE_RETRY_MS });
    }
    await this.finish(id, state.cancelled ? CANCELLED : { status: 'failed', error: failure.jobError() });
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
    if (event.type === 'failed') await this.finish(id, event.error.code === 'cancelled' ? CANCELLED : { status: 'failed', error: event.error });
  }

  /**
   * Writes the outcome and tells everyone: readers, the webhook, the listeners.
   * Never throws: an outcome the store refuses is kept here, told to readers at
   * once, and written when the store takes it (rewrite()).
   */
  private async finish(id: string, outcome: Outcome): Promise<void> {
    const state = this.running.get(id);
    this.running.delete(id);
    let done: JobRecord | null;
    try {
      done = await this.store.finish(id, outcome);
    } catch (err) {
      this.log.error({ err, job: id }, `job ${id} ended ${outcome.status}, but the store refused to record it (${storeFailure(err).message}); it is tried again every ${STORE_RETRY_MS / 1000} s`);
      this.unwritten.set(id, outcome);
      await this.publish({ type: 'end', id, outcome });
      return state?.end({ type: 'finished' });
    }
    this.unwritten.delete(id);
    // Finished already (elsewhere, or a cancel that crossed the end) or deleted: the first outcome stands, told once;
    // readers still hear the end, so that one waiting on a deleted job reads the store again and learns it is gone.
    if (done) await this.afterRecorded(done, state?.worker ?? null);
    else await this.publish({ type: 'end', id });
    state?.end({ type: 'finished' });
  }

  /** What follows a recorded outcome: the audio goes, readers hear of it, the webhook and the listeners are told. */
  private async afterRecorded(done: JobRecord, worker: string | null): Promise<void> {
    await this.audio.remove(done.id).catch((err: unknown) => this.log.warn({ err, job: done.id }, 'the job\'s audio could not be deleted; the hourly sweep tries again'));
    await this.publish({ type: 'end', id: done.id });
    if (done.request.callback_url) owned(this.log, `the webhook of job ${done.id}`, this.notify(done));
    for (const listener of this.finishedListeners) listener(done, worker);
  }

  /** Tells the other gateways; a bus that fails is logged, never the end of the job (their readers resync from the store). */
  private async publish(message: BusMessage): Promise<void> {
    await this.bus.publish(message).catch((err: unknown) => this.log.warn({ err, message: message.type }, 'the job bus refused a message'));
  }

  /** Outcomes the store refused, written again now that it may take them. */
  private async rewrite(): Promise<void> {
    for (const [id, outcome] of this.unwritten) {
      if (this.closing.signal.aborted) return;
      const done = await this.store.finish(id, outcome).catch(() => undefined);
      if (done === undefined) return; // still refused: the next round
      this.unwritten.delete(id);
      this.log.info({ job: id }, `job ${id}: its outcome (${outcome.status}) is recorded now`);
      if (done) await this.afterRecorded(done, null);
    }
  }

  /** Delivers a finished job's webhook, saving each attempt; a delivery a restart interrupted is resumed at start. */
  private async notify(job: JobRecord, forMs = 10 * 60_000): Promise<void> {
    if (!(await this.store.claimWebhook(job.id, forMs))) return; // another gateway delivers it
    const payload = await this.view(job);
    const save = (d: WebhookDelivery) =>
      owned(this.log, `saving the webhook delivery of job ${job.id}`, this.store.recordWebhook(job.id, d, deliveryOver(d, this.options.webhooks)));
    const delivery = await deliverWebhook(job.request.callback_url!, `job_${job.id}`, payload, this.options.webhooks, save, this.stopping.signal, job.webhook);
    if (delivery.attempts === (job.webhook?.attempts ?? 0)) return; // not one attempt (shutting down): still pending
    this.log.info({ job: job.id, delivered: delivery.delivered, attempts: delivery.attempts }, 'webhook delivery ended');
  }

  private async resumeWebhooks(): Promise<void> {
    for (const job of await this.store.pendingWebhooks()) {
      if (this.stopping.signal.aborted) return;
      owned(this.log, `the webhook of job ${job.id}`, this.notify(job));
    }
  }

  private purgeInBackground(): void {
    owned(this.log, 'purging expired jobs', this.purge());
  }

  /** Deletes finished jobs older than JOB_RETENTION_HOURS (0 keeps them forever), and orphaned audio; runs every 10 minutes. */
  async purge(now = Date.now()): Promise<number> {
    if (this.closing.signal.aborted) return 0;
    await this.sweepAudio(now);
    if (this.options.retentionHours <= 0 || this.closing.signal.aborted) return 0;
    const expired = await this.store.expired(now - this.options.retentionHours * 3_600_000);
    for (const job of expired) await this.remove(job.id);
    return expired.length;
  }

  /**
   * Audio a crash left behind (between a job's end and its audio's removal):
   * a finished job's at once, and one with no record once it is an hour old
   * (its record may be about to be written: audio is adopted just before).
   */
  private async sweepAudio(now: number): Promise<void> {
    for (const { id, arrived } of await this.audio.files()) {
      if (this.closing.signal.aborted) return; // the store is closed under a sweep that started just before
      const record = await this.store.get(id);
      const orphan = record ? FINISHED.has(record.status) : arrived < now - ORPHAN_AGE_MS;
      if (orphan && !this.unwritten.has(id)) await this.audio.remove(id);
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

/** A record as it will be once its outcome is written: what a reader is told while the store refuses the write. */
function withOutcome(record: JobRecord, outcome: Outcome): JobRecord {
  const told = outcome.status === 'succeeded' ? { result: outcome.result } : { error: outcome.error };
  return { ...record, status: outcome.status, finished_at: record.finished_at ?? Date.now(), audio_path: null, ...told };
}
