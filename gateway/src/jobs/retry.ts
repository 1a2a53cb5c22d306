// The one retry decision (as BullMQ's shouldRetryJob): what happens to a job
// after an attempt fails, and whether a job may start another attempt. Both
// feeds (SQLite and Redis) and every cause (a worker lost, a gateway that
// stopped mid-job, no worker up) come through here, with one limit.
import type { JobError } from '../dispatch/types.ts';
import type { StoredEvent } from './store.ts';

/** Attempts a job may start, in all, across workers and gateway restarts. */
export const MAX_ATTEMPTS = 3;

// Worker errors that another attempt, elsewhere, may fix.
const RETRYABLE = new Set(['worker_lost', 'overloaded', 'internal']);
const RETRY_MS = 1000;
const NO_WORKER_RETRY_MS = 5000; // an async job outlives a worker restart: it waits, it does not fail

export const CANCELLED_ERROR: JobError = { code: 'cancelled', message: 'the job was cancelled' };

export type Decision = { type: 'retry'; delayMs: number } | { type: 'fail'; error: JobError };

export interface Failure {
  error: JobError;
  /** Attempts started so far, this one included. */
  attempts: number;
  /** Submitted to the jobs API: nobody waits on the connection, so it may wait for a worker. */
  async: boolean;
  /** Someone asked for the cancel. */
  cancelled: boolean;
  /** The gateway is shutting down: the job is handed back, not failed. */
  draining: boolean;
}

export function afterFailure(f: Failure): Decision {
  if (f.cancelled || (f.error.code === 'cancelled' && !f.draining)) return { type: 'fail', error: CANCELLED_ERROR };
  // Stopped by the shutdown (or lost as it went): handed back whole, for the next start or another gateway.
  if (f.draining && (f.error.code === 'cancelled' || RETRYABLE.has(f.error.code))) return { type: 'retry', delayMs: 0 };
  if (f.attempts < MAX_ATTEMPTS) {
    if (f.error.code === 'no_worker' && f.async) return { type: 'retry', delayMs: NO_WORKER_RETRY_MS };
    if (RETRYABLE.has(f.error.code)) return { type: 'retry', delayMs: RETRY_MS };
  }
  if (f.error.code !== 'worker_lost') return { type: 'fail', error: f.error };
  return { type: 'fail', error: { code: 'no_worker', message: `the job failed in ${f.attempts} attempts; the last: ${f.error.message}` } };
}

/**
 * Where a job's earlier attempts ran, from its stored events: a retry goes to
 * another worker when one is free (the same rule on every gateway, and after
 * a restart, since the events are durable).
 */
export function triedOn(events: readonly StoredEvent[]): string[] {
  return [...new Set(events.flatMap(({ event }) => (event.type === 'started' ? [event.worker] : [])))];
}

/** Null when a job that has started `attempts` may start another; else why not. */
export function refuseStart(attempts: number): JobError | null {
  if (attempts < MAX_ATTEMPTS) return null;
  return { code: 'internal', message: `the job was started ${attempts} times and its gateway or worker stopped each time; it was not tried again` };
}
