// The job store contract: durable records of jobs and their events. A store
// only stores and hands out jobs; the runner moves them through their
// lifecycle (./lifecycle.ts), the dispatcher decides where they run. SQLite
// (./sqlite-store.ts) is the default, Redis (../redis/store.ts) the shared one
// behind several gateways; every implementation must pass ./store.contract.ts.
// Asynchronous, because a shared store is across a network.
import type { JobError, JobEvent } from '../dispatch/types.ts';
import type { TranscribeOptions, TranscriptionResult } from '../protocol/messages.ts';
import type { ResponseFormat } from '../formats/responses.ts';
import type { ListQuery, SearchPage, SearchQuery } from './search.ts';

import type { JobStatus } from './lifecycle.ts';
// A store keeps the statuses of the lifecycle (./lifecycle.ts, where they are defined).
export { JOB_STATUSES, FINISHED, type JobStatus } from './lifecycle.ts';

/** What was asked, as submitted: enough to run the job again after a restart. */
export interface JobRequest {
  model: string;
  options: TranscribeOptions;
  filename: string;
  audio_bytes: number;
  /** Bytes of each known speaker's reference clip (options.diarization.known_speakers, in order), kept beside the audio. */
  reference_bytes?: number[];
  callback_url: string | null;
  /** The API key's name that submitted it (null when the service is open): only that key sees it. */
  owner?: string | null;
  /** Which API submitted it: the async jobs API, a synchronous endpoint, or a realtime session (stored once it ended). */
  source: 'jobs' | 'api' | 'openai' | 'realtime';
  /** The job's own response_format: what GET /api/jobs/{id}/result answers by default. */
  response_format?: ResponseFormat;
  max_line_width?: number;
  max_line_count?: number;
}

export interface JobRecord {
  id: string;
  status: JobStatus;
  created_at: number; // ms since the epoch
  started_at: number | null;
  finished_at: number | null;
  attempts: number;
  request: JobRequest;
  audio_path: string | null; // null once the job is finished and its audio deleted
  language: string | null; // detected
  duration: number | null;
  processed: number | null;
  error: JobError | null;
  result: TranscriptionResult | null;
  webhook: WebhookDelivery | null;
}

