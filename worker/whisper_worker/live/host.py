"""What a live stream needs of the worker that hosts it, and nothing more: live/ never imports the server.

The server's Worker is a LiveHost as it stands (checked by mypy where it opens a stream); a test can host a
stream on anything that has these.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from whisper_worker.engine.models import ModelCache
from whisper_worker.live.policy import Decoded, Step
from whisper_worker.settings import Settings


class SlotHolder(Protocol):
    def hold(self, on_queued: Callable[[int], Awaitable[None]]) -> AbstractAsyncContextManager[None]:
        """A slot for as long as the context lasts; `on_queued(position)` while the stream waits for one."""
        ...


class LiveHost(Protocol):
    @property
    def settings(self) -> Settings: ...  # the stream reads live_max_buffered_seconds

    @property
    def cache(self) -> ModelCache: ...  # the stream holds its model while it runs

    @property
    def slots(self) -> SlotHolder: ...  # held while the stream has decoding to do

    def decode_live(self, model: Any, step: Step, task: str) -> Decoded:
        """One of the policy's decodes, run in a thread (so: blocking), on the model shared with other transcriptions."""
        ...
