"""The decodes of a live stream: cheap interim ones, and each utterance's final one.

An interim decode is thrown away a moment later; it only has to be good enough
for two in a row to agree. So it hears the buffer with a short encoder window
(the audio and 2 s of padding, not Whisper's whole 30 s: whisper.cpp's
`audio_ctx`), greedy, with no temperature fallback. The encoder's cost grows
with the window: on a 2-core CPU, `base` encodes 30 s in ~0.55 s and 10 s in
~0.07 s. Measured on the LibriVox clips decoded whole (`base`, greedy): 2.8 %
WER with 1 or 2 s of padding against 1.4 % with the full window, 3x faster;
with 0.5 s the decoder can fall into a loop, hence the padding, the cap on its
length and the compression check.

A final decode is faster-whisper's own, with the whole window and beam search:
the text that stays.
"""

from __future__ import annotations

from typing import Any

import ctranslate2
import numpy as np
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

from whisper_worker.audio import SAMPLE_RATE
from whisper_worker.streaming import Decoded, Step

PADDING_FRAMES = 200  # 2 s of silence after the audio in an interim decode's encoder window
WINDOW_FRAMES = 3000  # Whisper's 30 s
TOKENS_PER_SECOND = 12  # a cap well above speech (~4 tokens/s): a looping decoder stops early
MAX_COMPRESSION = 2.4  # faster-whisper's threshold for a repetitive, hallucinated text
TEMPERATURES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def decode(whisper: Any, step: Step, task: str) -> Decoded:
    """One of the policy's decodes, in a thread; `whisper` is a WhisperModel (or the batching view of one)."""
    return interim(whisper, step, task) if step.kind == "interim" else final(whisper, step, task)


def final(whisper: Any, step: Step, task: str) -> Decoded:
    segments, info = whisper.transcribe(
        step.audio, language=step.language, task=task, beam_size=step.beam_size, best_of=step.beam_size,
        temperature=TEMPERATURES, initial_prompt=step.prompt, prefix=step.prefix,
        vad_filter=False, condition_on_previous_text=False, without_timestamps=True,
    )
    return Decoded("".join(segment.text for segment in segments), info.language)


def interim(whisper: Any, step: Step, task: str) -> Decoded:
    """The forced prefix and the words after it: CTranslate2 returns the prefix's tokens with the rest, as faster-whisper does."""
    features = whisper.feature_extractor(step.audio)
    frames = min(WINDOW_FRAMES, features.shape[-1] + PADDING_FRAMES)
    window = np.zeros((1, features.shape[0], frames), np.float32)  # faster-whisper pads features with zeros too
    window[0, :, : min(frames, features.shape[-1])] = features[:, :frames]
    encoded = whisper.model.encode(ctranslate2.StorageView.from_array(window), to_cpu=False)
    language = step.language or _language(whisper, encoded)
    tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task=task, language=language)
    previous = tokenizer.encode(" " + step.prompt.strip()) if step.prompt else []
    prompt = whisper.get_prompt(tokenizer, previous, without_timestamps=True, prefix=step.prefix)
    cap = len(prompt) + 8 + int(TOKENS_PER_SECOND * len(step.audio) / SAMPLE_RATE)
    result = whisper.model.generate(
        encoded, [prompt], beam_size=1, max_length=min(cap, 448),
        suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
    )[0]
    text = tokenizer.decode([t for t in result.sequences_ids[0] if t < tokenizer.eot]).strip()
    if text and get_compression_ratio(text) > MAX_COMPRESSION:
        text = step.prefix or ""  # a loop: this decode says nothing new
    return Decoded(text, language)


def _language(whisper: Any, encoded: Any) -> str:
    if not whisper.model.is_multilingual:
        return "en"
    ranked = whisper.model.detect_language(encoded)[0]
    return str(ranked[0][0][2:-2])  # "<|de|>"
