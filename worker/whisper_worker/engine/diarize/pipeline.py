"""Who speaks when in one recording: where speech is and how many talk at once (pyannote's segmentation), a voice
embedding of each short window of speech (CAM++), clustering that finds the number of speakers or keeps the one
asked, each frame given to its speakers, the turns, and the names of known voices.

Why windows and not pyannote's own way (one embedding per local speaker of each 10 s chunk): the segmentation model
merges two people into one local speaker when they alternate quickly with no pause, and then every embedding of
that chunk mixes two voices. Measured on the evaluation set (bench/diarization, docs/benchmarks.md): DER 12.5 %
the chunk way, 9.9 % with 2 s windows; the windows cost more embeddings (each second twice) and still run at
over 20x real time on a 2-core CPU.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from whisper_worker.engine.diarize import cluster as clustering
from whisper_worker.engine.diarize.activity import LocalActivity
from whisper_worker.engine.diarize.embedding import FILE as EMBEDDING_FILE
from whisper_worker.engine.diarize.embedding import SpeakerEmbedding
from whisper_worker.engine.diarize.known import match
from whisper_worker.engine.diarize.segmentation import FILE as SEGMENTATION_FILE
from whisper_worker.engine.diarize.segmentation import SAMPLE_RATE, Segmentation
from whisper_worker.engine.diarize.sliding import HOP, WINDOW, frame_speakers, speech_windows
from whisper_worker.engine.diarize.turns import Turn, frame_counts, to_turns
from whisper_worker.engine.transcriber import Cancelled

Audio = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
STEP = 2.0  # seconds between segmentation chunks: each moment is heard by five, whose counts are averaged
MIN_SPEAKER = 1.0  # seconds of speech in the whole recording below which a cluster is noise, not a speaker


@dataclass(frozen=True)
class SpeakerCount:
    """`num` exactly, or between `least` and `most` (each optional); nothing given: found from the audio."""

    num: int | None = None
    least: int | None = None
    most: int | None = None


@dataclass(frozen=True)
class KnownSpeaker:
    name: str
    audio: Audio  # 16 kHz mono: a clip of this voice alone


@dataclass
class Diarization:
    turns: list[Turn]
    names: dict[int, str] = field(default_factory=dict)  # speaker (cluster label) -> a known speaker's name
    seconds: float = 0.0  # wall time it took


class Diarizer:
    """The two ONNX models, loaded once; `run` may be called from several threads."""

    def __init__(self, folder: Path, threads: int = 0, step: float = STEP) -> None:
        self.segmentation = Segmentation(folder / SEGMENTATION_FILE, threads)
        self.embedding = SpeakerEmbedding(folder / EMBEDDING_FILE, threads)
        self.step = step

    def _by_windows(
        self, audio: Audio, activity: LocalActivity, count: SpeakerCount, known: Sequence[KnownSpeaker],
        cancelled: threading.Event | None,
    ) -> tuple[list[Turn], dict[int, str]]:
        counts = frame_counts(activity)
        windows = speech_windows(counts >= 1, activity.frame_step)
        if not windows:
            return [], {}
        clips = [audio[_sample(first, activity) : _sample(stop, activity)] for first, stop in windows]
        embeddings = self.embedding.embed(clips)
        _check(cancelled)
        weights = np.array([(stop - first) * activity.frame_step for first, stop in windows])
        labels = clustering.cluster(
            embeddings, weights, num_speakers=count.num, min_speakers=count.least, max_speakers=count.most,
            min_size=MIN_SPEAKER * WINDOW / HOP,  # windows overlap: each second of speech weighs about twice
        )
        active = frame_speakers(windows, labels, counts, int(labels.max()) + 1)
        names: dict[int, str] = {}
        if known:
            voices = self.embedding.embed([k.audio for k in known])
            names = match(clustering.centroids(embeddings, labels, weights), [k.name for k in known], voices)
        duration = audio.size / SAMPLE_RATE
        return to_turns(active, activity.frame_step, activity.frame_duration, duration), names

    def run(
        self,
        audio: Audio,
        count: SpeakerCount = SpeakerCount(),
        known: Sequence[KnownSpeaker] = (),
        cancelled: threading.Event | None = None,
    ) -> Diarization:
        started = time.monotonic()
        activity = self.segmentation.activity(audio, step=self.step)
        _check(cancelled)
        found, names = self._by_windows(audio, activity, count, known, cancelled)
        return Diarization(found, names, round(time.monotonic() - started, 3))



def _sample(frame: int, activity: LocalActivity) -> int:
    # A frame's audio is centred on its step: its receptive field runs past it on both sides.
    return max(0, int(round((frame * activity.frame_step + activity.frame_duration / 2) * SAMPLE_RATE)))


def _check(cancelled: threading.Event | None) -> None:
    if cancelled is not None and cancelled.is_set():
        raise Cancelled()