/** A webhook's delivery as far as it got (its attempts are resumed from here after a restart). */
export interface WebhookDelivery {
  attempts: number;
  delivered: boolean;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

export interface StoredEvent {
  seq: number; // per job, from 1: the SSE id
  event: JobEvent;
}

export interface JobPage {
  jobs: JobRecord[];
  next_cursor: string | null;
}

export type Outcome =
  | { status: 'succeeded'; result: TranscriptionResult }
  | { status: 'failed'; error: JobError }
  | { status: 'cancelled'; error: JobError };

export interface JobStore {
  create(id: string, request: JobRequest, audioPath: string): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | null>;
  /** Newest first, narrowed by the filters given (./search.ts ListFilters); `cursor` is the previous page's next_cursor. */
  list(query: ListQuery): Promise<JobPage>;
  /**
   * The jobs that hold every word of `q` in their transcript or file name, best
   * first (BM25), narrowed by the same filters as list(), each with the
   * segments where its words are (./search.ts); `cursor` is the previous
   * page's next_cursor (an offset in the ranking). A query of no words finds nothing.
   */
  search(query: SearchQuery): Promise<SearchPage>;
  /** Queued and running jobs of one owner (the limit per key). */
  activeCount(owner: string | null): Promise<number>;
  /** Queued jobs, oldest first: what the scheduler is handed at start. */
  queued(): Promise<JobRecord[]>;
  /** 1 = next to run; null when the job is not queued. */
  position(id: string): Promise<number | null>;
  markRunning(id: string, attempt: number): Promise<void>;
  /** Back to queued, keeping its attempts (a retry, or a restart that found it running). */
  requeue(id: string): Promise<void>;
  /**
   * Appends an event and answers its number (from 1). An event equal to the
   * last one stored is not appended again, and answers that one's number: it
   * is a write sent twice (a client resends what a dropped connection left
   * unanswered), since no two events in a row of a job are equal.
   */
  appendEvent(id: string, event: JobEvent): Promise<number>;
  events(id: string, afterSeq: number): Promise<StoredEvent[]>;
  noteProgress(id: string, patch: { language?: string; duration?: number; processed?: number }): Promise<void>;
  /** The finished record, or null when the job had ended already (the first outcome stands) or is gone. */
  finish(id: string, outcome: Outcome): Promise<JobRecord | null>;
  /**
   * Stores work that ran outside the queue (a realtime session) as a job that
   * has finished already: created and started at `startedAt`, finished now,
   * with no audio. It is never queued or running, so no feed can pick it up.
   */
  insertFinished(id: string, request: JobRequest, outcome: Outcome, startedAt: number): Promise<JobRecord>;
  /** Saves a delivery's progress; `final` (delivered, or given up): it is no longer pending. */
  recordWebhook(id: string, delivery: WebhookDelivery, final: boolean): Promise<void>;
  /**
   * Finished jobs whose webhook is still to be delivered: a job finished with a
   * callback_url is pending from the same write that finished it, so a restart
   * in between loses no delivery.
   */
  pendingWebhooks(): Promise<JobRecord[]>;
  /** Whether this process may deliver the pending webhook now (several gateways on one store: one at a time). */
  claimWebhook(id: string, forMs: number): Promise<boolean>;
  /** Jobs that were running when the gateway stopped. */
  interrupted(): Promise<JobRecord[]>;
  /** Finished jobs older than `beforeMs` (by finished_at). */
  expired(beforeMs: number): Promise<JobRecord[]>;
  delete(id: string): Promise<void>;
  /**
   * Renames speakers of a succeeded job's result, in one atomic write: each
   * speaker in `result.speakers` whose id is a key of `names` (speaker id → new
   * name) takes that name; ids that are none of its speakers are ignored. The
   * updated record; null when the job is not there or has no result (not
   * succeeded). Segments and words keep their speaker ids.
   */
  renameSpeakers(id: string, names: Record<string, string>): Promise<JobRecord | null>;
  /**
   * The revisions of a succeeded job's transcript, oldest first: revision 0 is
   * the result as the worker made it (created_at: when the job finished), then
   * one for each edit or restore. Null when the job is not there or has no
   * result (not succeeded).
   */
  transcriptRevisions(id: string): Promise<TranscriptRevision[] | null>;
  /**
   * Stores `make(revisions)` (./transcript-edit.ts makes it) as the job's result
   * and as its next revision, in one atomic write; the revisions before stay.
   * With `base`, only if the current revision (the last) is that one: else
   * {stale: the current revision's number}, and nothing is written. Null when
   * the job is not there or has no result. `make` may run more than once (a
   * store that writes by compare-and-set runs it again on what it reads anew);
   * what it throws is thrown, nothing written.
   */
  reviseTranscript(id: string, base: number | undefined, make: (revisions: TranscriptRevision[]) => TranscriptionResult): Promise<Revised | { stale: number } | null>;
  close(): Promise<void>;
  /** Null when the store can be reached; else why not (a store across the network). */
  health?(): string | null;
}

/** A revision of a transcript: 0 the original, then each edit. */
export interface TranscriptRevision {
  revision: number;
  created_at: number; // ms since the epoch
  result: TranscriptionResult;
}

export interface Revised {
  job: JobRecord;
  revision: TranscriptRevision;
}

/**
 * The revisions a store keeps as JSON (null: never edited), as
 * JobStore.transcriptRevisions answers them: the original made from the
 * record when the job was never edited.
 */
export function revisionsOf(stored: string | null | undefined, result: TranscriptionResult, finishedAt: number | null): TranscriptRevision[] {
  return stored ? (JSON.parse(stored) as TranscriptRevision[]) : [{ revision: 0, created_at: finishedAt ?? 0, result }];
}

/**
 * How many edits a job's transcript keeps besides its original: each revision is
 * a whole result (a long recording's words make it megabytes), so the oldest
 * edits go; the original and the last KEPT_EDITS stay restorable.
 */
export const KEPT_EDITS = 20;

/**
 * What a store writes for a revision: the new result, and the revisions with it
 * (as JSON: the original and the last KEPT_EDITS); or {stale} when `base` is
 * not the current revision.
 */
export function nextRevision(
  revisions: TranscriptRevision[], base: number | undefined, make: (revisions: TranscriptRevision[]) => TranscriptionResult, now = Date.now(),
): { stale: number } | { revision: TranscriptRevision; result: string; revisions: string } {
  const current = revisions[revisions.length - 1]!.revision;
  if (base !== undefined && base !== current) return { stale: current };
  const revision = { revision: current + 1, created_at: now, result: make(revisions) };
  const kept = [revisions[0]!, ...[...revisions.slice(1), revision].slice(-KEPT_EDITS)];
  return { revision, result: JSON.stringify(revision.result), revisions: JSON.stringify(kept) };
}

/** `result` with the speakers whose ids are keys of `names` renamed (what JobStore.renameSpeakers stores). */
export function withSpeakerNames(result: TranscriptionResult, names: Record<string, string>): TranscriptionResult {
  if (!result.speakers) return result;
  return { ...result, speakers: result.speakers.map((s) => (Object.hasOwn(names, s.id) ? { ...s, name: names[s.id]! } : s)) };
}
