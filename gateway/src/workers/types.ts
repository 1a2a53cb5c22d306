// The workers as the rest of the gateway sees them: what each reports, the
// directory of them all, and the links of live streams.
import type { AnyReply, Outgoing } from '../protocol/messages.ts';

/** A worker as the gateway sees it, for /api/health and /api/models. */
export interface WorkerView {
  address: string; // host:port
  up: boolean;
  error: string | null; // why it is down
  device: string | null;
  slots: number;
  running: number;
  queued: number;
  loadedModels: string[];
  availableModels: string[];
}

export interface ModelView {
  name: string;
  available: boolean; // on disk on at least one worker that is up
  loaded: boolean; // loaded on at least one worker
  workers: string[]; // addresses where it is loaded
  multilingual: boolean | null; // from the model's own files, as a worker that has it read them; null: no worker has it
  languages: string[] | null;
}

/** The workers behind the gateway, as last seen (kept fresh in the background). */
export interface WorkerDirectory {
  workers(): WorkerView[];
  /** Every model name the workers accept, as they reported it (empty until one has answered). */
  modelNames(): string[];
  models(): ModelView[];
  /** Resolves once every configured worker has answered or failed its first status call. */
  ready(): Promise<void>;
  /** Called whenever a worker's state, slots or models may have changed. */
  onChange(listener: () => void): void;
}

/**
 * A data link of a live stream's own on one worker (the realtime API's
 * sessions). The worker says when the stream takes or gives back one of its
 * slots, and the link counts it as the scheduler counts its jobs, so that file
 * jobs are not sent to a slot a live stream holds.
 */
export interface StreamLink {
  /** The worker's address, as configured. */
  readonly worker: string;
  /** The largest stream_audio frame the worker reads (protocol §3). */
  readonly maxAudioFrame: number;
  send(message: Outgoing, listener: (reply: AnyReply) => void, audio?: Buffer): string;
  /** The worker's `slot` event: the stream took (true) or gave back (false) a slot. */
  slot(held: boolean): void;
  /** Done with it: a slot still counted is given back, and the link closed unless it is clean. */
  release(): void;
}

/**
 * Where the slots live streams hold are counted for every gateway of a
 * deployment (Redis leases, ../redis/slots.ts), so that no gateway sends a
 * file job to a slot a stream holds through another.
 */
export interface SlotLedger {
  /** A slot a stream holds on `worker` now (it is held whatever the count: the worker has it); release() gives it back. */
  hold(worker: string): { release(): void };
}

export interface StreamHost {
  /** Behind several gateways: count the streams' slots there too. */
  shareSlots?(ledger: SlotLedger): void;
  /**
   * A link to the ready worker best placed to run a stream of `model` (not one
   * in `avoid` when another will do); rejects with a WorkerRequestError, code
   * no_worker, when no worker is up or it cannot be reached.
   */
  streamLink(model: string, avoid?: ReadonlySet<string>): Promise<StreamLink>;
}
