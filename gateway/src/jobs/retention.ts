// What is kept, and for how long: finished jobs are deleted after
// JOB_RETENTION_HOURS (0: kept for ever), with their audio where it is kept
// (KEEP_AUDIO: a succeeded job's, for playback), and audio a crash left behind
// is swept. Runs at start and every 10 minutes. Gateways sharing DATA_DIR
// (QUEUE_URL) each sweep it: they must agree on KEEP_AUDIO, or one with false
// deletes the audio the others keep.
import { FINISHED, type JobRecord, type JobStore } from './store.ts';
import type { AudioFiles } from './audio-files.ts';

/** Audio with no job record is an orphan once this old (its record may be about to be written: audio is adopted first). */
const ORPHAN_AGE_MS = 3_600_000;

export interface RetentionOptions {
  store: JobStore;
  audio: AudioFiles;
  retentionHours: number;
  /** Whether a finished job's audio stays with it (KEEP_AUDIO and the job succeeded). */
  keeps: (job: JobRecord) => boolean;
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
   * a finished job's at once unless it is kept (then only its speakers'
   * reference clips), and one with no record once it is an hour old (a job
   * deleted by a gateway that died before its audio went).
   */
  private async sweepAudio(now: number): Promise<void> {
    const { store, audio, keeps, pending, closed } = this.options;
    for (const { id, arrived, references } of await audio.files()) {
      if (closed()) return;
      const record = await store.get(id);
      const orphan = record ? FINISHED.has(record.status) : arrived < now - ORPHAN_AGE_MS;
      if (!orphan || pending(id) !== undefined) continue;
      if (!record || !keeps(record)) await audio.remove(id);
      else if (references) await audio.removeReferences(id);
    }
  }
}
