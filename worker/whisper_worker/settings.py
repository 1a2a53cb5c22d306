"""Worker settings: parsed from the environment once, then passed in (never global)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping

MiB = 1 << 20
GiB = 1 << 30


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata={"env": "WHISPER_HOST", "doc": "address to listen on"})
    port: int = field(default=9000, metadata={"env": "WHISPER_PORT", "doc": "TCP port (0 = any free port)"})
    device: str = field(default="auto", metadata={"env": "WHISPER_DEVICE", "doc": "auto, cpu or cuda; auto picks cuda when CTranslate2 sees a GPU"})
    compute_type: str = field(default="auto", metadata={"env": "WHISPER_COMPUTE_TYPE", "doc": "auto = float16 on GPU, int8 on CPU; or any CTranslate2 type"})
    cpu_threads: int = field(default=0, metadata={"env": "WHISPER_CPU_THREADS", "doc": "threads per transcription on CPU (0 = CTranslate2's default)"})
    models_dir: Path = field(default=Path("models"), metadata={"env": "WHISPER_MODELS_DIR", "doc": "folder searched first for <name>/model.bin"})
    default_model: str = field(default="base", metadata={"env": "WHISPER_DEFAULT_MODEL", "doc": "model for requests that name none"})
    allow_download: bool = field(default=True, metadata={"env": "WHISPER_ALLOW_DOWNLOAD", "doc": "download models that are not on disk"})
    max_loaded_models: int = field(default=2, metadata={"env": "WHISPER_MAX_LOADED_MODELS", "doc": "beyond this, the least recently used idle model is unloaded"})
    model_idle_seconds: float = field(default=600.0, metadata={"env": "WHISPER_MODEL_IDLE_SECONDS", "doc": "unload a model unused this long (<= 0: never)"})
    preload: tuple[str, ...] = field(default=(), metadata={"env": "WHISPER_PRELOAD", "doc": "comma-separated models loaded into memory at start"})
    slots: int = field(default=1, metadata={"env": "WHISPER_SLOTS", "doc": "transcriptions run at once"})
    queue_limit: int = field(default=16, metadata={"env": "WHISPER_QUEUE_LIMIT", "doc": "transcriptions waiting for a slot before 'overloaded'"})
    max_json_frame: int = field(default=1 * MiB, metadata={"env": "WHISPER_MAX_JSON_FRAME", "doc": "largest JSON frame in bytes"})
    max_audio_frame: int = field(default=2 * GiB, metadata={"env": "WHISPER_MAX_AUDIO_FRAME", "doc": "largest audio frame in bytes"})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.metadata["env"], raw, f.default)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.device not in ("auto", "cpu", "cuda"):
            raise SettingsError(f"WHISPER_DEVICE must be auto, cpu or cuda, not {self.device!r}")
        for name in ("slots", "max_loaded_models"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1")
        if self.queue_limit < 0 or self.max_json_frame < 64 or self.max_audio_frame < 1:
            raise SettingsError("queue_limit must be >= 0, max_json_frame >= 64, max_audio_frame >= 1")


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
