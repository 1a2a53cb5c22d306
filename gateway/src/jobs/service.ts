// Durable jobs, as the HTTP edge and the realtime API see them: a thin facade
// over the parts. Every job, synchronous or not, is a record in the store with
// its audio under DATA_DIR, its events stored as they happen. The feed decides
// which process runs a job and when (./feed.ts); the runner runs it
// (./runner.ts); the readers follow it (./readers.ts); outcomes are recorded
// and told (./outcomes.ts), webhooks delivered (./webhooks.ts), and what is
// old purged (./retention.ts).
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { FINISHED, type JobRecord, type JobRequest, type JobStore, type Outcome, type Revised, type StoredEvent, type TranscriptRevision } from './store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';
import type { JobFeed } from './feed.ts';
import type { JobBus } from './bus.ts';
import type { Dispatcher } from '../dispatch/types.ts';
import { CANCELLED_ERROR } from './retry.ts';
import { checkCallbackUrl, WebhookDeliveries, type WebhookSettings } from './webhooks.ts';
import type { AudioFiles } from './audio-files.ts';
import { JobReaders } from './readers.ts';
import { JobRunner } from './runner.ts';
import { Outcomes, STORE_RETRY_MS } from './outcomes.ts';
import { Retention } from './retention.ts';
import { storeFailure } from './store-failure.ts';
import { ApiError } from '../errors.ts';
import { owned, type Log } from '../owned.ts';

export interface ServiceOptions {
  store: JobStore;
  dispatcher: Dispatcher;
  feed: JobFeed;
  bus: JobBus;
  audio: AudioFiles;
  /** For /api/health: which store holds the jobs. */
  storeName: 'sqlite' | 'redis';
  retentionHours: number;
  /** KEEP_AUDIO: a succeeded job's audio stays, for playback, until the job is deleted or purged. */
  keepAudio: boolean;
  webhooks: WebhookSettings;
  /** A finished job's webhook payload: its API object, rendered by the HTTP edge. */
  webhookPayload: (job: JobRecord) => Promise<object>;
  log: Log;
}

export class JobService {
  private readonly options: ServiceOptions;
  private readonly store: JobStore;
  private readonly feed: JobFeed;
  private readonly stopping = new AbortController(); // draining: no new work
  private readonly closing = new AbortController(); // closed: live readers end too
  private readonly outcomes: Outcomes;
  private readonly runner: JobRunner;
  private readonly readers: JobReaders;
  private readonly retention: Retention;
  private readonly webhooks: WebhookDeliveries;
  private readonly timers: NodeJS.Timeout[];
  private readonly finishedListeners: Array<(job: JobRecord, worker: string | null) => void> = [];

