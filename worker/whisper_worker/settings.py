"""Worker settings: parsed from the environment once, then passed in (never global)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

MiB = 1 << 20
GiB = 1 << 30
LOG_LEVELS = ("debug", "info", "warning", "error")
T = TypeVar("T")


class SettingsError(ValueError):
    pass


def setting(default: T, env: str, doc: str, secret: bool = False) -> T:
    """A field read from the environment variable `env`; `doc` is its line in the README's table.
    A secret stays out of repr(), so that logging the settings never logs it."""
    value: T = field(default=default, repr=not secret, metadata={"env": env, "doc": doc})
    return value


@dataclass(frozen=True)
class Settings:
    host: str = setting("127.0.0.1", "WHISPER_HOST", "address to listen on")
    port: int = setting(9000, "WHISPER_PORT", "TCP port (0 = any free port)")
    device: str = setting("auto", "WHISPER_DEVICE", "auto, cpu or cuda; auto picks cuda when CTranslate2 sees a GPU")
    compute_type: str = setting("auto", "WHISPER_COMPUTE_TYPE", "auto = float16 on GPU, int8 on CPU; or any CTranslate2 type")
    cpu_threads: int = setting(
        0, "WHISPER_CPU_THREADS",
        "CTranslate2's threads a call (0 = all CPU cores, one call at a time; fewer: calls side by side, the cores shared out)",
    )
    batch_size: int = setting(
        0, "WHISPER_BATCH_SIZE",
        "most 30 s windows in one CTranslate2 call: a long file's batch, and what concurrent requests share "
        "(0 = 8 on CPU, 16 on GPU; 1 = no batching)",
    )
    # Off by default: a shorter window changes what the decoder hears, so the words can differ from faster-whisper's
    # (a short German sentence translated came out as gibberish instead of English); the worker's default is its text.
    short_windows: bool = setting(
        False, "WHISPER_SHORT_WINDOWS",
        "opt-in: a file under 20 s is heard in a window of its length + 5 s (in 5 s steps, 10 to 25 s), not Whisper's whole 30 s: "
        "about 1.2x faster, a similar WER, but not always faster-whisper's words (docs/benchmarks.md, Short windows); "
        "false = every window 30 s, the same text as faster-whisper",
    )
    models_dir: Path = setting(Path("models"), "WHISPER_MODELS_DIR", "folder searched first for <name>/model.bin")
    diarization_models: str = setting(
        "", "WHISPER_DIARIZATION_MODELS",
        "folder with the speaker models, segmentation.onnx (pyannote segmentation-3.0 or a model of its shape) and "
        "embedding.onnx (a speaker embedding over 80 fbank features); empty = <WHISPER_MODELS_DIR>/diarization, "
        "where `make models` puts them",
    )
    default_model: str = setting("base", "WHISPER_DEFAULT_MODEL", "model for requests that name none")
    allow_download: bool = setting(True, "WHISPER_ALLOW_DOWNLOAD", "download models that are not on disk")
    max_loaded_models: int = setting(2, "WHISPER_MAX_LOADED_MODELS", "beyond this, the least recently used idle model is unloaded")
    model_idle_seconds: float = setting(600.0, "WHISPER_MODEL_IDLE_SECONDS", "unload a model unused this long (<= 0: never)")
    preload: tuple[str, ...] = setting((), "WHISPER_PRELOAD", "comma-separated models loaded into memory at start")
    slots: int = setting(0, "WHISPER_SLOTS", "transcriptions run at once, sharing batches (0 = the batch size, per GPU on GPU)")
    queue_limit: int = setting(16, "WHISPER_QUEUE_LIMIT", "transcriptions waiting for a slot before 'overloaded'")
    max_json_frame: int = setting(1 * MiB, "WHISPER_MAX_JSON_FRAME", "largest JSON frame in bytes")
    max_audio_frame: int = setting(2 * GiB, "WHISPER_MAX_AUDIO_FRAME", "largest audio frame in bytes")
    max_audio_seconds: int = setting(
        14400, "WHISPER_MAX_AUDIO_SECONDS", "longer audio is refused with `audio_too_long` before it is decoded (14400 = 4 h)",
    )
    # 60 s: at real-time pace a stream holds its current utterance (at most 20 s, live.policy.MAX_UTTERANCE_S) and the
    # ended ones whose final is being decoded (0.3 to 0.5 s each with base on 2 cores), so about 21 s at most; the rest
    # is room for a slow final or a wait for a slot. Only a client faster than real time, or a worker that cannot keep
    # up with its model, reaches it. 60 s of 16 kHz float samples is 3.8 MB a stream.
    live_max_buffered_seconds: float = setting(
        60.0, "WHISPER_LIVE_MAX_BUFFERED_SECONDS",
        "most audio a live stream holds without its final text (its utterance in progress and those whose final is being "
        "decoded); a `stream_audio` frame that would go past it is dropped with `buffer_full` (at least 30: an utterance "
        "runs up to 20 s)",
    )
    token: str = setting(
        "", "WORKER_TOKEN", "shared secret: when set, every connection must start with `hello` carrying it (set the same on the gateway)",
        secret=True,
    )
    log_level: str = setting(
        "info",
        "WHISPER_LOG_LEVEL",
        "debug, info, warning or error (else `LOG_LEVEL`); at info a line per request, `status`/`list_models` polls at debug",
    )

    @property
    def diarization_dir(self) -> Path:
        return Path(self.diarization_models) if self.diarization_models else self.models_dir / "diarization"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if not raw and f.name == "log_level":
                raw = env.get("LOG_LEVEL")  # the gateway's name for it: one LOG_LEVEL can serve both services
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.metadata["env"], raw, f.default)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.device not in ("auto", "cpu", "cuda"):
            raise SettingsError(f"WHISPER_DEVICE must be auto, cpu or cuda, not {self.device!r}")
        if self.max_loaded_models < 1:
            raise SettingsError("WHISPER_MAX_LOADED_MODELS must be at least 1")
        if self.slots < 0 or self.cpu_threads < 0 or self.batch_size < 0:
            raise SettingsError("WHISPER_SLOTS, WHISPER_CPU_THREADS and WHISPER_BATCH_SIZE must be 0 (automatic) or more")
        if self.log_level.lower() not in LOG_LEVELS:
            raise SettingsError(f"WHISPER_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.max_audio_seconds <= 0:
            raise SettingsError("WHISPER_MAX_AUDIO_SECONDS must be more than 0")
        if self.live_max_buffered_seconds < 30:
            # Below the longest utterance and a frame, a speaker who never pauses would fill it, and the stream,
            # refusing the audio that would end the utterance, would never give a final again.
            raise SettingsError("WHISPER_LIVE_MAX_BUFFERED_SECONDS must be at least 30 (an utterance runs up to 20 s)")
        if self.queue_limit < 0 or self.max_json_frame < 64 or self.max_audio_frame < 1:
            raise SettingsError("WHISPER_QUEUE_LIMIT must be >= 0, WHISPER_MAX_JSON_FRAME >= 64, WHISPER_MAX_AUDIO_FRAME >= 1")


def _parse(name: str, env_name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        raise SettingsError(f"{env_name}={raw!r} is not a valid {type(default).__name__}") from None


def describe() -> str:
    """The settings as a Markdown table, for the README."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        default = ",".join(f.default) if isinstance(f.default, tuple) else f.default
        rows.append(f"| `{f.metadata['env']}` | `{default}` | {f.metadata['doc']} |")
    return "\n".join(rows)
