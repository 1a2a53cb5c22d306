// A job's lifecycle: one state machine, its transitions in one place. The
// runner (./runner.ts) moves a job only through next(); the store keeps the
// state a reader may see (retry-wait is stored, and shown, as queued: the job
// is back in line, its next attempt not begun).
//
//   queued ──start──▶ running ──succeed──▶ succeeded
//     │  ▲              │ │ └───fail─────▶ failed
//     │  └──hand_back───┘ └─────retry────▶ retry_wait ──due──▶ queued
//     └──────────── cancel / fail (from queued, running, retry_wait) ──▶ cancelled / failed

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
/** What the store keeps and the API shows. */
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export type JobState = JobStatus | 'retry_wait';

export type JobTransition =
  | 'start' // an attempt begins on a worker
  | 'succeed'
  | 'fail' // a final failure (retry.ts said so), or a job that may not start again
  | 'cancel'
  | 'retry' // the attempt failed and the job is tried again after a wait (retry.ts)
  | 'due' // the wait is over: back in line
  | 'hand_back'; // the gateway stops (or loses the store) while it runs: back in line at once, for any gateway

const TRANSITIONS: Record<JobState, Partial<Record<JobTransition, JobState>>> = {
  queued: { start: 'running', cancel: 'cancelled', fail: 'failed' },
  running: { succeed: 'succeeded', fail: 'failed', cancel: 'cancelled', retry: 'retry_wait', hand_back: 'queued' },
  retry_wait: { due: 'queued', cancel: 'cancelled', fail: 'failed' },
  succeeded: {},
  failed: {},
  cancelled: {},
};

export class IllegalTransition extends Error {}

/** The state after `transition`; throws when the machine has no such move (a bug, never a client's doing). */
export function next(state: JobState, transition: JobTransition): JobState {
  const to = TRANSITIONS[state][transition];
  if (to === undefined) throw new IllegalTransition(`a ${state} job cannot ${transition}`);
  return to;
}

/** The status a reader sees for a state. */
export function statusOf(state: JobState): JobStatus {
  return state === 'retry_wait' ? 'queued' : state;
}

/** Every (state, transition) pair the machine allows, for the tests that walk it. */
export function allowed(): Array<[JobState, JobTransition, JobState]> {
  return Object.entries(TRANSITIONS).flatMap(([from, moves]) =>
    Object.entries(moves).map(([t, to]) => [from as JobState, t as JobTransition, to as JobState] as [JobState, JobTransition, JobState]));
}
