// The contract between the job service and the job machinery: the scheduler
// that runs jobs on workers, and the workers as the gateway sees them.

/** Decoding options, segments, words and results: the protocol schema's types (protocol/schema/). */
export type { TranscribeOptions, Word, Segment, TranscribeResult as TranscriptionResult } from '../protocol/messages.ts';
import type { AnyReply, Outgoing, TranscribeOptions, Segment, TranscribeResult as TranscriptionResult } from '../protocol/messages.ts';

/** What a job asks for. The audio is a file on disk that the job does not own. */
export interface JobSpec {
  /** The durable record's id: the running job's handle has the same. */
  id?: string;
  /** Attempts spent before a gateway restart: the limit of attempts counts them. */
  previousAttempts?: number;
  model: string;
  options: TranscribeOptions;
  audioPath: string;
  audioBytes: number;
  /** The worker (its address) this job must run on: the one whose slot the feed leased for it. */
  worker?: string;
  /** Workers (addresses) an earlier attempt failed on: another is preferred when one is free. */
  avoid?: string[];
}

/** Events of one job, in order: queued*, started, info, (progress|segment)*, then done or failed. */
export type JobEvent =
  | { type: 'queued'; position: number }
  | { type: 'started'; worker: string; attempt: number }
  | { type: 'info'; language: string; language_probability: number; duration: number; model: string }
  | { type: 'progress'; processed: number; duration: number }
  | { type: 'segment'; segment: Segment }
  | { type: 'done'; result: TranscriptionResult }
  | { type: 'failed'; error: JobError };

/** A failure with a code from the worker protocol (§6) or the gateway's own: no_worker, timeout. */
export interface JobError {
  code: string;
  message: string;
}

export interface JobHandle {
  readonly id: string;
  /** Every event from now on; ends after 'done' or 'failed'. Events already emitted are not replayed. */
  events(): AsyncIterable<JobEvent>;
  /** Settles with the result, or rejects with a JobFailure. */
  result(): Promise<TranscriptionResult>;
  /** Stops the job wherever it is (queued or running); the worker is told to cancel. */
  cancel(): void;
}

export class JobFailure extends Error {
  readonly code: string;
  constructor(error: JobError) {
    super(error.message);
    this.code = error.code;
  }
}

/** The scheduler's interface: it runs jobs on workers (where they wait is the feed's, ./feed.ts). */
export interface JobQueue {
  /** Accepts a job; it runs when a worker has a free slot. `signal` aborting cancels it. */
  submit(spec: JobSpec, signal?: AbortSignal): JobHandle;
  /** Jobs waiting and running, for /api/health and the UI. */
  counts(): { waiting: number; running: number };
  close(): Promise<void>;
}

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

/** What the HTTP layer is given: made by createJobSystem() in ./index.ts. */
export interface JobSystem {
  queue: JobQueue;
  directory: WorkerDirectory;
  streams: StreamHost;
  close(): Promise<void>;
}
