// A worker's link as a state machine: every move it allows, and every other refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IllegalWorkerMove, nextWorkerState, workerMoves, type WorkerState } from './worker.ts';

const STATES: WorkerState[] = ['connecting', 'ready', 'down', 'gone'];

test('a worker link moves connecting → ready ⇄ down → connecting, and anything → gone, which is the end', () => {
  const legal = new Set(workerMoves().map(([from, to]) => `${from}>${to}`));
  assert.deepEqual([...legal].sort(), [
    'connecting>down', 'connecting>gone', 'connecting>ready',
    'down>connecting', 'down>down', 'down>gone', 'down>ready',
    'ready>down', 'ready>gone', 'ready>ready',
  ]);
  for (const from of STATES) {
    for (const to of STATES) {
      if (legal.has(`${from}>${to}`)) assert.equal(nextWorkerState(from, to), to);
      else assert.throws(() => nextWorkerState(from, to), IllegalWorkerMove, `${from} → ${to}`);
    }
  }
  // A worker that left is not contacted again: no way out of gone.
  assert.ok(!workerMoves().some(([from]) => from === 'gone'));
});
