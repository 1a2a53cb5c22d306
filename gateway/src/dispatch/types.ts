// The contract between the job service and dispatch: what a job asks of a
// worker, the events of an attempt, and the dispatcher that runs attempts.

import type { TranscribeOptions, Segment, Speaker, TranscriptionResult } from '../protocol/messages.ts';
import type { StreamHost, WorkerDirectory } from '../workers/types.ts';

/** What a job asks for. The audio is a file on disk that the job does not own. */
export interface JobSpec {
  /** The durable record's id: the running job's handle has the same. */
  id?: string;
  /** Attempts spent before a gateway restart: the limit of attempts counts them. */
  previousAttempts?: number;
  /** What the worker is asked: a transcription (the default), or the language alone (its result is a DetectLanguageResult). */
  command?: 'transcribe' | 'detect_language';
  model: string;
  options: TranscribeOptions;
  audioPath: string;
  audioBytes: number;
  /** Known speakers' reference clips: an audio frame each after the audio's (protocol §3). */
  references?: Array<{ path: string; bytes: number }>;
  /** The worker (its address) this job must run on: the one whose slot the feed leased for it. */
  worker?: string;
  /** Workers (addresses) an earlier attempt failed on: another is preferred when one is free. */
  avoid?: string[];
}

/** Events of one job, in order: queued*, started, info, (progress|segment)*, then done or failed. */
export type JobEvent =
  | { type: 'queued'; position: number }
  | { type: 'started'; worker: string; attempt: number }
  | { type: 'info'; language: string; language_probability: number; duration: number; model: string; speakers?: Speaker[] }
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

/** The dispatcher: it runs attempts of jobs on workers, holding them in memory until a slot is free (where a job waits between attempts is the feed's, ../jobs/feed.ts). */
export interface Dispatcher {
  /** Accepts a job; it runs when a worker has a free slot. `signal` aborting cancels it. */
  submit(spec: JobSpec, signal?: AbortSignal): JobHandle;
  /** Jobs waiting and running, for /api/health and the UI. */
  counts(): { waiting: number; running: number };
  close(): Promise<void>;
}

/**
 * The gateway's reach to its workers, what the HTTP edge and the job service
 * are given: the dispatcher of attempts, the directory of workers and the
 * host of live streams. Made by createDispatch() in ./index.ts.
 */
export interface Dispatch {
  dispatcher: Dispatcher;
  directory: WorkerDirectory;
  streams: StreamHost;
  close(): Promise<void>;
}
