"""One request in flight, and the one rule for how a cancel reaches it: a small state machine.

A job waits (for a slot, a model, its audio), may run a decode in a thread, and is done when its
reply is out. What a cancel does depends on that state alone:

- waiting: only its task works for it, so the task is cancelled at once;
- running: a thread decodes for it on its slot's cores. The task, and so the slot, must outlive the
  thread, or two threads would share one slot; so only the flag is set, and the thread (or the task
  right after it) stops at its next check;
- done: there is nothing left to stop.

A transcription runs once and stays running until it is done: a cancel that lands while its result is
being sent cannot cut the reply in two. A live stream goes back to waiting after each of its decodes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class State(Enum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"


# Every legal move; any other is a bug in the caller, raised where it happens.
MOVES: dict[State, frozenset[State]] = {
    State.WAITING: frozenset({State.RUNNING, State.DONE}),
    State.RUNNING: frozenset({State.WAITING, State.DONE}),
    State.DONE: frozenset(),
}


class IllegalMove(RuntimeError):
    pass


@dataclass
class Job:
    id: str
    cancelled: threading.Event = field(default_factory=threading.Event)  # what the decoding thread checks
    task: asyncio.Task[None] | None = None
    audio_seconds: float | None = None
    model: str | None = None
    batch_size: int | None = None  # how a transcription was decoded: 0 sequential, n windows a batch
    window_seconds: float | None = None  # the encoder window it was heard in (engine/windows.py)
    tuned: dict[str, Any] | None = None  # decoding options set away from their defaults (engine/options.py tuned)
    _state: State = field(default=State.WAITING, init=False)

    @property
    def state(self) -> State:
        return self._state

    def start_running(self) -> None:
        self._move(State.RUNNING)

    def stop_running(self) -> None:
        self._move(State.WAITING)

    def finish(self) -> None:
        self._move(State.DONE)

    @contextmanager
    def decoding(self) -> Iterator[None]:
        """Running for the length of one decode, then waiting again, however the decode ends."""
        self.start_running()
        try:
            yield
        finally:
            self.stop_running()

    def cancel(self) -> None:
        if self._state is State.DONE:
            return
        self.cancelled.set()
        if self._state is State.WAITING and self.task is not None:
            self.task.cancel()

    def _move(self, to: State) -> None:
        if to not in MOVES[self._state]:
            raise IllegalMove(f"job {self.id!r} cannot go from {self._state.value} to {to.value}")
        self._state = to
