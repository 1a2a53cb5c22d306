"""A live stream on the worker: PCM in, the policy's events out (protocol §4, Live streams).

The audio side runs on the event loop (resampling and speech detection take
well under a millisecond a frame), so `stream_audio` is answered at once and
turns are reported as soon as they are heard. One driver task per stream runs
the decodes the policy asks for, one at a time, in a thread, on the model
shared with every other transcription (engine/batching.py), and holds a slot while it
has work, giving it back after a while of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextlib import AsyncExitStack
from typing import Any

import av
import numpy as np

from whisper_worker.engine.audio import SAMPLE_RATE
from whisper_worker.errors import WorkerError
from whisper_worker.job import Job
from whisper_worker.live.host import LiveHost
from whisper_worker.live.policy import Decoded, LiveOptions, LiveTranscript, Step
from whisper_worker.live.speech import TurnDetection
from whisper_worker.protocol.messages import Send

RELEASE_AFTER_S = 3.0  # of silence before a stream gives its slot back: a pause between sentences keeps it


def live_options(options: dict[str, Any]) -> LiveOptions:
    turns = options.get("turn_detection", {})
    return LiveOptions(
        turns=None if turns is None else TurnDetection(**turns),
        language=options.get("language"),
        task=options.get("task", "transcribe"),
        prompt=options.get("initial_prompt"),
        beam_size=options.get("beam_size", 5),
    )


class Pcm:
    """PCM16 little-endian mono at any rate, to the 16 kHz floats Whisper hears; keeps the resampler's state across frames."""

    def __init__(self, rate: int):
        self.rate = rate
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE) if rate != SAMPLE_RATE else None

    def convert(self, data: bytes) -> np.ndarray:
        samples = np.frombuffer(data, dtype="<i2")
        if self._resampler is None:
            return samples.astype(np.float32) / 32768.0
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        out = [f.to_ndarray().ravel() for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)


class Stream:
    def __init__(self, host: LiveHost, job: Job, model: str, options: dict[str, Any], send: Send):
        self.host, self.job, self.model, self.send = host, job, model, send
        self.options = live_options(options)
        self.policy = LiveTranscript(self.options)
        self.pcm = Pcm(options.get("sample_rate", SAMPLE_RATE))
        self.closing = False
        self._wake = asyncio.Event()
        self._finals: dict[int, asyncio.Future[None]] = {}  # commits waiting for their item's final
        self._slot: AsyncExitStack | None = None
        self._bytes = 0
        self._heard_at = time.monotonic()  # when audio last came: a client that stops sending is silent too

    @property
    def received_ms(self) -> int:
        return self._bytes // 2 * 1000 // self.pcm.rate

    async def run(self) -> dict[str, Any]:
        """The `stream` request: loads the model, then decodes until closed. Its result ends the stream."""
        try:
            async with self.host.cache.use(self.model) as (entry, _):
                while not (self.closing and self.policy.idle):
                    if self.job.cancelled.is_set():  # however the cancel came, the stream ends at the next turn
                        raise asyncio.CancelledError()
                    step = self.policy.plan()
                    if step is None:
                        await self._rest()
                        continue
                    await self._hold_slot()
                    await self._emit(self.policy.apply(step, *await self._decode(entry.model, step)))
        finally:
            await self._release_slot()
            for waiter in self._finals.values():
                waiter.cancel()
        return {"audio_ms": self.received_ms, "items": self.policy.items}

    async def audio(self, data: bytes) -> dict[str, Any]:
        if len(data) % 2:
            raise WorkerError("bad_request", f"a stream_audio frame holds PCM16 samples, 2 bytes each: {len(data)} bytes is an odd count")
        self._check_open()
        self._check_room(len(data) // 2)
        self._bytes += len(data)
        self._heard_at = time.monotonic()
        await self._emit(self.policy.push(self.pcm.convert(data)))
        self._wake.set()
        return {"received_ms": self.received_ms}

    async def commit(self) -> dict[str, Any]:
        self._check_open()
        item, events = self.policy.commit()
        if item is None:
            return {"item": None}
        done = self._finals[item] = asyncio.get_running_loop().create_future()
        await self._emit(events)
        self._wake.set()
        await done
        return {"item": item}

    def clear(self) -> dict[str, Any]:
        self._check_open()
        return {"cleared_ms": self.policy.clear()}

    async def close(self) -> dict[str, Any]:
        if not self.closing:
            self.closing = True
            await self._emit(self.policy.commit()[1])
            self._wake.set()
        assert self.job.task is not None
        await asyncio.shield(self.job.task)  # the stream's own result goes out first
        return {"closed": True}

    def _check_open(self) -> None:
        if self.closing:
            raise WorkerError("bad_request", f"stream {self.job.id!r} is closing: it takes no more audio")

    def _check_room(self, samples: int) -> None:
        """Refuses a frame that would take the audio held without a final past the limit: a client sending faster than
        real time would otherwise grow the buffer without end. Checked before the resampler sees the frame."""
        limit = self.host.settings.live_max_buffered_seconds
        held, incoming = self.policy.held / SAMPLE_RATE, samples / self.pcm.rate
        if held + incoming > limit:
            raise WorkerError(
                "buffer_full",
                f"stream {self.job.id!r} holds {held:.1f} s of audio not transcribed yet, and this frame's {incoming:.1f} s would "
                f"pass WHISPER_LIVE_MAX_BUFFERED_SECONDS={limit:g}: the frame was dropped. Send audio no faster than it is spoken; "
                "the stream takes audio again once its decoding catches up.",
            )

    async def _decode(self, model: Any, step: Step) -> tuple[Decoded, float]:
        if step.ready is not None:
            return step.ready, 0.0
        started = time.monotonic()
        with self.job.decoding():  # a cancel now waits for this decode to end (job.py)
            result = await asyncio.to_thread(self.host.decode_live, model, step, self.options.task)
        if self.job.cancelled.is_set():
            raise asyncio.CancelledError()
        return result, time.monotonic() - started

    async def _emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            await self.send({"id": self.job.id, **event})
            if event["type"] == "final" and (waiter := self._finals.pop(event["item"], None)) and not waiter.done():
                waiter.set_result(None)

    async def _rest(self) -> None:
        """Waits for audio or a control; gives the slot back once the speaker has been silent long enough."""
        self._wake.clear()
        timeout = None
        if self._slot is not None:
            # Silence heard, or no audio at all: a client that stopped sending but keeps its socket open, even
            # mid-utterance (its next audio, commit or close plans a decode, which takes a slot again).
            silent = time.monotonic() - self._heard_at
            if self.policy.idle:
                silent = max(silent, self.policy.detector.silent_for() / SAMPLE_RATE)
            if silent >= RELEASE_AFTER_S:
                await self._release_slot()
            else:
                timeout = RELEASE_AFTER_S - silent
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that lands as the wait ends
        # (audio that sets _wake, then the connection closing), and the stream would outlive its client.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _hold_slot(self) -> None:
        if self._slot is not None:
            return
        stack = AsyncExitStack()

        async def on_queued(position: int) -> None:
            await self.send({"id": self.job.id, "type": "queued", "position": position})

        await stack.enter_async_context(self.host.slots.hold(on_queued))
        self._slot = stack
        await self.send({"id": self.job.id, "type": "slot", "held": True})

    async def _release_slot(self) -> None:
        if self._slot is None:
            return
        slot, self._slot = self._slot, None
        await slot.aclose()
        with contextlib.suppress(ConnectionError, OSError):
            await self.send({"id": self.job.id, "type": "slot", "held": False})
