"""Audio files to what Whisper takes: 16 kHz mono float32 samples, in one array.

faster-whisper's decode_audio gathers the samples in a growing buffer and then
converts them, so it holds several full copies at its peak (2.7 GB for three
hours). Here the length the file declares is checked against the limit before
anything is decoded, and sizes one array that the samples are written into as
they come. A file that declares no length (or a wrong one) is counted as it is
decoded and stopped at the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from whisper_worker.errors import WorkerError

SAMPLE_RATE = 16000
UNKNOWN_LENGTH_SECONDS = 600  # the first guess when the file declares no length; the array grows from there
SCALE = np.float32(1 / 32768)  # s16 to float, as faster-whisper does it, so the samples are the same


def check_length(path: str, max_seconds: float) -> float | None:
    """The length the file declares, in seconds (None: it declares none); audio_too_long when over the limit."""
    with av.open(path, metadata_errors="ignore") as container:
        return _declared_within(container, _audio_stream(container), max_seconds)


def decode(path: str, max_seconds: float) -> np.ndarray:
    """The first audio stream as 16 kHz mono float32; audio_too_long as soon as it is known to be over the limit."""
    limit = int(max_seconds * SAMPLE_RATE)
    with av.open(path, metadata_errors="ignore") as container:
        stream = _audio_stream(container)
        declared = _declared_within(container, stream, max_seconds)
        # A second more than declared: resampling may round up, and growing costs more than an unused second.
        samples = _Samples(int((declared or UNKNOWN_LENGTH_SECONDS) * SAMPLE_RATE) + SAMPLE_RATE)
        for chunk in _resampled(container, stream):
            if samples.size + chunk.size > limit:
                raise too_long(max_seconds, None)
            samples.append(chunk)
    # No gc.collect() here, unlike faster-whisper's decode_audio (its issue 390, PyAV's resampler leaving cycles that
    # hold frames): PyAV 18 leaves none that hold memory (test_audio checks), and a full collection costs ~30 ms
    # with every other thread stopped, per request: on a GPU, a quarter of what a short clip costs (docs/benchmarks.md).
    return samples.trimmed()


def too_long(max_seconds: float, found: float | None) -> WorkerError:
    limit = f"{_clock(max_seconds)} (WHISPER_MAX_AUDIO_SECONDS={max_seconds:g})"
    if found is None:
        length = f"The audio is longer than this worker accepts: decoding stopped at its limit of {limit}"
    else:
        length = f"The audio is {_clock(found)} long ({found:.0f} s); this worker accepts at most {limit}"
    return WorkerError("audio_too_long", f"{length}. Send shorter audio, for example the file cut into parts.")


def _audio_stream(container: Any) -> Any:
    if not container.streams.audio:
        raise WorkerError("undecodable_audio", "The file has no audio stream. Send a file with sound in it.")
    return container.streams.audio[0]


def _declared_within(container: Any, stream: Any, max_seconds: float) -> float | None:
    # The audio stream's own length first: a video's container may count a longer video stream.
    # Some are estimates from the bit rate (ADTS, MP3 without a header); decoding counts all the same.
    declared: float | None = None
    if stream.duration is not None and stream.time_base is not None:
        declared = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        declared = container.duration / av.time_base
    if declared is not None and declared > max_seconds:
        raise too_long(max_seconds, declared)
    return declared


def _resampled(container: Any, stream: Any) -> Iterator[np.ndarray]:
    """The audio as s16 mono chunks at 16 kHz, frame by frame: nothing is gathered here."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    for frame in _frames(container, stream):
        frame.pts = None  # PyAV's resampler refuses gaps in timestamps, which damaged files have
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1)
    for out in resampler.resample(None):  # what the resampler still holds
        yield out.to_ndarray().reshape(-1)


def _frames(container: Any, stream: Any) -> Iterator[Any]:
    # A damaged packet is skipped rather than the whole file refused, as decode_audio does.
    frames = container.decode(stream)
    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


class _Samples:
    """One float32 array, filled in place; grown and trimmed with realloc, which moves pages, not samples."""

    def __init__(self, capacity: int):
        # np.empty touches no page: memory is taken as samples arrive, whatever the guess.
        self.array = np.empty(capacity, dtype=np.float32)
        self.size = 0

    def append(self, pcm: np.ndarray) -> None:
        end = self.size + pcm.size
        if end > self.array.size:
            self.array.resize(max(end, self.array.size * 3 // 2), refcheck=False)
        np.multiply(pcm, SCALE, out=self.array[self.size : end])
        self.size = end

    def trimmed(self) -> np.ndarray:
        self.array.resize(self.size, refcheck=False)
        return self.array


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
