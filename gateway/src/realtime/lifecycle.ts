// The lifecycles of a realtime session and of the worker streams it opens:
// two small state machines, their moves in one place, used by ./session.ts
// and ./stream.ts.
//
// A session:  idle ──audio──▶ streaming ──stream_ended / settings──▶ idle
//               └──────────────┴──end──▶ ending ──stored──▶ ended
// A stream:   open ──close──▶ closing ──end──▶ ended, or open ──end──▶ ended

/**
 * idle: no worker stream (nothing heard yet, or the last one ended or was
 * closed); streaming: a worker stream takes the audio; ending: the client
 * left, its streams are cancelled and its transcript stored; ended.
 */
export type SessionState = 'idle' | 'streaming' | 'ending' | 'ended';
export type SessionEvent = 'audio' | 'stream_ended' | 'settings' | 'end' | 'stored';

/** open: takes audio and controls; closing: its last utterance is being finalized; ended. */
export type StreamState = 'open' | 'closing' | 'ended';
export type StreamEvent = 'close' | 'end';

const SESSION: Record<SessionState, Partial<Record<SessionEvent, SessionState>>> = {
  idle: { audio: 'streaming', end: 'ending' },
  streaming: { stream_ended: 'idle', settings: 'idle', end: 'ending' },
  ending: { stored: 'ended' },
  ended: {},
};

const STREAM: Record<StreamState, Partial<Record<StreamEvent, StreamState>>> = {
  open: { close: 'closing', end: 'ended' },
  closing: { end: 'ended' },
  ended: {},
};

export class IllegalMove extends Error {}

function move<S extends string, E extends string>(table: Record<S, Partial<Record<E, S>>>, what: string, state: S, event: E): S {
  const to = table[state][event];
  if (to === undefined) throw new IllegalMove(`a ${what} that is ${state} cannot take '${event}'`);
  return to;
}

export const nextSession = (state: SessionState, event: SessionEvent): SessionState => move(SESSION, 'session', state, event);
export const nextStream = (state: StreamState, event: StreamEvent): StreamState => move(STREAM, 'stream', state, event);

/** Whether `event` is a move from `state` (a stream's answers that come late are dropped, not errors). */
export const streamCan = (state: StreamState, event: StreamEvent): boolean => STREAM[state][event] !== undefined;

/** Every move of both machines, for the tests that walk them. */
export function moves(): { session: Array<[SessionState, SessionEvent, SessionState]>; stream: Array<[StreamState, StreamEvent, StreamState]> } {
  const flat = <S extends string, E extends string>(table: Record<S, Partial<Record<E, S>>>) =>
    Object.entries(table).flatMap(([from, events]) => Object.entries(events as object).map(([e, to]) => [from, e, to] as [S, E, S]));
  return { session: flat(SESSION), stream: flat(STREAM) };
}
