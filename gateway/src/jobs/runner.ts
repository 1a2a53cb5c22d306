// Runs a stored job on this gateway, one attempt at a time: submits it to the
// dispatcher (../dispatch/), follows its events into the store and onto the
// bus, and moves it through its lifecycle (./lifecycle.ts) as they come. What
// becomes of a failed attempt is retry.ts's decision; the feed decides when a
// job handed back runs again.
import type { JobEvent, JobHandle, Dispatcher } from '../dispatch/types.ts';
import type { JobRecord, JobStore, Outcome } from './store.ts';
import type { FeedRunner, RunEnd } from './feed.ts';
import { next, type JobState, type JobTransition } from './lifecycle.ts';
import { afterFailure, CANCELLED_ERROR, refuseStart, triedOn } from './retry.ts';
import { storeFailure } from './store-failure.ts';
import { referencePath } from './audio-files.ts';
import { STORE_RETRY_MS, type Outcomes } from './outcomes.ts';
import type { Log } from '../owned.ts';

const CANCELLED: Outcome = { status: 'cancelled', error: CANCELLED_ERROR };

export interface RunnerOptions {
  store: JobStore;
  dispatcher: Dispatcher;
  outcomes: Outcomes;
  log: Log;
  /** The gateway is shutting down: a failed attempt is handed back, not retried or failed. */
  draining: () => boolean;
  /** The store is closed: nothing more is recorded, whatever the job does now is the next start's to recover. */
  closed: () => boolean;
}

/** One job as it runs here. */
interface Run {
  id: string;
  state: JobState;
  handle: JobHandle | null; // null until the stored events are read
  async: boolean; // submitted to the jobs API: with no worker up it waits for one (a synchronous request fails)
  cancelled: boolean;
  attempts: number;
  // What is stored already: a retry's (or a restart's) info, segments and progress up to it are repeats.
  lastSegment: number;
  processed: number;
  hasInfo: boolean;
  anyEvents: boolean;
  worker: string | null; // where the latest attempt runs
  end: (end: RunEnd) => void;
}

export class JobRunner implements FeedRunner {
  private readonly options: RunnerOptions;
  private readonly runs = new Map<string, Run>();

  constructor(options: RunnerOptions) {
    this.options = options;
  }

  /** Jobs running here now, with the worker their attempt runs on (null until it starts). */
  running(): Array<{ id: string; worker: string | null }> {
    return [...this.runs.values()].map((r) => ({ id: r.id, worker: r.worker }));
  }

  /**
   * Runs a stored job here. Never rejects: whatever fails on the way (a store
   * that refuses a write, a bug) ends this run in a known state, the job
   * failed or handed back to the feed, and is logged.
   */
  run(record: JobRecord, worker: string | null): Promise<RunEnd> {
    let end!: (end: RunEnd) => void;
    const ended = new Promise<RunEnd>((resolve) => (end = resolve));
    const run: Run = {
      id: record.id, state: record.status === 'running' ? next('running', 'hand_back') : record.status,
      handle: null, async: record.request.source === 'jobs', cancelled: false, attempts: record.attempts, worker: null,
      anyEvents: false, lastSegment: -1, processed: record.processed ?? -1, hasInfo: record.language !== null, end,
    };
    // Known before any await, so a cancel from the bus finds it from now on.
    this.runs.set(record.id, run);
    this.attempt(record, worker, run).catch((err: unknown) => this.broke(run, err));
    return ended;
  }

  /** Ends a job that will not run (cancelled in line, its audio missing, no worker for a request that waits). */
  async settle(id: string, outcome: Outcome): Promise<void> {
    next('queued', outcome.status === 'cancelled' ? 'cancel' : 'fail'); // only a job in line is settled so
    await this.options.outcomes.record(id, outcome, null);
  }

  /** Cancels a job that runs here; false when it does not. */
  async cancel(id: string): Promise<boolean> {
    const run = this.runs.get(id);
    if (!run) return false;
    run.cancelled = true;
    run.handle?.cancel(); // no handle yet: attempt() sees the flag
    return true;
  }

  /** Shutting down: the attempts that have not reached a worker yet (or all of them) are stopped, to be handed back. */
  stopAttempts(all: boolean): void {
    for (const run of this.runs.values()) if (all || run.worker === null) run.handle?.cancel(); // not run.cancelled: handed back, not cancelled
  }

