"""Turns a model name into a loaded WhisperModel on the right device."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import ctranslate2
from faster_whisper import WhisperModel
from faster_whisper.utils import download_model

from whisper_worker.engine.diarize.pipeline import Diarizer
from whisper_worker.engine.models import DIARIZATION, Loader, canonical, local_path
from whisper_worker.errors import WorkerError, without_paths
from whisper_worker.settings import Settings

log = logging.getLogger("whisper_worker.models")


@dataclass(frozen=True)
class Device:
    name: str  # cpu or cuda
    compute_type: str
    gpus: tuple[int, ...]  # CUDA device indices a model is spread over; empty on CPU
    slots: int  # transcriptions run at once, sharing CTranslate2 calls
    cpu_threads: int  # CTranslate2's threads
    batch_size: int  # most 30 s windows in one CTranslate2 call
    replicas: int  # CTranslate2 calls that run at once: one per GPU; on CPU, the cores over the threads of each


def _cuda_devices() -> int:
    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a CTranslate2 build without CUDA, or a broken driver: CPU it is
        return 0


def pick_device(settings: Settings) -> Device:
    """cuda when asked for or seen; CPU otherwise, so the same build runs on both."""
    gpus = _cuda_devices()
    if settings.device == "cuda" and gpus == 0:
        raise WorkerError("internal", "WHISPER_DEVICE=cuda but CTranslate2 sees no CUDA device")
    on_gpu = settings.device == "cuda" or (settings.device == "auto" and gpus > 0)
    compute = settings.compute_type
    if compute == "auto":
        compute = "float16" if on_gpu else "int8"
    # Measured (docs/benchmarks.md, Batching): on CPU, batches of 4 to 16 windows decode a long file alike, and one
    # call on every core keeps a lone request as fast as before; calls side by side on one core each
    # (WHISPER_CPU_THREADS=1) gain about 14 % under load but make a lone request slower.
    # 16 on GPU is faster-whisper's own choice for its batched pipeline.
    batch = settings.batch_size or (16 if on_gpu else 8)
    slots = settings.slots or batch * max(1, gpus if on_gpu else 1)
    cores = os.cpu_count() or 1
    threads = settings.cpu_threads or cores
    replicas = gpus if on_gpu else max(1, cores // threads)
    return Device("cuda" if on_gpu else "cpu", compute, tuple(range(gpus)) if on_gpu else (), slots, threads, batch, replicas)


def make_loader(settings: Settings, device: Device) -> Loader:
    def load(name: str) -> WhisperModel | Diarizer:
        if name == DIARIZATION:
            return _diarizer(settings)
        path = local_path(name, settings.models_dir) or _download(name, settings)
        return WhisperModel(
            str(path),
            device=device.name,
            device_index=list(device.gpus) or 0,
            compute_type=device.compute_type,
            cpu_threads=device.cpu_threads,
            # Concurrent transcriptions share calls (batching.py); replicas only where calls can run side by side.
            num_workers=1 if device.gpus else device.replicas,
        )

    return load


def _diarizer(settings: Settings) -> Diarizer:
    try:
        return Diarizer(settings.diarization_dir)
    except FileNotFoundError as e:
        log.warning("the speaker models are missing: %s", e)
        raise WorkerError(
            "model_unavailable",
            "Speaker diarization needs its models (segmentation.onnx, embedding.onnx), which this worker does not have: "
            "run `make models`, or point WHISPER_DIARIZATION_MODELS at a folder that holds them.",
        ) from None


def _download(name: str, settings: Settings) -> str:
    name_on_disk = canonical(name, settings.models_dir)
    folder = (settings.models_dir / name_on_disk).resolve()
    # The client is told where in words; the absolute path is for the operator, in the log.
    hint = (
        "Put a CTranslate2 conversion of it (model.bin, config.json, tokenizer.json, vocabulary.*) in the worker's "
        f"models folder (WHISPER_MODELS_DIR), in a folder named '{name_on_disk}', or let the worker reach the Hugging Face hub."
    )
    if not settings.allow_download:
        log.warning("model %s is not on disk and downloads are off: expected it in %s", name, folder)
        off = "downloads are off (WHISPER_ALLOW_DOWNLOAD=false)"
        raise WorkerError("model_unavailable", f"Model '{name}' is not on disk and {off}. {hint}")
    try:
        return str(download_model(name_on_disk))
    except Exception as e:
        log.warning("model %s is not in %s and could not be downloaded: %s", name, folder, e)
        reason = without_paths(str(e).splitlines()[0][:300]) if str(e) else type(e).__name__
        raise WorkerError("model_unavailable", f"Model '{name}' is not on disk and could not be downloaded ({reason}). {hint}") from None
