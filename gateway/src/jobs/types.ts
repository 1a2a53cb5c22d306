// The contract between the HTTP layer and the job machinery. Routes only see
// these types; the queue (in memory today, SQLite or BullMQ later) and the
// worker pool stay behind them.

/** Decoding options, as the worker protocol names them (protocol/PROTOCOL.md §4). */
export interface TranscribeOptions {
  language?: string | null;
  task?: 'transcribe' | 'translate';
  beam_size?: number;
  best_of?: number;
  patience?: number;
  temperature?: number | number[];
  initial_prompt?: string | null;
  hotwords?: string | null;
  prefix?: string | null;
  vad_filter?: boolean;
  vad_parameters?: Record<string, number>;
  word_timestamps?: boolean;
  condition_on_previous_text?: boolean;
  no_speech_threshold?: number | null;
  log_prob_threshold?: number | null;
  compression_ratio_threshold?: number | null;
  batch_size?: number;
}

export interface Word {
  start: number;
  end: number;
  word: string;
  probability: number;
}

export interface Segment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avg_logprob: number;
  compression_ratio: number;
  no_speech_prob: number;
  words?: Word[];
}

export interface TranscriptionResult {
  text: string;
  language: string;
  language_probability: number;
  duration: number;
  task: 'transcribe' | 'translate';
  model: string;
  segments: Segment[];
  timing: { queued_seconds: number; load_seconds: number; decode_seconds: number };
}

/** What a job asks for. The audio is a file on disk that the job does not own. */
export interface JobSpec {
  model: string;
  options: TranscribeOptions;
  audioPath: string;
  audioBytes: number;
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

/** The one small interface a queue implementation provides (in-memory now; SQLite, BullMQ next). */
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
  models(): ModelView[];
  /** Resolves once every configured worker has answered or failed its first status call. */
  ready(): Promise<void>;
}

/** What the HTTP layer is given: made by createJobSystem() in ./index.ts. */
export interface JobSystem {
  queue: JobQueue;
  directory: WorkerDirectory;
  close(): Promise<void>;
}
