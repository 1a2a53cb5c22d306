"""The decodes of a live stream: cheap interim ones, and each utterance's final one.

Both hear the utterance with a short encoder window rather than Whisper's whole
30 s (whisper.cpp's `audio_ctx`): the audio and some padding. The encoder's cost
grows with the window: on a 2-core CPU, `base` encodes 30 s in ~0.55 s and 10 s
in ~0.07 s.

- An interim decode is thrown away a moment later; it only has to be good enough
  for two in a row to agree: 2 s of padding, greedy, no temperature fallback,
  its length capped, a repetitive text dropped.
- A final decode is the text that stays: 5 s of padding and the stream's beam.
  Measured on the LibriVox clips as a stream cuts them (0.3 s before, 0.2 s
  after): `base` makes 1.4 % WER with 5 or 10 s of padding, as with the whole
  window, at a third of the time; with 2 s, 14 % (a decoder that stops early or
  loops). A final that still looks wrong (repetitive, or empty) is decoded again
  by faster-whisper over the whole window, with its temperature fallback.
"""

from __future__ import annotations

from typing import Any

import ctranslate2
import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

from whisper_worker.engine import windows
from whisper_worker.engine.audio import SAMPLE_RATE
from whisper_worker.live.policy import Decoded, Step

INTERIM_PADDING = 200  # frames (10 ms each) of silence after the audio in the encoder window
FINAL_PADDING = windows.PADDING  # what a short file gets too
WINDOW_FRAMES = windows.FULL
TOKENS_PER_SECOND = 12  # a cap well above speech (~4 tokens/s): a looping decoder stops early
MAX_COMPRESSION = 2.4  # faster-whisper's threshold for a repetitive, hallucinated text
TEMPERATURES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def decode(whisper: Any, step: Step, task: str) -> Decoded:
    """One of the policy's decodes, in a thread; `whisper` is a WhisperModel (or the batching view of one)."""
    if step.kind == "interim":
        text, language = _short(whisper, step, task, INTERIM_PADDING)
        # A loop says nothing new: the forced prefix alone.
        return Decoded(text if text and get_compression_ratio(text) <= MAX_COMPRESSION else step.prefix or "", language)
    text, language = _short(whisper, step, task, FINAL_PADDING)
    if text and get_compression_ratio(text) <= MAX_COMPRESSION:
        return Decoded(text, language)
    return _whole_window(whisper, step, task)


def _whole_window(whisper: Any, step: Step, task: str) -> Decoded:
    segments, info = whisper.transcribe(
        step.audio, language=step.language, task=task, beam_size=step.beam_size, best_of=step.beam_size,
        temperature=TEMPERATURES, initial_prompt=step.prompt, prefix=step.prefix,
        vad_filter=False, condition_on_previous_text=False, without_timestamps=True,
    )
    return Decoded("".join(segment.text for segment in segments), info.language)


def _short(whisper: Any, step: Step, task: str, padding: int) -> tuple[str, str]:
    """Text (the forced prefix included: CTranslate2 returns its tokens with the rest) and language."""
    features = whisper.feature_extractor(step.audio)
    frames = min(WINDOW_FRAMES, features.shape[-1] + padding)
    window = np.zeros((1, features.shape[0], frames), np.float32)  # faster-whisper pads features with zeros too
    window[0, :, : min(frames, features.shape[-1])] = features[:, :frames]
    encoded = whisper.model.encode(ctranslate2.StorageView.from_array(window), to_cpu=False)
    language = step.language or _language(whisper, encoded)
    tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task=task, language=language)
    previous = tokenizer.encode(" " + step.prompt.strip()) if step.prompt else []
    prompt = whisper.get_prompt(tokenizer, previous, without_timestamps=True, prefix=step.prefix)
    cap = len(prompt) + 8 + int(TOKENS_PER_SECOND * len(step.audio) / SAMPLE_RATE)
    result = whisper.model.generate(
        encoded, [prompt], beam_size=step.beam_size, max_length=min(cap, 448),
        suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
    )[0]
    return tokenizer.decode([t for t in result.sequences_ids[0] if t < tokenizer.eot]).strip(), language


def _language(whisper: Any, encoded: Any) -> str:
    if not whisper.model.is_multilingual:
        return "en"
    ranked = whisper.model.detect_language(encoded)[0]
    return str(ranked[0][0][2:-2])  # "<|de|>"
