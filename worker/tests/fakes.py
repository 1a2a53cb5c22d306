"""Stand-ins for faster-whisper's models, and the real server in the test's own event loop:
for tests of the slots, the cache and cancels that need no weights and no subprocess."""

from __future__ import annotations

import asyncio
import io
import math
import struct
import threading
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

from whisper_worker.server.tcp import listen
from whisper_worker.server.worker import Worker
from whisper_worker.settings import Settings


class Gate:
    """Where a worker thread stops until the test opens it; `reached` tells the test a thread got there."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._open = threading.Event()
        self._open.set()

    def close(self) -> Gate:
        self._open.clear()
        return self

    def open(self) -> None:
        self._open.set()

    def wait(self) -> None:
        self.reached.set()
        assert self._open.wait(30), "the test never opened the gate"


class FakeModel:
    """Answers like a WhisperModel: `segments` segments over the audio, each one passing `gate`."""

    def __init__(self, name: str, segments: int = 3):
        self.name = name
        self.segments = segments
        self.gate = Gate()
        self.calls: list[dict[str, Any]] = []  # the keyword arguments of each transcribe()

    def detect_language(self, audio: Any) -> tuple[str, float, list[tuple[str, float]]]:
        self.gate.wait()
        return "de", 0.9, [("de", 0.9), ("en", 0.05)]

    def transcribe(self, audio: Any, **kwargs: Any) -> tuple[Iterator[SimpleNamespace], SimpleNamespace]:
        self.calls.append(kwargs)
        duration = len(audio) / 16000
        info = SimpleNamespace(language=kwargs.get("language") or "en", language_probability=0.99, duration=duration)

        def segments() -> Iterator[SimpleNamespace]:  # lazy, as faster-whisper's: decoded while iterated
            for i in range(self.segments):
                self.gate.wait()
                start, end = duration * i / self.segments, duration * (i + 1) / self.segments
                yield SimpleNamespace(seek=0, start=start, end=end, text=f" part {i}", tokens=[50364 + i], temperature=0.0,
                                      avg_logprob=-0.2, compression_ratio=1.2, no_speech_prob=0.01, words=[])

        return segments(), info


class FakeLoader:
    """A loader for ModelCache and Worker: one FakeModel per name; loading passes `gate`, and raises `fail` if set."""

    def __init__(self) -> None:
        self.gate = Gate()
        self.calls: list[str] = []
        self.fail: Exception | None = None
        self._models: dict[str, FakeModel] = {}

    def model(self, name: str) -> FakeModel:
        """The model a load of `name` returns, to set up before the load."""
        return self._models.setdefault(name, FakeModel(name))

    def __call__(self, name: str) -> FakeModel:
        self.calls.append(name)
        self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.model(name)


def fake_worker(loader: FakeLoader, **settings: Any) -> Worker:
    return Worker(Settings(**{"device": "cpu", "slots": 1, "port": 0, **settings}), loader=loader)


@asynccontextmanager
async def served(worker: Worker) -> AsyncIterator[int]:
    """The production server for `worker` on a free port of this event loop; yields the port."""
    server = await listen(worker)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
        # Lets each connection see its client go and wind down, rather than be cut off by the loop's end.
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if others:
            await asyncio.wait(others, timeout=10)


def wav(seconds: float) -> bytes:
    """A 440 Hz tone, 16 kHz mono: audio FFmpeg decodes, for a model that never listens."""
    frames = int(16000 * seconds)
    samples = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 16000))) for n in range(frames))
    out = io.BytesIO()
    with wave.open(out, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(samples)
    return out.getvalue()
