"""Slots: how many transcriptions run at once; the rest wait in order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from whisper_worker.errors import WorkerError


class Slots:
    def __init__(self, slots: int, queue_limit: int):
        self.slots = slots
        self.queue_limit = queue_limit
        self.running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return sum(1 for f in self._waiting if not f.done())

    @asynccontextmanager
    async def hold(self, on_queued: Callable[[int], Awaitable[None]]) -> AsyncIterator[None]:
        if self.running < self.slots and not self.queued:
            self.running += 1
        else:
            await self._wait(on_queued)
        try:
            yield
        finally:
            self._release()

    async def _wait(self, on_queued: Callable[[int], Awaitable[None]]) -> None:
        if self.queued >= self.queue_limit:
            raise WorkerError(
                "overloaded",
                f"all {self.slots} slot(s) are busy and {self.queued} transcription(s) are waiting "
                f"(WHISPER_QUEUE_LIMIT={self.queue_limit}); try again later or add a worker",
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        try:
            await on_queued(self.queued)
            await future  # the slot is handed over by _release, so `running` stays counted
        except BaseException:
            if future.done() and not future.cancelled():
                self._release()  # handed a slot just as we gave up: pass it on
            else:
                future.cancel()
            raise

    def _release(self) -> None:
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.running -= 1
