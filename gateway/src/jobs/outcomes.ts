// How a job's end is recorded and told: the outcome written (the first one
// stands), the audio deleted, every reader told over the bus, the webhook and
// the listeners called (a succeeded job's audio stays with KEEP_AUDIO, for playback). An outcome the store refuses (a full disk, Redis out
// of memory) is kept here, told to readers at once, and written again every
// few seconds until the store takes it.
import type { JobRecord, JobStore, Outcome } from './store.ts';
import type { BusMessage, JobBus } from './bus.ts';
import type { AudioFiles } from './audio-files.ts';
import { storeFailure } from './store-failure.ts';
import type { Log } from '../owned.ts';

export const STORE_RETRY_MS = 5000;

export interface OutcomesOptions {
  store: JobStore;
  bus: JobBus;
  audio: AudioFiles;
  log: Log;
  /** Whether a finished job's audio stays (KEEP_AUDIO, a succeeded job): then only its speakers' reference clips go. */
  keeps: (job: JobRecord) => boolean;
  /** Told once of each outcome recorded here, with the worker of its last attempt (null when unknown). */
  recorded: (job: JobRecord, worker: string | null) => void;
}

export class Outcomes {
  private readonly options: OutcomesOptions;
  private readonly unwritten = new Map<string, Outcome>();

  constructor(options: OutcomesOptions) {
    this.options = options;
  }

  /** The outcome the store has not taken yet, if any: what readers are told meanwhile. */
  pending(id: string): Outcome | undefined {
    return this.unwritten.get(id);
  }

  /** Records `outcome` and tells everyone. Never throws. */
  async record(id: string, outcome: Outcome, worker: string | null): Promise<void> {
    const { store, log } = this.options;
    let done: JobRecord | null;
    try {
      done = await store.finish(id, outcome);
    } catch (err) {
      log.error({ err, job: id }, `job ${id} ended ${outcome.status}, but the store refused to record it (${storeFailure(err).message}); it is tried again every ${STORE_RETRY_MS / 1000} s`);
      this.unwritten.set(id, outcome);
      return this.publish({ type: 'end', id, outcome });
    }
    this.unwritten.delete(id);
    // Finished already (elsewhere, or a cancel that crossed the end) or deleted: the first outcome stands, told once;
    // readers still hear the end, so that one waiting on a deleted job reads the store again and learns it is gone.
    if (done) await this.told(done, worker);
    else await this.publish({ type: 'end', id });
  }

  /** Outcomes the store refused, written again now that it may take them. */
  async rewrite(): Promise<void> {
    for (const [id, outcome] of this.unwritten) {
      const done = await this.options.store.finish(id, outcome).catch(() => undefined);
      if (done === undefined) return; // still refused: the next round
      this.unwritten.delete(id);
      this.options.log.info({ job: id }, `job ${id}: its outcome (${outcome.status}) is recorded now`);
      if (done) await this.told(done, null);
    }
  }

  /** Tells the other gateways; a bus that fails is logged, never the end of the job (their readers resync from the store). */
  async publish(message: BusMessage): Promise<void> {
    await this.options.bus.publish(message).catch((err: unknown) => this.options.log.warn({ err, message: message.type }, 'the job bus refused a message'));
  }

  /** What follows a recorded outcome: the audio goes (unless kept), readers hear of it, the listeners (webhook, metrics) are told. */
  private async told(done: JobRecord, worker: string | null): Promise<void> {
    const { audio, log } = this.options;
    const removed = this.options.keeps(done) ? audio.removeReferences(done.id) : audio.remove(done.id);
    await removed.catch((err: unknown) => log.warn({ err, job: done.id }, 'the job\'s audio could not be deleted; the sweep tries again'));
    await this.publish({ type: 'end', id: done.id });
    this.options.recorded(done, worker);
  }
}
