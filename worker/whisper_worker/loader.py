"""Turns a model name into a loaded WhisperModel on the right device."""

from __future__ import annotations

from dataclasses import dataclass

import ctranslate2
from faster_whisper import WhisperModel
from faster_whisper.utils import download_model

from whisper_worker.errors import WorkerError
from whisper_worker.models import canonical, local_path
from whisper_worker.settings import Settings


@dataclass(frozen=True)
class Device:
    name: str  # cpu or cuda
    compute_type: str


def pick_device(settings: Settings) -> Device:
    """cuda when asked for or seen; CPU otherwise, so the same build runs on both."""
    gpus = ctranslate2.get_cuda_device_count()
    if settings.device == "cuda" and gpus == 0:
        raise WorkerError("internal", "WHISPER_DEVICE=cuda but CTranslate2 sees no CUDA device")
    name = "cuda" if settings.device == "cuda" or (settings.device == "auto" and gpus > 0) else "cpu"
    compute = settings.compute_type
    if compute == "auto":
        compute = "float16" if name == "cuda" else "int8"
    return Device(name, compute)


def make_loader(settings: Settings, device: Device):
    def load(name: str) -> WhisperModel:
        path = local_path(name, settings.models_dir) or _download(name, settings)
        return WhisperModel(
            str(path),
            device=device.name,
            compute_type=device.compute_type,
            cpu_threads=settings.cpu_threads,
        )

    return load


def _download(name: str, settings: Settings) -> str:
    folder = (settings.models_dir / canonical(name)).resolve()
    hint = (
        f"Put a CTranslate2 conversion of it (model.bin, config.json, tokenizer.json, vocabulary.*) "
        f"in {folder}/, or let the worker reach the Hugging Face hub."
    )
    if not settings.allow_download:
        raise WorkerError("model_unavailable", f"Model '{name}' is not on disk and downloads are off (WHISPER_ALLOW_DOWNLOAD=false). {hint}")
    try:
        return download_model(canonical(name))
    except Exception as e:
        reason = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
        raise WorkerError("model_unavailable", f"Model '{name}' is not on disk and could not be downloaded ({reason}). {hint}") from None
