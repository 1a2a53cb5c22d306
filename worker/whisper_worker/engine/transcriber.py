"""Runs one transcription in a thread, handing each segment out as it is decoded.

faster-whisper's transcribe() is a lazy generator: nothing is decoded until it
is iterated, which is what lets every segment reach the client at once, and a
cancel take effect at the next segment.
"""

from __future__ import annotations

import inspect
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.vad import VadOptions

from whisper_worker.engine import audio as decoder
from whisper_worker.engine import windows
from whisper_worker.engine.audio import SAMPLE_RATE
from whisper_worker.errors import WorkerError, without_paths

MIN_SAMPLES = SAMPLE_RATE // 10  # less than this is a truncated header, not speech
WINDOW_SECONDS = 30  # Whisper hears audio in windows of this length
Emit = Callable[[dict[str, Any]], None]


class Cancelled(Exception):
    pass


def check_audio(path: str, max_seconds: float) -> None:
    """Refuses audio that says it is too long, or is no audio at all, before it waits for a slot."""
    with _undecodable():
        decoder.check_length(path, max_seconds)


def load_audio(path: str, max_seconds: float) -> np.ndarray:
    with _undecodable():
        samples = decoder.decode(path, max_seconds)
    if samples.size < MIN_SAMPLES:
        raise WorkerError(
            "undecodable_audio",
            f"The file holds {samples.size / SAMPLE_RATE:.2f} s of audio: it is empty or truncated. Send a file with sound in it.",
        )
    return samples


@contextmanager
def _undecodable() -> Iterator[None]:
    try:
        yield
    except WorkerError:
        raise
    except Exception as e:
        # FFmpeg's message names our temporary file, which means nothing to the client.
        reason = re.sub(r":\s*'[^']*'", "", str(e).splitlines()[0])[:200] if str(e) else type(e).__name__
        reason = without_paths(re.sub(r"^\[Errno -?\d+\]\s*", "", reason))
        raise WorkerError(
            "undecodable_audio",
            f"The file could not be decoded as audio or video ({reason}). "
            "Send a file FFmpeg can read, such as WAV, MP3, FLAC, OGG, M4A or MP4.",
        ) from None


def _batched_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    accepted = inspect.signature(BatchedInferencePipeline.transcribe).parameters
    return {k: v for k, v in kwargs.items() if k in accepted}


def transcribe(
    model: WhisperModel,
    audio: np.ndarray,
    kwargs: dict[str, Any],
    batch_size: int,
    emit: Emit,
    cancelled: threading.Event,
    short_window: bool = False,
    candidates: Sequence[str] = (),
) -> dict[str, Any]:
    """Decodes `audio`, emitting events as it goes; `short_window` lets a short file have a short window (windows.py);
    `candidates`, when no language is set, the languages it may be in (options.language_candidates)."""
    started = time.monotonic()
    picked = None
    if candidates and kwargs.get("language") is None:
        picked = pick_language(model, audio, candidates, kwargs)
        kwargs = {**kwargs, "language": picked[0]}
    if batch_size > 0:
        segments, info = BatchedInferencePipeline(model).transcribe(audio, batch_size=batch_size, **_batched_kwargs(kwargs))
    else:
        segments, info = (windows.fitted(model, audio.size) if short_window else model).transcribe(audio, **kwargs)
    duration = round(info.duration, 3)
    # A language given to faster-whisper comes back with probability 1: the detected one says how sure the pick was.
    probability = round(picked[1] if picked else info.language_probability, 4)
    emit({"type": "info", "language": info.language, "language_probability": probability, "duration": duration})
    out: list[dict[str, Any]] = []
    for segment in segments:
        if cancelled.is_set():
            raise Cancelled()
        item = segment_dict(segment, len(out), kwargs.get("word_timestamps", False))
        out.append(item)
        emit({"type": "segment", "segment": item})
        emit({"type": "progress", "processed": round(min(segment.end, info.duration), 3), "duration": duration})
    return {
        "text": "".join(s["text"] for s in out).strip(),
        "language": info.language,
        "language_probability": probability,
        "duration": duration,
        "task": kwargs.get("task", "transcribe"),
        "segments": out,
        "decode_seconds": round(time.monotonic() - started, 3),
    }


def segment_dict(segment: Any, index: int, words: bool) -> dict[str, Any]:
    item = {
        "id": index,
        "seek": segment.seek,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": segment.temperature,
        "avg_logprob": round(segment.avg_logprob, 4),
        "compression_ratio": round(segment.compression_ratio, 4),
        "no_speech_prob": round(segment.no_speech_prob, 4),
    }
    if words:
        item["words"] = [
            {"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word, "probability": round(w.probability, 4)}
            for w in segment.words or []
        ]
    return item


def pick_language(model: Any, audio: np.ndarray, candidates: Sequence[str], kwargs: dict[str, Any]) -> tuple[str, float]:
    """The most probable of `candidates` by Whisper's language detection, and its probability (among all languages).

    The detection is faster-whisper's own when it transcribes without a language (the first 30 s of speech, after
    VAD when VAD is on), so with every language a candidate the pick is the language it would have detected.
    """
    supported = list(getattr(model, "supported_languages", None) or [])
    allowed = [c for c in candidates if not supported or c in supported]
    if not allowed:
        raise WorkerError(
            "bad_request",
            f"'options.language_candidates': this model knows only {', '.join(supported)}, none of {', '.join(candidates)}",
        )
    if len(supported) == 1:
        return allowed[0], 1.0  # an English-only model: nothing to detect, as faster-whisper itself decides
    vad = kwargs.get("vad_parameters")
    try:
        _, _, ranked = model.detect_language(
            audio, vad_filter=bool(kwargs.get("vad_filter")), vad_parameters=VadOptions(**vad) if isinstance(vad, dict) else vad,
        )
    except ValueError:
        _, _, ranked = model.detect_language(audio)  # VAD heard no speech at all: listen to the audio as it is
    probabilities = dict(ranked)
    best = max(allowed, key=lambda code: probabilities.get(code, 0.0))
    return best, float(probabilities.get(best, 0.0))


def detect_language(model: WhisperModel, audio: np.ndarray) -> dict[str, Any]:
    language, probability, ranked = model.detect_language(audio)
    return {
        "language": language,
        "language_probability": round(probability, 4),
        "languages": [[code, round(p, 4)] for code, p in ranked[:10]],
    }
