"""Validates `transcribe` options (protocol §4) and maps them onto faster-whisper's arguments."""

from __future__ import annotations

from typing import Any

from faster_whisper.tokenizer import _LANGUAGE_CODES

from whisper_worker.errors import WorkerError

DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
VAD_KEYS = {"threshold", "min_speech_duration_ms", "max_speech_duration_s", "min_silence_duration_ms", "speech_pad_ms"}


def _bad(message: str) -> WorkerError:
    return WorkerError("bad_request", message)


def _number(name: str, value: Any, low: float | None = None, high: float | None = None, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise _bad(f"option '{name}' must be {'an integer' if integer else 'a number'}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _bad(f"option '{name}' must be between {low} and {high}")
    return value


def _optional_string(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _bad(f"option '{name}' must be a string or null")
    return value or None


def _temperature(value: Any) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _bad("option 'temperature' must not be an empty list")
    temps = tuple(float(_number("temperature", v, 0, 1)) for v in values)
    return DEFAULT_TEMPERATURES if temps == (0.0,) else temps


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(f"option '{name}' must be true or false")
    return value


def transcribe_kwargs(options: Any) -> tuple[dict[str, Any], int]:
    """faster-whisper keyword arguments, and the batch size asked for (0 = worker's choice)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise _bad("'options' must be an object")
    kw: dict[str, Any] = {"vad_filter": True, "temperature": DEFAULT_TEMPERATURES}
    batch_size = 0
    for key, value in options.items():
        if key == "language":
            if value is not None and value not in _LANGUAGE_CODES:
                raise _bad(f"unknown language '{value}'; use an ISO-639-1 code such as en, de, ru, or null to detect it")
            kw["language"] = value
        elif key == "task":
            if value not in ("transcribe", "translate"):
                raise _bad("option 'task' must be 'transcribe' or 'translate'")
            kw["task"] = value
        elif key in ("beam_size", "best_of"):
            kw[key] = _number(key, value, 1, 20, integer=True)
        elif key == "patience":
            kw[key] = _number(key, value, 0.01, 10)
        elif key == "temperature":
            kw[key] = _temperature(value)
        elif key in ("initial_prompt", "hotwords", "prefix"):
            kw[key] = _optional_string(key, value)
        elif key in ("vad_filter", "word_timestamps", "condition_on_previous_text"):
            kw[key] = _bool(key, value)
        elif key == "vad_parameters":
            if not isinstance(value, dict) or not set(value) <= VAD_KEYS:
                raise _bad(f"option 'vad_parameters' must be an object with keys among {sorted(VAD_KEYS)}")
            kw[key] = {k: _number(f"vad_parameters.{k}", v, 0) for k, v in value.items()}
        elif key in ("no_speech_threshold", "log_prob_threshold", "compression_ratio_threshold"):
            kw[key] = None if value is None else _number(key, value)
        elif key == "batch_size":
            batch_size = _number(key, value, 0, 64, integer=True)
        else:
            raise _bad(f"unknown option '{key}'")
    return kw, batch_size
