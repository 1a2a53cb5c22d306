"""Cross-request batching: concurrent transcriptions of one model share CTranslate2 calls.

Each transcription runs faster-whisper as usual, in its own thread, on a view of the
model whose CTranslate2 object is a stand-in. The stand-in hands `encode`,
`generate` and `detect_language` to the model's SharedModel, which merges the
calls that arrive together and agree on their options (30 s windows of different
jobs, each with its own prompt and language) into one call, up to the batch limit.
A window whose options differ (a temperature fallback, another beam size) simply
goes in a call of its own; `align` (word timestamps) is never merged.

There is no batching thread: the caller that finds the model free runs the next
batch for everyone in it (leader/follower), so a lone transcription makes exactly
the calls it would make without this module, at once.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

# How long an idle model waits for the other running transcriptions' calls before it
# runs what it has. Once the model is busy, calls gather while they wait anyway.
WINDOW_SECONDS = 0.03
log = logging.getLogger("whisper_worker.batching")


@dataclass(eq=False)
class _Call:
    method: str
    key: tuple[Any, ...]  # calls merge only when their keys are equal
    items: int  # windows in this call
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    arrived: float = field(default_factory=time.monotonic)
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class SharedModel:
    """One loaded model, shared by the transcriptions running on it."""

    def __init__(self, whisper: WhisperModel, max_batch: int, replicas: int = 1):
        self.whisper = whisper
        self.model = whisper.model
        self.max_batch = max_batch
        self.replicas = replicas  # CTranslate2 calls that may run at once (one per GPU)
        self.members = 0
        self.calls = 0  # CTranslate2 calls made, and windows in them: what tests and benchmarks read
        self.windows = 0
        self._free = replicas
        self._pending: list[_Call] = []
        self._cond = threading.Condition()

    @contextmanager
    def member(self) -> Iterator[WhisperModel]:
        """A view of the model for one transcription; while it is held, others' calls wait a window for its."""
        view = copy.copy(self.whisper)
        view.model = _Stand(self)
        with self._cond:
            self.members += 1
        try:
            yield view
        finally:
            with self._cond:
                self.members -= 1
                self._cond.notify_all()  # those waiting for this member's call stop waiting

    def call(self, method: str, items: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # to_cpu only says where one call's output goes; a merged encode always brings it to the host to split it.
        key = (method, tuple(args[0].shape[1:]), _frozen({k: v for k, v in kwargs.items() if k != "to_cpu"}))
        mine = _Call(method, key, items, args, kwargs)
        with self._cond:
            self._pending.append(mine)
            self._cond.notify_all()
            while not mine.done:
                wait = self._until_ready()
                if wait == 0:
                    self._lead()
                else:
                    self._cond.wait(wait)
        if mine.error is not None:
            raise mine.error
        return mine.result

    def _until_ready(self) -> float | None:
        """0 when this thread should run a batch now, else how long to wait (None: until notified)."""
        if not self._free or not self._pending:
            return None
        if len(self._pending) >= self.members:
            return 0  # every running transcription is waiting: nobody else is coming
        return max(0.0, self._pending[0].arrived + WINDOW_SECONDS - time.monotonic()) or 0

    def _lead(self) -> None:
        batch = self._take()
        self._free -= 1
        self._cond.release()
        try:
            self._run(batch)
        finally:
            self._cond.acquire()
            self._free += 1
            self.calls += 1
            self.windows += sum(c.items for c in batch)
            self._cond.notify_all()

    def _take(self) -> list[_Call]:
        """The oldest call, and the later ones that agree with it, up to the batch limit: first come, first served."""
        first = self._pending[0]
        batch: list[_Call] = []
        items = 0
        for call in self._pending:
            if call.key == first.key and (not batch or items + call.items <= self.max_batch):
                batch.append(call)
                items += call.items
        self._pending = [c for c in self._pending if c not in batch]
        return batch

    def _run(self, batch: list[_Call]) -> None:
        try:
            first = batch[0]
            results = [getattr(self.model, first.method)(*first.args, **first.kwargs)] if len(batch) == 1 else self._merged(batch)
        except BaseException as error:
            if len(batch) == 1:
                _settle(first, None, error)
                return
            # One window's trouble (memory, a bad prompt) must not fail the others' requests.
            log.warning("a merged %s of %d windows failed (%s); running each request's alone", first.method, len(batch), error)
            for call in batch:
                self._run([call])
            return
        for call, result in zip(batch, results, strict=True):
            _settle(call, result, None)

    def _merged(self, batch: list[_Call]) -> list[Any]:
        method, first = batch[0].method, batch[0]
        features = _joined([c.args[0] for c in batch])
        if method == "encode":
            encoded = np.asarray(_on_host(self.model.encode(features, to_cpu=True)))
            return [ctranslate2.StorageView.from_array(part) for part in _split(encoded, batch)]
        if method == "generate":
            prompts = [prompt for c in batch for prompt in c.args[1]]
            return _split(self.model.generate(features, prompts, **first.kwargs), batch)
        return _split(self.model.detect_language(features, **first.kwargs), batch)


class _Stand:
    """Where faster-whisper expects its ctranslate2.models.Whisper."""

    def __init__(self, shared: SharedModel):
        self._shared = shared

    def encode(self, features: Any, to_cpu: bool = False) -> Any:
        return self._shared.call("encode", features.shape[0], (features,), {"to_cpu": to_cpu})

    def generate(self, features: Any, prompts: list[list[int]], **kwargs: Any) -> Any:
        return self._shared.call("generate", len(prompts), (features, prompts), kwargs)

    def detect_language(self, features: Any, **kwargs: Any) -> Any:
        return self._shared.call("detect_language", features.shape[0], (features,), kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shared.model, name)  # align, is_multilingual, n_mels, device...


def _settle(call: _Call, result: Any, error: BaseException | None) -> None:
    call.result, call.error, call.done = result, error, True


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _on_host(view: Any) -> Any:
    return view if view.device == "cpu" else view.to_device(ctranslate2.Device.cpu)


def _joined(views: list[Any]) -> Any:
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.concatenate([np.asarray(_on_host(v)) for v in views])))


def _split(rows: Any, batch: list[_Call]) -> list[Any]:
    parts, start = [], 0
    for call in batch:
        parts.append(rows[start : start + call.items])
        start += call.items
    return parts
