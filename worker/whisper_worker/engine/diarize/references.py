"""Known speakers' reference clips: a few seconds of one voice alone, each checked as the clip of its field."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from whisper_worker.engine import transcriber
from whisper_worker.engine.audio import SAMPLE_RATE
from whisper_worker.errors import WorkerError

MIN_SECONDS = 1.0  # less says too little about a voice to name it
MAX_SECONDS = 60.0  # a longer clip is cut to this: a voice is known well before


def reference_clip(path: str, index: int) -> npt.NDArray[np.float32]:
    """The clip of known_speakers[index], 16 kHz mono, or a WorkerError that names that field."""
    field = f"options.diarization.known_speakers[{index}]"
    try:
        clip = transcriber.load_audio(path, 14400)
    except WorkerError as e:
        raise WorkerError(e.code, f"'{field}': its reference clip: {e.message}") from None
    seconds = clip.size / SAMPLE_RATE
    if seconds < MIN_SECONDS:
        raise WorkerError(
            "bad_request", f"'{field}': its reference clip holds {seconds:.2f} s; send 2 to 10 s of this voice alone",
        )
    return clip[: int(MAX_SECONDS * SAMPLE_RATE)]
