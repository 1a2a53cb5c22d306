// What is kept, and for how long: finished jobs are deleted after
// JOB_RETENTION_HOURS (0: kept for ever), and audio a crash left behind is
// swept. Runs at start and every 10 minutes.
import { FINISHED, type JobStore } from './store.ts';
import type { AudioFiles } from './audio-files.ts';

/** Audio with no job record is an orphan once this old (its record may be about to be written: audio is adopted first). */
const ORPHAN_AGE_MS = 3_600_000;

export interface RetentionOptions {
  store: JobStore;
  audio: AudioFiles;
  retentionHours: number;
  /** An outcome the store has not taken yet: that job's audio stays until it is recorded. */
  pending: (id: string) => unknown;
  /** The store is closed (a sweep that started just before stops). */
  closed: () => boolean;
}

export class Retention {
  private readonly options: RetentionOptions;

  constructor(options: RetentionOptions) {
    this.options = options;
  }

  /** Deletes finished jobs past their retention, and orphaned audio; returns how many jobs went. */
  async purge(now = Date.now()): Promise<number> {
    const { store, retentionHours, closed } = this.options;
    if (closed()) return 0;
    await this.sweepAudio(now);
    if (retentionHours <= 0 || closed()) return 0;
    const expired = await store.expired(now - retentionHours * 3_600_000);
    for (const job of expired) await this.remove(job.id);
    return expired.length;
  }

  /** A finished job's record, events and audio. */
  async remove(id: string): Promise<void> {
    await this.options.store.delete(id);
    await this.options.audio.remove(id);
  }

  /**
   * Audio a crash left behind (between a job's end and its audio's removal):
   * a finished job's at once, and one with no record once it is an hour old.
   */
  private async sweepAudio(now: number): Promise<void> {
    const { store, audio, pending, closed } = this.options;
    for (const { id, arrived } of await audio.files()) {
      if (closed()) return;
      const record = await store.get(id);
      const orphan = record ? FINISHED.has(record.status) : arrived < now - ORPHAN_AGE_MS;
      if (orphan && pending(id) === undefined) await audio.remove(id);
    }
  }
}
