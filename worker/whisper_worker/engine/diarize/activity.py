"""What the segmentation model says about each chunk: the handover from segmentation.py to turns.py.

Chunks are windows of the audio (pyannote segmentation-3.0: 10 s) that overlap; within a chunk the model names
up to 3 *local* speakers, whose indices mean nothing across chunks. Clustering the embeddings of each
(chunk, local speaker) gives global speakers, and turns.py lays the chunks back onto one timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class LocalActivity:
    """Frame f of chunk c starts at `chunk_starts[c] + f * frame_step` seconds and lasts `frame_duration`."""

    probabilities: npt.NDArray[np.floating]  # chunks x frames x local speakers, after powerset decode, in [0, 1]
    chunk_starts: npt.NDArray[np.floating]  # seconds
    chunk_duration: float
    frame_step: float
    frame_duration: float

    @property
    def num_chunks(self) -> int:
        return int(self.probabilities.shape[0])

    @property
    def num_local(self) -> int:
        return int(self.probabilities.shape[2])
