// The live mode's states and every move between them, in one place. Pure: no
// page, no socket, no microphone; live.ts sends it what happens and draws the
// state it returns. An event a state does not expect is refused (next throws).
//
//   idle ─start─▶ starting ─opened─▶ live ─stop─▶ stopping ─sessionEnded─▶ saving ─saved─▶ idle
//                    │                 │              │       (finals > 0)
//                 refused        socketClosed    sessionEnded (no finals: nothing kept)
//                    ▼                 ▼              ▼
//                   idle           dropping ─released─▶ idle
//
//   In place: live takes final, committed and error; stopping takes commitSent,
//   committed, final, error and socketClosed. They move the counts and flags of
//   LiveState, which the later steps read.

export type Phase =
  | 'idle' // nothing open; the button starts
  | 'starting' // the microphone and the socket are opening (the first audio waits for the socket)
  | 'live' // listening: audio goes to the server, text comes back; the button stops
  | 'stopping' // Stop was pressed: the last audio and a commit go, the last final text is awaited, the socket closed
  | 'saving' // the socket closed after words: the server keeps them as a job, which the page waits to see listed
  | 'dropping'; // the server closed the socket, or the connection dropped, while live: the microphone is let go

export interface LiveState {
  readonly phase: Phase;
  /** Utterances of this session whose final text held words: the server keeps a job only when there is one. */
  readonly finals: number;
  /** Errors of this session put on screen: a lost connection says so only when nothing else has. */
  readonly errors: number;
  /** The server has closed the socket: nothing more will answer. */
  readonly ended: boolean;
  /** The commit sent at Stop has had no answer yet. */
  readonly awaiting: boolean;
}

export type LiveEvent =
  // The user, with the Live button.
  | { type: 'start' }
  | { type: 'stop' }
  // The opening.
  | { type: 'opened' }
  | { type: 'refused' } // the microphone or the session could not be had; the page shows why
  // The server, while the session runs.
  | { type: 'final'; words: boolean } // an utterance's final text (a noise's holds none)
  | { type: 'committed' } // an utterance was committed (the answer to the commit sent at Stop, or one ended by a pause)
  | { type: 'error'; code: string }
  | { type: 'socketClosed' } // by the server, or the connection dropped
  // The page, as Stop or a drop goes on.
  | { type: 'commitSent' } // the microphone's last audio went, then the commit
  | { type: 'sessionEnded' } // the page closed the socket: the final text came, or the wait for it ran out
  | { type: 'saved' } // the kept job is listed, or the wait for it ran out
  | { type: 'released' }; // the microphone is stopped after a drop

export type EventType = LiveEvent['type'];

/** The server's answer to a commit with no audio left in it: the last utterance had ended by itself. No error of the session. */
export const COMMIT_EMPTY = 'input_audio_buffer_commit_empty';

export const IDLE: LiveState = Object.freeze({ phase: 'idle', finals: 0, errors: 0, ended: false, awaiting: false });

export class IllegalTransition extends Error {
  readonly state: LiveState;
  readonly event: LiveEvent;
  constructor(state: LiveState, event: LiveEvent) {
    super(`live captions: '${event.type}' cannot happen while ${state.phase}`);
    this.state = state;
    this.event = event;
  }
}

type Moves = { [E in LiveEvent as E['type']]?: (state: LiveState, event: E) => LiveState };

const counted = (state: LiveState, { words }: { words: boolean }): LiveState => (words ? { ...state, finals: state.finals + 1 } : state);

/** Every legal move: a phase's events, and the state each one leads to. */
const MOVES: { readonly [P in Phase]: Moves } = {
  idle: {
    start: () => ({ ...IDLE, phase: 'starting' }),
  },
  starting: {
    opened: (s) => ({ ...s, phase: 'live' }),
    refused: (s) => ({ ...s, phase: 'idle' }),
  },
  live: {
    final: counted,
    committed: (s) => s,
    error: (s) => ({ ...s, errors: s.errors + 1 }),
    socketClosed: (s) => ({ ...s, phase: 'dropping', ended: true }),
    stop: (s) => ({ ...s, phase: 'stopping' }),
  },
  stopping: {
    commitSent: (s) => ({ ...s, awaiting: !s.ended }),
    committed: (s) => ({ ...s, awaiting: false }),
    final: counted,
    error: (s, e) => ({ ...s, awaiting: false, errors: s.errors + (e.code === COMMIT_EMPTY ? 0 : 1) }),
    socketClosed: (s) => ({ ...s, ended: true, awaiting: false }),
    sessionEnded: (s) => ({ ...s, phase: s.finals > 0 ? 'saving' : 'idle', awaiting: false }),
  },
  saving: {
    saved: (s) => ({ ...s, phase: 'idle' }),
  },
  dropping: {
    released: (s) => ({ ...s, phase: 'idle' }),
  },
};

/** Whether `event` may happen in `state`. */
export const can = (state: LiveState, type: EventType): boolean => MOVES[state.phase][type] !== undefined;

/** The state after `event`; throws IllegalTransition for an event the state does not expect. */
export function next(state: LiveState, event: LiveEvent): LiveState {
  const move = MOVES[state.phase][event.type] as ((state: LiveState, event: LiveEvent) => LiveState) | undefined;
  if (!move) throw new IllegalTransition(state, event);
  return Object.freeze(move(state, event));
}
