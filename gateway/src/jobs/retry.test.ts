// The one retry decision, case by case: every feed and every cause comes through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterFailure, MAX_ATTEMPTS, refuseStart, type Failure } from './retry.ts';

const failure = (code: string, over: Partial<Failure> = {}): Failure => ({
  error: { code, message: `${code} happened` }, attempts: 1, async: false, cancelled: false, draining: false, ...over,
});

test('a worker lost, overloaded or failing inside is tried again, a second later, until the attempts are spent', () => {
  for (const code of ['worker_lost', 'overloaded', 'internal']) {
    assert.deepEqual(afterFailure(failure(code)), { type: 'retry', delayMs: 1000 }, code);
    assert.deepEqual(afterFailure(failure(code, { attempts: MAX_ATTEMPTS - 1 })), { type: 'retry', delayMs: 1000 }, code);
    assert.equal(afterFailure(failure(code, { attempts: MAX_ATTEMPTS })).type, 'fail', code);
  }
  assert.deepEqual(afterFailure(failure('worker_lost', { attempts: 3 })), {
    type: 'fail', error: { code: 'no_worker', message: 'the job failed in 3 attempts; the last: worker_lost happened' },
  });
  assert.deepEqual(afterFailure(failure('overloaded', { attempts: 3 })), { type: 'fail', error: { code: 'overloaded', message: 'overloaded happened' } });
});

test('what another attempt cannot fix fails at once', () => {
  for (const code of ['undecodable_audio', 'audio_too_long', 'unknown_model', 'model_unavailable', 'bad_request']) {
    assert.deepEqual(afterFailure(failure(code)), { type: 'fail', error: { code, message: `${code} happened` } }, code);
  }
});

test('no worker up: a job of the jobs API waits for one, a synchronous request fails', () => {
  assert.deepEqual(afterFailure(failure('no_worker', { async: true, attempts: 0 })), { type: 'retry', delayMs: 5000 });
  assert.equal(afterFailure(failure('no_worker', { async: false, attempts: 0 })).type, 'fail');
  assert.equal(afterFailure(failure('no_worker', { async: true, attempts: MAX_ATTEMPTS })).type, 'fail', 'its workers kept dying under it');
});

test('a cancel is final; a shutdown hands the job back at once, whatever the error', () => {
  assert.deepEqual(afterFailure(failure('worker_lost', { cancelled: true })), { type: 'fail', error: { code: 'cancelled', message: 'the job was cancelled' } });
  assert.deepEqual(afterFailure(failure('cancelled')), { type: 'fail', error: { code: 'cancelled', message: 'the job was cancelled' } });
  assert.deepEqual(afterFailure(failure('cancelled', { draining: true })), { type: 'retry', delayMs: 0 });
  assert.deepEqual(afterFailure(failure('worker_lost', { draining: true, attempts: 3 })), { type: 'retry', delayMs: 0 });
  assert.equal(afterFailure(failure('undecodable_audio', { draining: true })).type, 'fail', 'a verdict on the audio stands');
});

test('a job may start while it has attempts left', () => {
  assert.equal(refuseStart(0), null);
  assert.equal(refuseStart(MAX_ATTEMPTS - 1), null);
  assert.deepEqual(refuseStart(MAX_ATTEMPTS), { code: 'internal', message: 'the job was started 3 times and its gateway or worker stopped each time; it was not tried again' });
});
