"""Tasks that nobody awaits to the end get an owner here, so that their failure is heard when it happens.

asyncio reports an exception that ends a task nobody awaits only when the task is
garbage-collected ("Task exception was never retrieved"), which may be much later or
never, without saying what the task was doing. Each task here logs its own failure,
with the traceback, at once; what the task was doing is its own to leave in a known
state (its `finally`), and nothing of it reaches the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("whisper_worker")


def owned(coroutine: Coroutine[Any, Any, T], what: str) -> asyncio.Task[T]:
    """`coroutine` as a task named `what` whose failure is logged, with its traceback, as soon as it ends it."""
    task = asyncio.create_task(coroutine, name=what)
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return  # a cancel is how its owner ends it, not a failure
    error = task.exception()
    if error is not None:
        log.error("%s failed: %r", task.get_name(), error, exc_info=error)
