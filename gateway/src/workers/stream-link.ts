// A live stream's data link, as the pool hands it out: the connection, and the
// slot the stream holds on its worker counted in the pool, so the scheduler
// sends file jobs elsewhere while the stream decodes there. The worker gives a
// slot back after 3 s without speech and takes one again on the next speech
// (protocol §4, Live streams), so the count follows its `slot` events rather
// than the stream's life.
import type { WorkerConnection } from './connection.ts';
import type { Worker } from './worker.ts';
import type { SlotLedger, StreamLink } from './types.ts';
import type { AnyReply, Outgoing } from '../protocol/messages.ts';

// protocol §3: a stream_audio frame is at most the worker's WHISPER_MAX_JSON_FRAME (1 MiB by default).
const DEFAULT_MAX_AUDIO_FRAME = 1 << 20;

export interface SlotCounter {
  reserve(worker: Worker): void;
  /** Gives the slot back and says so, so that what waits for one is dispatched. */
  giveBack(worker: Worker): void;
}

export class PoolStreamLink implements StreamLink {
  readonly worker: string;
  readonly maxAudioFrame: number;
  private readonly owner: Worker;
  private readonly connection: WorkerConnection;
  private readonly slots: SlotCounter;
  private readonly ledger: SlotLedger | null;
  private held = false;
  private shared: { release(): void } | null = null; // the slot as the deployment counts it
  private released = false;

  constructor(owner: Worker, connection: WorkerConnection, slots: SlotCounter, ledger: SlotLedger | null = null) {
    this.owner = owner;
    this.worker = owner.address;
    this.connection = connection;
    this.slots = slots;
    this.ledger = ledger;
    this.maxAudioFrame = owner.status?.limits.max_json_frame ?? DEFAULT_MAX_AUDIO_FRAME;
  }

  send(message: Outgoing, listener: (reply: AnyReply) => void, audio?: Buffer): string {
    return this.connection.send(message, listener, audio);
  }

  slot(held: boolean): void {
    // A repeat (or news after release) changes nothing: the count must never drift from what the worker holds.
    if (this.released || held === this.held) return;
    this.held = held;
    if (held) {
      this.slots.reserve(this.owner);
      this.shared = this.ledger?.hold(this.worker) ?? null;
    } else {
      this.shared?.release();
      this.shared = null;
      this.slots.giveBack(this.owner);
    }
  }

  release(): void {
    if (this.released) return;
    this.slot(false);
    this.released = true;
    this.owner.links.release(this.connection);
  }
}