  constructor(options: ServiceOptions) {
    this.options = options;
    const { store, feed, bus, audio, log } = options;
    this.store = store;
    this.feed = feed;
    const closed = () => this.closing.signal.aborted;
    this.webhooks = new WebhookDeliveries({ settings: options.webhooks, store, log, payload: options.webhookPayload, stopping: this.stopping.signal });
    // What of a finished job's audio stays: a succeeded one's, for playback, with KEEP_AUDIO; the rest goes when it ends.
    const keeps = (job: JobRecord) => options.keepAudio && job.status === 'succeeded';
    this.outcomes = new Outcomes({ store, bus, audio, log, keeps, recorded: (job, worker) => this.recorded(job, worker) });
    const pending = (id: string) => this.outcomes.pending(id);
    this.runner = new JobRunner({ store, dispatcher: options.dispatcher, outcomes: this.outcomes, log, draining: () => this.draining, closed });
    this.readers = new JobReaders(store, this.closing.signal, pending);
    this.retention = new Retention({ store, audio, retentionHours: options.retentionHours, keeps, pending, closed });
    bus.subscribe((m) => (m.type === 'cancel' ? owned(log, `cancelling job ${m.id}`, this.runner.cancel(m.id)) : this.readers.hear(m)));
    this.timers = [
      // Every 10 minutes: what is old goes, and a webhook nobody is delivering (its gateway died, or the end was
      // recorded twice after a resend and told once to no one) is taken up; the claim keeps it to one gateway.
      setInterval(() => (this.purgeInBackground(), owned(log, 'resuming pending webhooks', this.webhooks.resume())), 10 * 60_000),
      setInterval(() => !closed() && owned(log, 'writing the outcomes the store refused', this.outcomes.rewrite()), STORE_RETRY_MS),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Recovers what a crash left and begins running jobs; resumes the webhooks a restart interrupted. */
  async start(): Promise<void> {
    await this.feed.start(this.runner);
    this.purgeInBackground();
    owned(this.options.log, 'resuming pending webhooks', this.webhooks.resume());
  }

  get draining(): boolean {
    return this.stopping.signal.aborted;
  }

  get storageName(): 'sqlite' | 'redis' {
    return this.options.storeName;
  }

  get uploadsDir(): string {
    return this.options.audio.uploads;
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
    const active = await answeredInTime(this.store.activeCount(owner), () => this.storageProblem());
    if (active >= maxActive) {
      throw new ApiError('too_many_jobs', `${owner ? `The key '${owner}' has` : 'There are'} ${active} jobs queued or running, the most allowed (MAX_JOBS_PER_KEY=${maxActive}): wait for some to finish, or cancel some.`);
    }
  }

  /** Takes over an uploaded file and queues its job (its id: the HTTP request's, so logs join up). */
  async submit(uploadPath: string, asked: JobRequest, id: string = randomUUID(), references: ReadonlyArray<{ path: string; bytes: number }> = []): Promise<JobRecord> {
    const audioPath = await this.options.audio.adopt(uploadPath, id, references.map((r) => r.path));
    const request = references.length > 0 ? { ...asked, reference_bytes: references.map((r) => r.bytes) } : asked;
    let record: JobRecord;
    try {
      record = await this.store.create(id, request, audioPath);
    } catch (e) {
      await this.options.audio.remove(id).catch(() => {}); // nothing was kept; the sweep takes it if this fails too
      throw storeFailure(e).asApiError();
    }
    // Stored: from here the job is the feed's. A gateway that dies before the feed has it leaves it queued
    // in the store, and the feed takes it from there (RedisFeed.requeueStranded).
    try {
      await this.feed.add(record);
    } catch (e) {
      // The client is told it failed, so it must not run: ended here (or, if even that is refused, run once the store is back).
      const failure = storeFailure(e);
      await this.runner.settle(id, { status: 'failed', error: failure.jobError() });
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

  /** 1 = next to run; null when the job is not waiting. */
  position(id: string): Promise<number | null> {
    return this.store.position(id);
  }

  list(query: Parameters<JobStore['list']>[0]) {
    return this.store.list(query);
  }

  /** The jobs that hold the words of `query.q`, best first, with where in their transcripts (./search.ts). */
  search(query: Parameters<JobStore['search']>[0]) {
    return this.store.search(query);
  }

  counts(): Promise<{ waiting: number; running: number }> {
    return this.feed.counts();
  }

  /** Stored events after `afterSeq`, then live ones, until the job ends or `signal` aborts. */
  events(id: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    return this.readers.events(id, afterSeq, signal);
  }

  /** The finished record, wherever the job ran; not_found when it is deleted meanwhile. */
  finished(id: string): Promise<JobRecord> {
    return this.readers.finished(id);
  }

  /** Cancels a queued or running job, wherever it runs; true when there was one to cancel. */
  async cancel(id: string): Promise<boolean> {
    if (await this.runner.cancel(id)) return true;
    const record = await this.store.get(id);
    if (!record || FINISHED.has(record.status)) return false;
    if (await this.feed.withdraw(id)) await this.runner.settle(id, { status: 'cancelled', error: CANCELLED_ERROR });
    else await this.outcomes.publish({ type: 'cancel', id }); // it runs on another gateway
    return true;
  }

  /** A callback URL checked against the webhook settings this service delivers with (400 when refused). */
  checkCallbackUrl(raw: string): string {
    return checkCallbackUrl(raw, this.options.webhooks);
  }

  /**
   * Renames speakers of a succeeded job's result (speaker id → new name), in one
   * atomic write of the store; the updated record, or null when the job is gone
   * or has no result. The request is checked by the caller (the HTTP route).
   */
  async renameSpeakers(id: string, names: Record<string, string>): Promise<JobRecord | null> {
    try {
      return await this.store.renameSpeakers(id, names);
    } catch (e) {
      throw storeFailure(e).asApiError();
    }
  }

  /** The revisions of a succeeded job's transcript (JobStore.transcriptRevisions). */
  async transcriptRevisions(id: string): Promise<TranscriptRevision[] | null> {
    try {
      return await this.store.transcriptRevisions(id);
    } catch (e) {
      throw storeFailure(e).asApiError();
    }
  }

  /**
   * Stores a new revision of a succeeded job's transcript (JobStore.reviseTranscript);
   * an ApiError that `make` throws (a request it refuses) is thrown as it is.
   */
  async reviseTranscript(id: string, base: number | undefined, make: (revisions: TranscriptRevision[]) => TranscriptionResult): Promise<Revised | { stale: number } | null> {
    try {
      return await this.store.reviseTranscript(id, base, make);
    } catch (e) {
      if (e instanceof ApiError && e.status < 500) throw e;
      throw storeFailure(e).asApiError();
    }
  }

  /**
   * Where a job's audio, as uploaded, lies while it is kept (a queued or running
   * job's; a succeeded one's with KEEP_AUDIO), or null when there is none (never
   * kept, or deleted). Every gateway sharing DATA_DIR finds it at the same path.
   */
  async audioOf(id: string): Promise<{ path: string; bytes: number; modified: number } | null> {
    const file = this.options.audio.pathOf(id);
    const info = await stat(file).catch(() => null);
    return info?.isFile() ? { path: file, bytes: info.size, modified: info.mtimeMs } : null;
  }

  get keepsAudio(): boolean {
    return this.options.keepAudio;
  }

  /** Deletes a finished job's record, events and audio. */
  remove(id: string): Promise<void> {
    return this.retention.remove(id);
  }

  /** Deletes finished jobs older than JOB_RETENTION_HOURS, and orphaned audio (see ./retention.ts). */
  purge(now = Date.now()): Promise<number> {
    return this.retention.purge(now);
  }

  /**
   * SIGTERM: no new work; jobs still waiting stay queued for the next start (or
   * another gateway); running ones get up to `graceMs` to finish, and what is
   * still running then is stopped and handed back to the queue.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping.abort();
    const feedStopped = this.feed.stop(graceMs + 10_000);
    this.runner.stopAttempts(false);
    const deadline = Date.now() + graceMs;
    while (this.runner.running().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    this.runner.stopAttempts(true);
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
    for (const timer of this.timers) clearInterval(timer);
    await this.feed.close();
    await this.options.bus.close();
    await this.store.close();
  }

  private recorded(job: JobRecord, worker: string | null): void {
    if (job.request.callback_url) owned(this.options.log, `the webhook of job ${job.id}`, this.webhooks.deliver(job));
    for (const listener of this.finishedListeners) listener(job, worker);
  }

  private purgeInBackground(): void {
    owned(this.options.log, 'purging expired jobs', this.purge());
  }
}

/** How long a request waits for the store before it is told to come back: the store's client waits out an outage. */
const STORE_ANSWER_MS = 5000;

/**
 * The store's answer, or a 503 once it has taken STORE_ANSWER_MS: a command
 * sent just as the connection dropped waits for Redis to return (the client
 * resends it then), and the HTTP request that issued it must not wait as long.
 * The late answer, or its failure, is dropped: nothing waits for it any more.
 */
async function answeredInTime<T>(call: Promise<T>, problem: () => string | null): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError(
      'storage_unavailable',
      `${problem() ?? 'The job store'} did not answer within ${STORE_ANSWER_MS / 1000} s: nothing was kept; try again in a few seconds.`,
    )), STORE_ANSWER_MS);
  });
  call.catch(() => {}); // answered by the deadline already, or failing with the request below
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}
