"""`transcribe` options (protocol §4) as faster-whisper keyword arguments.

The schema checks the options and holds their defaults; this table says only
how each one reaches faster-whisper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from whisper_worker.engine.diarize.pipeline import SpeakerCount
from whisper_worker.errors import WorkerError
from whisper_worker.protocol import messages

PROPERTIES: dict[str, Any] = messages.DEFINITIONS["TranscribeOptions"]["properties"]
DEFAULTS: dict[str, Any] = {name: spec["default"] for name, spec in PROPERTIES.items()}
DEFAULT_TEMPERATURES: tuple[float, ...] = tuple(float(t) for t in DEFAULTS["temperature"])


def _same(value: Any) -> Any:
    return value


def _temperatures(value: float | list[float]) -> tuple[float, ...]:
    temperatures = tuple(float(t) for t in (value if isinstance(value, list) else [value]))
    # A lone 0 is what most clients send meaning "the usual": it keeps faster-whisper's fallback on bad segments.
    return DEFAULT_TEMPERATURES if temperatures == (0.0,) else temperatures


def _none_if_empty(value: Any) -> Any:
    # An empty prompt, hotword list or prefix is none at all, as clients send "" for "not set".
    return value or None


def _vad_parameters(value: dict[str, Any]) -> dict[str, Any] | None:
    # None, not {}: the batched pipeline picks its own VAD defaults only for None. A copy, as it edits the dict.
    return dict(value) or None


Converter = Callable[[Any], Any]

# option -> (faster-whisper keyword argument, conversion). batch_size is no argument: it picks the pipeline;
# language_candidates neither: faster-whisper cannot restrict its detection, so transcriber.py picks the language.
FASTER_WHISPER: dict[str, tuple[str, Converter]] = {
    "language": ("language", _same),
    "task": ("task", _same),
    "beam_size": ("beam_size", _same),
    "best_of": ("best_of", _same),
    "patience": ("patience", _same),
    "temperature": ("temperature", _temperatures),
    "initial_prompt": ("initial_prompt", _none_if_empty),
    "hotwords": ("hotwords", _none_if_empty),
    "prefix": ("prefix", _none_if_empty),
    "vad_filter": ("vad_filter", _same),
    "vad_parameters": ("vad_parameters", _vad_parameters),
    "word_timestamps": ("word_timestamps", _same),
    "condition_on_previous_text": ("condition_on_previous_text", _same),
    "no_speech_threshold": ("no_speech_threshold", _same),
    "log_prob_threshold": ("log_prob_threshold", _same),
    "compression_ratio_threshold": ("compression_ratio_threshold", _same),
}


def transcribe_kwargs(options: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
    """faster-whisper keyword arguments for options the schema accepted, and the batch size (None = the worker's choice)."""
    chosen = {**DEFAULTS, **options}
    kwargs = {kwarg: convert(chosen[name]) for name, (kwarg, convert) in FASTER_WHISPER.items()}
    return kwargs, chosen["batch_size"]


def language_candidates(options: Mapping[str, Any]) -> tuple[str, ...]:
    """The languages detection may choose among, () for any. A language set outright leaves nothing to choose."""
    if options.get("language") is not None:
        return ()
    return tuple(options.get("language_candidates") or ())


def tuned(options: Mapping[str, Any]) -> dict[str, Any]:
    """The decoding options a request set away from their defaults, for the request log: what an operator asks first
    when text comes out odd. Text (prompts, hotwords) is logged as its length only: it is the user's, not ours."""
    return {
        name: (f"{len(value)} chars" if isinstance(value, str) else value)
        for name, value in options.items()
        if name in FASTER_WHISPER and name not in ("language", "task") and value != DEFAULTS[name]
    }


@dataclass(frozen=True)
class DiarizationOptions:
    count: SpeakerCount
    names: tuple[str, ...]  # known speakers, in the order of their reference audio frames


def diarization_options(options: Mapping[str, Any]) -> DiarizationOptions | None:
    """The speakers asked for, or None for none; a bad_request for bounds the schema cannot see (min above max)."""
    asked = options.get("diarization")
    if asked is None:
        return None
    num, least, most = (asked.get(k) for k in ("num_speakers", "min_speakers", "max_speakers"))
    if least is not None and most is not None and least > most:
        raise WorkerError(
            "bad_request", f"'options.diarization.min_speakers' ({least}) is more than 'max_speakers' ({most})",
        )
    if num is not None and ((least is not None and num < least) or (most is not None and num > most)):
        raise WorkerError(
            "bad_request",
            f"'options.diarization.num_speakers' ({num}) is outside min_speakers..max_speakers ({least}..{most})",
        )
    names = tuple(k["name"] for k in asked.get("known_speakers", []))
    return DiarizationOptions(SpeakerCount(num, least, most), names)


def reference_frames(message: Mapping[str, Any]) -> int:
    """Audio frames after a transcribe request's own: one per known speaker. Read from the message as it came,
    valid or not, so that a refused request's frames are read all the same and the connection stays in step."""
    options = message.get("options")
    diarization = options.get("diarization") if isinstance(options, dict) else None
    known = diarization.get("known_speakers") if isinstance(diarization, dict) else None
    return len(known) if isinstance(known, list) else 0
