// Who reads a job as it happens: the event streams (SSE) and the synchronous
// requests waiting for a result. Both read the store first and then follow the
// bus, on whichever gateway the job runs; after the bus may have missed
// messages (a reconnect: 'resync') they read the store again, once.
import { EventEmitter } from 'node:events';
import { FINISHED, type JobRecord, type JobStore, type Outcome, type StoredEvent } from './store.ts';
import type { BusMessage } from './bus.ts';
import { ApiError } from '../errors.ts';

export class JobReaders {
  private readonly store: JobStore;
  private readonly closing: AbortSignal; // the service closed: readers end
  private readonly pending: (id: string) => Outcome | undefined; // an outcome the store has not taken yet
  private readonly live = new EventEmitter().setMaxListeners(0); // per job id: its bus messages; '*': resyncs

  constructor(store: JobStore, closing: AbortSignal, pending: (id: string) => Outcome | undefined) {
    this.store = store;
    this.closing = closing;
    this.pending = pending;
  }

  /** A message from the bus, for the readers it concerns. */
  hear(m: BusMessage): void {
    if (m.type === 'event' || m.type === 'end') this.live.emit(m.id, m);
    else if (m.type === 'resync') this.live.emit('*', m);
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
    this.closing.addEventListener('abort', onAbort);
    const open = () => !signal.aborted && !this.closing.aborted;
    try {
      let last = afterSeq;
      while (open()) {
        if (reread) {
          reread = false;
          const status = (await this.store.get(id))?.status ?? 'failed'; // a job gone counts as ended
          if (FINISHED.has(status)) (ended = true), (told = null);
          else if (this.pending(id) !== undefined) (ended = true), (told = this.pending(id)!);
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
      this.closing.removeEventListener('abort', onAbort);
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
        const unwritten = this.pending(id);
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
    this.closing.addEventListener('abort', onClose);
    return {
      message,
      dispose: () => {
        this.live.off(id, onMessage);
        this.live.off('*', onMessage);
        this.closing.removeEventListener('abort', onClose);
      },
    };
  }
}

/** A record as it will be once its outcome is written: what a reader is told while the store refuses the write. */
function withOutcome(record: JobRecord, outcome: Outcome): JobRecord {
  const told = outcome.status === 'succeeded' ? { result: outcome.result } : { error: outcome.error };
  return { ...record, status: outcome.status, finished_at: record.finished_at ?? Date.now(), audio_path: null, ...told };
}
