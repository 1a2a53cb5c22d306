"""Packing: short transcriptions that arrive together share one 30 s window.

On a CPU the encoder costs the same for a 30 s window whatever is in it, and a batch
of windows costs about as many times one (docs/benchmarks.md, Batching), so five
6 s clips in five windows cost five encodes where one would do. The Packer puts
the clips that wait for the model side by side in one window, a second of silence
between them, decodes the window once with word timestamps, and gives each clip
the words that fall in its span, on its own clock.

Only clips that cannot tell the difference are packed: the language given, no
prompt, prefix or hotwords (text that would condition the other clips' words),
the same options, at most `max_seconds` long. A pack whose decoding needed a
temperature fallback, or left a word between two clips, is decoded clip by clip
instead. A clip that finds the model free is decoded alone, at once, exactly as
without packing: clips pack only while the model is busy with the ones before.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.transcribe import Segment, Word

from whisper_worker.audio import SAMPLE_RATE

GAP_SECONDS = 1.0  # silence between two clips
# A word belongs to the clip its middle lies in, or less than this after or before it. A word whose middle lies
# deeper in the silence (a word across two clips, or one heard in silence) sends the window back, clip by clip.
REACH_SECONDS = GAP_SECONDS / 4
WINDOW_SECONDS = 30.0
CONDITIONING = ("initial_prompt", "prefix", "hotwords")
Join = Callable[[], AbstractContextManager[WhisperModel]]
log = logging.getLogger("whisper_worker.packing")


@dataclass(frozen=True)
class Decoded:
    """What one clip's transcription gives: its segments on its own clock, and its language."""

    segments: list[Segment]
    language: str
    language_probability: float
    packed: int  # clips in the window it was decoded in (1: alone)


@dataclass(eq=False)
class _Clip:
    audio: np.ndarray
    kwargs: dict[str, Any]
    key: tuple[Any, ...]
    done: bool = False
    result: Decoded | None = None
    error: BaseException | None = None
    seconds: float = field(init=False)

    def __post_init__(self) -> None:
        self.seconds = len(self.audio) / SAMPLE_RATE


def packable(kwargs: dict[str, Any], seconds: float, max_seconds: float) -> bool:
    return 0 < seconds <= max_seconds and bool(kwargs.get("language")) and not any(kwargs.get(k) for k in CONDITIONING)


class Packer:
    """The short clips of one model; whoever finds the model free decodes the next window for everyone in it."""

    def __init__(self) -> None:
        self._pending: list[_Clip] = []
        self._busy = False
        self._cond = threading.Condition()
        self.windows = 0  # windows decoded, and clips in them: what tests read
        self.clips = 0

    def transcribe(self, join: Join, audio: np.ndarray, kwargs: dict[str, Any]) -> Decoded:
        """This clip's segments; `join` gives the model to decode with, taken only to decode (a waiting clip makes no calls)."""
        key = tuple(sorted((k, repr(v)) for k, v in kwargs.items() if k != "word_timestamps"))
        mine = _Clip(audio, kwargs, key)
        with self._cond:
            self._pending.append(mine)
            while not mine.done:
                if self._busy:
                    self._cond.wait()
                    continue
                batch = self._take()
                self._busy = True
                self._cond.release()
                try:
                    with join() as whisper:
                        _run(whisper, batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self.windows += 1
                    self.clips += len(batch)
                    self._cond.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _take(self) -> list[_Clip]:
        """The oldest clip, and the later ones with its options that still fit in the window."""
        first = self._pending[0]
        batch, seconds = [first], first.seconds
        for clip in self._pending[1:]:
            if clip.key == first.key and seconds + GAP_SECONDS + clip.seconds <= WINDOW_SECONDS:
                batch.append(clip)
                seconds += GAP_SECONDS + clip.seconds
        self._pending = [c for c in self._pending if c not in batch]
        return batch


def _run(whisper: WhisperModel, batch: list[_Clip]) -> None:
    try:
        decoded = _packed(whisper, batch) if len(batch) > 1 else [None]
    except Exception as error:
        # Whatever failed in the window (memory, say) is each clip's own to meet, alone.
        log.warning("a packed window of %d clips failed (%s); decoding each alone", len(batch), error)
        decoded = [None] * len(batch)
    for clip, result in zip(batch, decoded, strict=True):
        try:
            clip.result = result or _alone(whisper, clip)
        except BaseException as error:
            clip.error = error
        clip.done = True


def _alone(whisper: WhisperModel, clip: _Clip) -> Decoded:
    segments, info = whisper.transcribe(clip.audio, **clip.kwargs)
    return Decoded(list(segments), info.language, info.language_probability, 1)


def _packed(whisper: WhisperModel, batch: list[_Clip]) -> list[Decoded | None]:
    """The clips decoded in one window; None for a clip whose words cannot be told apart with confidence."""
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), np.float32)
    spans, at = [], 0.0
    for clip in batch:
        spans.append((at, at + clip.seconds))
        at += clip.seconds + GAP_SECONDS
    audio = np.concatenate([part for clip in batch for part in (clip.audio, gap)][:-1])
    # Word timestamps say where each word is; no conditioning, so one clip's text is no prompt for the next.
    kwargs = {**batch[0].kwargs, "word_timestamps": True, "condition_on_previous_text": False}
    segments, info = whisper.transcribe(audio, **kwargs)
    per_clip: list[list[Segment]] = [[] for _ in batch]
    alone: set[int] = set()
    for segment in segments:
        words = segment.words or []
        found = [_owner(spans, w) for w in words]
        owners = [o for o in found if o is not None]
        if segment.temperature or len(owners) < len(found) or (segment.text.strip() and not words):
            # A fallback sampled this segment (often a hallucination on a clip's last half second), or a word lies
            # in the silence between two clips: the clips it touches are decoded again alone.
            alone |= {i for i, (a, b) in enumerate(spans) if a - REACH_SECONDS <= segment.end and segment.start <= b + REACH_SECONDS}
            continue
        for index in sorted(set(owners)):
            mine = [w for w, o in zip(words, owners, strict=True) if o == index]
            per_clip[index].append(_on_clip_clock(whisper, segment, mine, spans[index][0], batch[index], len(per_clip[index])))
    return [None if i in alone else Decoded(s, info.language, info.language_probability, len(batch)) for i, s in enumerate(per_clip)]


def _owner(spans: list[tuple[float, float]], word: Word) -> int | None:
    middle = (word.start + word.end) / 2
    for index, (start, end) in enumerate(spans):
        if start - REACH_SECONDS <= middle <= end + REACH_SECONDS:
            return index
    return None


def _on_clip_clock(whisper: WhisperModel, segment: Segment, words: list[Word], offset: float, clip: _Clip, index: int) -> Segment:
    def clock(t: float) -> float:
        return round(float(min(max(t - offset, 0.0), clip.seconds)), 3)

    shifted = [dataclasses.replace(w, start=clock(w.start), end=clock(w.end)) for w in words]
    text = "".join(w.word for w in words)
    return dataclasses.replace(
        segment,
        id=index,
        seek=0,
        start=shifted[0].start,
        end=shifted[-1].end,
        text=text,
        # The window's tokens mix clips; the clip's own text, tokenized again, is what it said.
        tokens=whisper.hf_tokenizer.encode(text, add_special_tokens=False).ids,
        words=shifted if clip.kwargs.get("word_timestamps") else None,
    )
