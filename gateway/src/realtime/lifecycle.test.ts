// A realtime session's lifecycle and its worker streams', as state machines: every move, every other refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IllegalMove, moves, nextSession, nextStream, streamCan, type SessionEvent, type SessionState, type StreamEvent, type StreamState } from './lifecycle.ts';

test('a session: idle ⇄ streaming, then ending and ended, from either', () => {
  const { session } = moves();
  assert.deepEqual(session.map((m) => m.join(' ')).sort(), [
    'ending stored ended', 'idle audio streaming', 'idle end ending', 'streaming end ending', 'streaming settings idle', 'streaming stream_ended idle',
  ]);
  const legal = new Map(session.map(([from, e, to]) => [`${from} ${e}`, to]));
  const states: SessionState[] = ['idle', 'streaming', 'ending', 'ended'];
  const events: SessionEvent[] = ['audio', 'stream_ended', 'settings', 'end', 'stored'];
  for (const s of states) {
    for (const e of events) {
      const to = legal.get(`${s} ${e}`);
      if (to) assert.equal(nextSession(s, e), to);
      else assert.throws(() => nextSession(s, e), IllegalMove, `${s} ${e}`);
    }
  }
});

test('a worker stream: open → closing → ended, or open → ended; an end that comes late is dropped, not an error', () => {
  const { stream } = moves();
  assert.deepEqual(stream.map((m) => m.join(' ')).sort(), ['closing end ended', 'open close closing', 'open end ended']);
  const states: StreamState[] = ['open', 'closing', 'ended'];
  const events: StreamEvent[] = ['close', 'end'];
  for (const s of states) {
    for (const e of events) {
      const to = stream.find(([from, ev]) => from === s && ev === e)?.[2];
      assert.equal(streamCan(s, e), to !== undefined);
      if (to) assert.equal(nextStream(s, e), to);
      else assert.throws(() => nextStream(s, e), IllegalMove);
    }
  }
});
