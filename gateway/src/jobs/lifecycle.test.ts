// A job's lifecycle as a state machine: every move it allows, every other refused, and what a reader sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowed, FINISHED, IllegalTransition, JOB_STATUSES, next, statusOf, type JobState, type JobTransition } from './lifecycle.ts';

const STATES: JobState[] = ['queued', 'running', 'retry_wait', 'succeeded', 'failed', 'cancelled'];
const TRANSITIONS: JobTransition[] = ['start', 'succeed', 'fail', 'cancel', 'retry', 'due', 'hand_back'];

test('the moves of a job: queued → running → an end, with a retry wait or a hand back between', () => {
  assert.deepEqual(allowed().map((m) => m.join(' ')).sort(), [
    'queued cancel cancelled', 'queued fail failed', 'queued start running',
    'retry_wait cancel cancelled', 'retry_wait due queued', 'retry_wait fail failed',
    'running cancel cancelled', 'running fail failed', 'running hand_back queued', 'running retry retry_wait', 'running succeed succeeded',
  ]);
  const legal = new Map(allowed().map(([from, t, to]) => [`${from} ${t}`, to]));
  for (const state of STATES) {
    for (const t of TRANSITIONS) {
      const to = legal.get(`${state} ${t}`);
      if (to) assert.equal(next(state, t), to);
      else assert.throws(() => next(state, t), IllegalTransition, `${state} ${t}`);
    }
  }
});

test('an ended job stays ended; every other state can still end', () => {
  for (const end of FINISHED) assert.ok(!allowed().some(([from]) => from === end), `${end} has no way out`);
  for (const state of STATES.filter((s) => !FINISHED.has(s as never))) {
    assert.equal(next(state, 'cancel'), 'cancelled');
    assert.equal(next(state, 'fail'), 'failed');
  }
});

test('a reader sees a job waiting to be tried again as queued; every other state as itself', () => {
  assert.equal(statusOf('retry_wait'), 'queued');
  for (const status of JOB_STATUSES) assert.equal(statusOf(status), status);
  // A long path walked move by move: a retry, a hand back, then success.
  const path: JobTransition[] = ['start', 'retry', 'due', 'start', 'hand_back', 'start', 'succeed'];
  assert.equal(path.reduce<JobState>((s, t) => next(s, t), 'queued'), 'succeeded');
});
