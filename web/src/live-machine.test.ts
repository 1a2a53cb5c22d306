// The live mode's state machine without a browser: each way through it, and
// every event each state refuses.
//   node --test src/live-machine.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { can, COMMIT_EMPTY, IDLE, IllegalTransition, next, type EventType, type LiveEvent, type LiveState, type Phase } from './live-machine.ts';

const EVENTS: Record<EventType, LiveEvent> = {
  start: { type: 'start' },
  stop: { type: 'stop' },
  opened: { type: 'opened' },
  refused: { type: 'refused' },
  final: { type: 'final', words: true },
  committed: { type: 'committed' },
  error: { type: 'error', code: 'some_error' },
  socketClosed: { type: 'socketClosed' },
  commitSent: { type: 'commitSent' },
  sessionEnded: { type: 'sessionEnded' },
  saved: { type: 'saved' },
  released: { type: 'released' },
};

/** What each phase accepts, written out here rather than read from the machine. */
const LEGAL: Record<Phase, EventType[]> = {
  idle: ['start'],
  starting: ['opened', 'refused'],
  live: ['final', 'committed', 'error', 'socketClosed', 'stop'],
  stopping: ['commitSent', 'committed', 'final', 'error', 'socketClosed', 'sessionEnded'],
  saving: ['saved'],
  dropping: ['released'],
};

/** The state after each event in turn, from `from`. */
const walk = (from: LiveState, ...events: Array<EventType | LiveEvent>) =>
  events.reduce((state, e) => next(state, typeof e === 'string' ? EVENTS[e] : e), from);

/** A state in `phase`, reached the ordinary way. */
const PATHS: Record<Phase, EventType[]> = {
  idle: [],
  starting: ['start'],
  live: ['start', 'opened'],
  stopping: ['start', 'opened', 'stop'],
  saving: ['start', 'opened', 'final', 'stop', 'commitSent', 'committed', 'sessionEnded'],
  dropping: ['start', 'opened', 'socketClosed'],
};
const reach = (phase: Phase) => walk(IDLE, ...PATHS[phase]);

test('the reference paths reach the phase they are named for', () => {
  for (const phase of Object.keys(PATHS) as Phase[]) assert.equal(reach(phase).phase, phase);
});

test('a session with words: start, listen, stop, the final text, then the job is saved', () => {
  let s = walk(IDLE, 'start');
  assert.deepEqual(s, { phase: 'starting', finals: 0, errors: 0, ended: false, awaiting: false });
  s = walk(s, 'opened', { type: 'final', words: true }, { type: 'final', words: false }, 'committed');
  assert.equal(s.phase, 'live');
  assert.equal(s.finals, 1, 'a final without words is not counted');
  s = walk(s, 'stop');
  assert.equal(s.phase, 'stopping');
  s = walk(s, 'commitSent');
  assert.equal(s.awaiting, true, 'the commit waits for its answer');
  s = walk(s, 'committed', { type: 'final', words: true });
  assert.equal(s.awaiting, false);
  assert.equal(s.finals, 2);
  s = walk(s, 'sessionEnded');
  assert.equal(s.phase, 'saving');
  s = walk(s, 'saved');
  assert.equal(s.phase, 'idle');
});

test('a session without words ends in idle at once: nothing is kept, nothing to wait for', () => {
  const s = walk(IDLE, 'start', 'opened', { type: 'final', words: false }, 'stop', 'commitSent', 'committed', 'sessionEnded');
  assert.equal(s.phase, 'idle');
  assert.equal(s.finals, 0);
});

test('the microphone or the socket refused: back to idle from starting', () => {
  assert.equal(walk(IDLE, 'start', 'refused').phase, 'idle');
});

test('the socket closed while live: the microphone is let go, then idle; a later start begins afresh', () => {
  let s = walk(IDLE, 'start', 'opened', 'final', 'socketClosed');
  assert.deepEqual(s, { phase: 'dropping', finals: 1, errors: 0, ended: true, awaiting: false });
  s = walk(s, 'released');
  assert.equal(s.phase, 'idle');
  assert.deepEqual(walk(s, 'start'), walk(IDLE, 'start'), 'nothing of the last session carries over');
});

test('errors are counted while live and while stopping, but an empty commit at Stop is none', () => {
  let s = walk(IDLE, 'start', 'opened', { type: 'error', code: 'model_unavailable' });
  assert.equal(s.errors, 1);
  s = walk(s, 'stop', 'commitSent', { type: 'error', code: COMMIT_EMPTY });
  assert.equal(s.errors, 1, 'the last utterance had ended by itself: no error');
  assert.equal(s.awaiting, false, 'the empty commit is still the answer to the commit');
  s = walk(reach('stopping'), 'commitSent', { type: 'error', code: 'internal' });
  assert.equal(s.errors, 1);
  assert.equal(s.awaiting, false);
  assert.equal(walk(reach('live'), { type: 'error', code: COMMIT_EMPTY }).errors, 1, 'while live, any error is one');
});

test('the socket closed while stopping: no drop, and the commit awaits nothing', () => {
  const closedFirst = walk(reach('stopping'), 'socketClosed', 'commitSent');
  assert.equal(closedFirst.phase, 'stopping');
  assert.equal(closedFirst.ended, true);
  assert.equal(closedFirst.awaiting, false, 'a closed socket answers nothing');
  const closedAfter = walk(reach('stopping'), 'commitSent', 'socketClosed');
  assert.equal(closedAfter.awaiting, false);
});

test('every event a phase does not expect is refused, and the state is left as it was', () => {
  for (const phase of Object.keys(LEGAL) as Phase[]) {
    const state = reach(phase);
    for (const type of Object.keys(EVENTS) as EventType[]) {
      const legal = LEGAL[phase].includes(type);
      assert.equal(can(state, type), legal, `can(${phase}, ${type})`);
      if (legal) continue;
      const before = structuredClone(state);
      assert.throws(() => next(state, EVENTS[type]), (e: unknown) => e instanceof IllegalTransition && e.state === state && e.event === EVENTS[type], `${type} while ${phase}`);
      assert.deepEqual(state, before);
    }
  }
});

test('no dead ends: idle is reachable from every phase, every phase from idle', () => {
  const phases = Object.keys(LEGAL) as Phase[];
  // Every state, told apart by all that steers the machine (counts only as none or some, so that there are few).
  const shape = (s: LiveState) => JSON.stringify([s.phase, s.finals > 0, s.errors > 0, s.ended, s.awaiting]);
  const reachable = (from: LiveState): Set<Phase> => {
    const seen = new Set([shape(from)]);
    const phases = new Set<Phase>([from.phase]);
    const queue = [from];
    for (let s = queue.shift(); s; s = queue.shift()) {
      for (const type of LEGAL[s.phase]) {
        for (const event of type === 'final' ? [EVENTS.final, { type, words: false } as const] : [EVENTS[type]]) {
          const after = next(s, event);
          phases.add(after.phase);
          if (!seen.has(shape(after))) {
            seen.add(shape(after));
            queue.push(after);
          }
        }
      }
    }
    return phases;
  };
  assert.deepEqual([...reachable(IDLE)].sort(), [...phases].sort());
  for (const phase of phases) assert.ok(reachable(reach(phase)).has('idle'), `no way back to idle from ${phase}`);
});

test('states are frozen: nothing outside the machine moves them', () => {
  for (const phase of Object.keys(PATHS) as Phase[]) assert.ok(Object.isFrozen(reach(phase)), phase);
});