  /** One attempt: refused when the job's attempts are spent, else submitted to the dispatcher and followed to its end. */
  private async attempt(record: JobRecord, worker: string | null, run: Run): Promise<void> {
    const refused = refuseStart(record.attempts);
    if (refused) return this.move(run, 'fail', { status: 'failed', error: refused });
    const stored = await this.options.store.events(run.id, 0);
    const segments = stored.flatMap((e) => (e.event.type === 'segment' ? [e.event.segment.id] : []));
    run.anyEvents = stored.length > 0;
    run.lastSegment = segments.length ? Math.max(...segments) : -1;
    if (run.cancelled) return this.move(run, 'cancel', CANCELLED);
    run.handle = this.options.dispatcher.submit({
      id: run.id, model: record.request.model, options: record.request.options, audioPath: record.audio_path!,
      audioBytes: record.request.audio_bytes,
      references: (record.request.reference_bytes ?? []).map((bytes, i) => ({ path: referencePath(record.audio_path!, i), bytes })),
      previousAttempts: record.attempts, worker: worker ?? undefined, avoid: triedOn(stored),
    });
    await this.follow(run);
  }

  private async follow(run: Run): Promise<void> {
    for await (const event of run.handle!.events()) {
      if (this.options.closed() || this.runs.get(run.id) !== run) return run.end({ type: 'requeue', delayMs: 0 });
      if (event.type === 'started') {
        run.worker = event.worker;
        run.attempts = event.attempt;
        await this.move(run, 'start');
      }
      if (event.type !== 'failed') {
        await this.record(run, event);
        continue;
      }
      const decision = afterFailure({ error: event.error, attempts: run.attempts, async: run.async, cancelled: run.cancelled, draining: this.options.draining() });
      if (decision.type === 'retry') return this.move(run, decision.delayMs === 0 ? 'hand_back' : 'retry', undefined, decision.delayMs);
      await this.record(run, { type: 'failed', error: decision.error });
    }
  }

  /**
   * The one place a job changes state: the machine checks the move, the store
   * keeps it, and a run that ends tells its feed how.
   */
  private async move(run: Run, transition: JobTransition, outcome?: Outcome, delayMs = 0): Promise<void> {
    run.state = next(run.state, transition);
    const { store, outcomes } = this.options;
    switch (transition) {
      case 'start':
        return store.markRunning(run.id, run.attempts);
      case 'retry':
      case 'hand_back':
        this.runs.delete(run.id);
        await store.requeue(run.id);
        return run.end({ type: 'requeue', delayMs });
      default:
        this.runs.delete(run.id);
        await outcomes.record(run.id, outcome!, run.worker);
        return run.end({ type: 'finished' });
    }
  }

  /**
   * The run broke (a store that refused a write: a full disk, Redis out of
   * memory; or a bug). Its work on the worker is stopped. A job submitted to
   * the jobs API goes back in line, to run again once the store takes writes;
   * a synchronous request's job fails, so that its client hears why now.
   */
  private async broke(run: Run, err: unknown): Promise<void> {
    const failure = storeFailure(err);
    this.options.log.error({ err, job: run.id }, `job ${run.id}: ${failure.message}; ${run.async ? 'it goes back in line' : 'it fails'}`);
    run.handle?.cancel();
    if (this.runs.get(run.id) !== run) return run.end({ type: 'requeue', delayMs: STORE_RETRY_MS });
    if (run.async && !run.cancelled && !this.options.closed()) {
      this.runs.delete(run.id);
      await this.options.store.requeue(run.id).catch(() => {}); // refused too, most likely: the feed runs it again whatever it says
      return run.end({ type: 'requeue', delayMs: STORE_RETRY_MS });
    }
    await this.move(run, run.cancelled ? 'cancel' : 'fail', run.cancelled ? CANCELLED : { status: 'failed', error: failure.jobError() });
  }

  /** Stores an event (a retry's repeats left out), tells every reader, and ends the job on done/failed. */
  private async record(run: Run, event: JobEvent): Promise<void> {
    if (!isNew(run, event)) return;
    const { store, outcomes } = this.options;
    run.anyEvents = true;
    if (event.type === 'segment') run.lastSegment = event.segment.id;
    if (event.type === 'info') {
      run.hasInfo = true;
      await store.noteProgress(run.id, { language: event.language, duration: event.duration });
    }
    if (event.type === 'progress') {
      run.processed = event.processed;
      await store.noteProgress(run.id, { processed: event.processed, duration: event.duration });
    }
    const seq = await store.appendEvent(run.id, event);
    await outcomes.publish({ type: 'event', id: run.id, seq, event });
    if (event.type === 'done') await this.move(run, 'succeed', { status: 'succeeded', result: event.result });
    if (event.type === 'failed') {
      const cancelled = event.error.code === 'cancelled';
      await this.move(run, cancelled ? 'cancel' : 'fail', cancelled ? CANCELLED : { status: 'failed', error: event.error });
    }
  }
}

/** After a retry or a restart, the new attempt's info, segments and progress up to where the last one got are not news. */
function isNew(run: Run, event: JobEvent): boolean {
  switch (event.type) {
    case 'queued':
      return !run.anyEvents;
    case 'info':
      return !run.hasInfo;
    case 'progress':
      return event.processed > run.processed;
    case 'segment':
      return event.segment.id > run.lastSegment;
    default:
      return true;
  }
}
