"""The encoder window of a short file: its audio and 5 s of padding, not Whisper's whole 30 s.

faster-whisper pads every window to 30 s (3000 frames), so a 6 s clip costs the
encoder as much as 30 s of speech. CTranslate2's encoder takes a shorter window
(whisper.cpp's `audio_ctx`), and its cost falls faster than the window: `base`
on 2 CPU cores encodes 30 s in ~0.41 s and 15 s in ~0.10 s. The decoder's
cross-attention shrinks with it.

How much padding is safe was measured, not guessed (docs/benchmarks.md, *Short
windows*): with 5 s after the audio the WER and the word timings match the whole
window; with 2 s the decoder may stop early or loop. The language is still
detected in the whole window.

Windows are rounded up to 5 s steps so that concurrent clips of similar length
have windows of one shape, which is what lets batching.py merge their calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper import WhisperModel

from whisper_worker.engine.audio import SAMPLE_RATE

HOP = 160  # samples a feature frame (10 ms)
FULL = 3000  # Whisper's 30 s window, in frames
FULL_SECONDS = FULL * HOP / SAMPLE_RATE
PADDING = 500  # frames of silence the window keeps after the audio (5 s)
STEP = 500  # windows come in 5 s steps: 10, 15, 20, 25 s


def window_frames(samples: int) -> int | None:
    """The window for audio of `samples` (16 kHz), or None when it needs the whole 30 s."""
    frames = -(-(samples // HOP + 1 + PADDING) // STEP) * STEP
    return frames if frames < FULL else None


class _Fitted(WhisperModel):  # type: ignore[misc]  # faster-whisper has no types
    """A loaded model whose encoder hears only the first `frames` of each (zero-padded) window to decode it."""

    frames: int
    whole: Any  # the model it is a view of

    def __init__(self) -> None:  # made by fitted(), from a loaded model's attributes
        pass

    def encode(self, features: np.ndarray) -> Any:
        return super().encode(np.ascontiguousarray(features[..., : self.frames]))

    def detect_language(self, *args: Any, **kwargs: Any) -> Any:
        # The language is heard in the whole window, as before: in a short one, base took 3 s of
        # German and 8 s of Spanish (espeak-ng) for Latin, and a wrong language ruins the whole text.
        return self.whole.detect_language(*args, **kwargs)


def fitted(model: Any, samples: int) -> Any:
    """`model`, or a view of it with the short window when audio of `samples` fits one.

    The view shares everything with the model (it is a shallow copy); faster-whisper encodes
    each window through `self.encode`, so decoding hears the short window, while the language
    is detected in the whole one. Timestamps and word alignment count only the audio's own frames.
    """
    frames = window_frames(samples)
    if frames is None or not isinstance(model, WhisperModel):
        return model  # a long file, or a test's stand-in
    view = _Fitted()
    view.__dict__.update(model.__dict__)
    view.frames, view.whole = frames, model
    return view


def seconds(samples: int) -> float:
    """The window's length in seconds, as the request log reports it."""
    return (window_frames(samples) or FULL) * HOP / SAMPLE_RATE
