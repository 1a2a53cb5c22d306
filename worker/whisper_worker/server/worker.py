"""The Worker: what each command of protocol §4 does, independent of sockets."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from faster_whisper import WhisperModel

from whisper_worker import PROTOCOL_VERSION, __version__
from whisper_worker.engine import transcriber, windows
from whisper_worker.engine.audio import SAMPLE_RATE
from whisper_worker.engine.batching import SharedModel
from whisper_worker.engine.conversions import abilities
from whisper_worker.engine.diarize.labels import Labeller
from whisper_worker.engine.diarize.pipeline import KnownSpeaker
from whisper_worker.engine.diarize.references import reference_clip
from whisper_worker.engine.loader import Device, make_loader, pick_device
from whisper_worker.engine.memory import MemoryProbe
from whisper_worker.engine.models import DIARIZATION, Loader, ModelCache, canonical, check_language, known_models, local_path
from whisper_worker.engine.options import DiarizationOptions, diarization_options, language_candidates, transcribe_kwargs, tuned
from whisper_worker.job import Job
from whisper_worker.live import decode as live_decode
from whisper_worker.live.policy import Decoded, Step
from whisper_worker.live.stream import Stream
from whisper_worker.protocol.messages import Send
from whisper_worker.server.slots import Slots
from whisper_worker.settings import Settings


class Worker:
    def __init__(self, settings: Settings, loader: Loader | None = None):
        self.settings = settings
        self.device: Device = pick_device(settings)
        self.cache = ModelCache(
            loader or make_loader(settings, self.device), settings.max_loaded_models, settings.model_idle_seconds, settings.models_dir,
        )
        self.slots = Slots(self.device.slots, settings.queue_limit)
        self.memory = MemoryProbe(self.device.gpus)
        self._shared: weakref.WeakKeyDictionary[WhisperModel, SharedModel] = weakref.WeakKeyDictionary()

    def joined(self, model: Any) -> AbstractContextManager[Any]:
        """The model for one more transcription on it: its CTranslate2 calls merge with the others' (engine/batching.py)."""
        if not isinstance(model, WhisperModel):
            return nullcontext(model)  # a test's stand-in
        if model not in self._shared:
            self._shared[model] = SharedModel(model, self.device.batch_size, self.device.replicas)
        return self._shared[model].member()

    def _decode_joined(self, model: Any, work: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        """Runs `work(model, *args)` in this thread, the model shared with the other transcriptions on it."""
        with self.joined(model) as whisper:
            return work(whisper, *args)

    def open_stream(self, job: Job, model: str, options: Mapping[str, Any], send: Send) -> Stream:
        self.check_model(model, options.get("language"))  # refused before anything else
        job.model = model
        return Stream(self, job, model, dict(options), send)

    def decode_live(self, model: Any, step: Step, task: str) -> Decoded:
        """One decode of a live stream, in this thread, its CTranslate2 calls merged with the other transcriptions'."""
        with self.joined(model) as whisper:
            return live_decode.decode(whisper, step, task)

    def batch_size(self, requested: int | None, audio_seconds: float) -> int:
        """The batched pipeline's batch for this request; 0 decodes sequentially."""
        if requested is not None:
            return requested
        # One window gains nothing from the batched pipeline, and sequential decoding keeps conditioning on the previous text.
        return self.device.batch_size if audio_seconds > transcriber.WINDOW_SECONDS and self.device.batch_size > 1 else 0

    async def status(self) -> dict[str, Any]:
        memory = self.memory.snapshot()  # NVML is a quick call: no thread needed
        return {
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "device": self.device.name,
            "compute_type": self.device.compute_type,
            "cpu_threads": self.device.cpu_threads,
            "slots": self.slots.slots,
            "running": self.slots.running,
            "queued": self.slots.queued,
            "queue_limit": self.slots.queue_limit,
            "models": [
                {"name": e.name, "in_use": e.in_use, "loaded_at": round(e.loaded_at, 3), "last_used": round(e.last_used, 3)}
                for e in self.cache.loaded()
            ],
            "memory": memory,
            "limits": {"max_json_frame": self.settings.max_json_frame, "max_audio_frame": self.settings.max_audio_frame},
        }

    async def list_models(self) -> dict[str, Any]:
        loaded = {e.name for e in self.cache.loaded()}

        def scan() -> list[dict[str, Any]]:
            return [self._model_row(name, loaded) for name in known_models(self.settings.models_dir)]

        return {"models": await asyncio.to_thread(scan), "default": self.settings.default_model}

    def _model_row(self, name: str, loaded: set[str]) -> dict[str, Any]:
        models_dir = self.settings.models_dir
        path = local_path(name, models_dir)
        can = abilities(path) if path else None
        return {
            "name": name, "available": path is not None, "loaded": canonical(name, models_dir) in loaded,
            "path": str(path) if path else None,
            "multilingual": can.multilingual if can else None, "languages": list(can.languages) if can else None,
        }

    def check_model(self, model: str, language: str | None) -> None:
        """A name the worker does not know, or a language the model cannot do, is refused before any work."""
        canonical(model, self.settings.models_dir)
        check_language(model, language, self.settings.models_dir)

    async def load_model(self, name: str) -> dict[str, Any]:
        started = time.monotonic()
        await self.cache.load(name)
        return {"model": name, "loaded": True, "load_seconds": round(time.monotonic() - started, 3)}

    def unload_model(self, name: str) -> dict[str, Any]:
        return {"model": name, "unloaded": self.cache.unload(name)}

    async def detect_language(self, job: Job, model: str, audio_path: str) -> dict[str, Any]:
        canonical(model, self.settings.models_dir)
        job.model = model
        async with self.slots.hold(_no_queued_event):
            audio = await asyncio.to_thread(transcriber.load_audio, audio_path, self.settings.max_audio_seconds)
            job.audio_seconds = len(audio) / SAMPLE_RATE
            async with self.cache.use(model) as (entry, _):
                _start_running(job)
                result = await asyncio.to_thread(self._decode_joined, entry.model, transcriber.detect_language, audio)
        _raise_if_cancelled(job)
        return result

    async def transcribe(
        self, job: Job, model: str, options: Mapping[str, Any], audio_path: str, send: Send, references: Sequence[str] = (),
    ) -> dict[str, Any]:
        kwargs, batch_size = transcribe_kwargs(options)
        speakers = diarization_options(options)
        job.tuned = tuned(options)
        self.check_model(model, kwargs.get("language"))
        job.model = model
        arrived = time.monotonic()

        async def on_queued(position: int) -> None:
            await send({"id": job.id, "type": "queued", "position": position})

        async with self.slots.hold(on_queued):
            queued_seconds = time.monotonic() - arrived
            # Decoding first: a broken file is reported without loading a model for it.
            audio = await asyncio.to_thread(transcriber.load_audio, audio_path, self.settings.max_audio_seconds)
            job.audio_seconds = len(audio) / SAMPLE_RATE
            known = await self._known_speakers(speakers, references)
            async with self.cache.use(model) as (entry, load_seconds):
                job.batch_size = batch = self.batch_size(batch_size, job.audio_seconds)
                short = batch == 0 and self.settings.short_windows
                job.window_seconds = windows.seconds(len(audio)) if short else windows.FULL_SECONDS
                emit = _emitter(job, model, send)
                _start_running(job)
                labeller = None
                if speakers is not None:
                    labeller = await self._diarize(job, audio, speakers, known, bool(kwargs["word_timestamps"]))
                    kwargs["word_timestamps"] = True  # a segment is split at the word where its speaker changes
                    emit = _labelled(emit, labeller)
                result = await asyncio.to_thread(
                    self._decode_joined, entry.model, transcriber.transcribe, audio, kwargs, batch, emit, job.cancelled, short,
                    language_candidates(options),
                )
        _raise_if_cancelled(job)
        timed = _timed(result, model, queued_seconds, load_seconds)
        if labeller is not None:
            timed = labeller.finish(timed)
            timed["timing"]["diarize_seconds"] = labeller.diarization.seconds
        return timed

    async def _known_speakers(self, speakers: DiarizationOptions | None, references: Sequence[str]) -> list[KnownSpeaker]:
        if speakers is None:
            return []
        clips = [await asyncio.to_thread(reference_clip, path, i) for i, path in enumerate(references)]
        return [KnownSpeaker(name, clip) for name, clip in zip(speakers.names, clips, strict=True)]

    async def _diarize(
        self, job: Job, audio: Any, speakers: DiarizationOptions, known: list[KnownSpeaker], words: bool,
    ) -> Labeller:
        async with self.cache.use(DIARIZATION) as (diarizer, _):
            found = await asyncio.to_thread(diarizer.model.run, audio, speakers.count, known, job.cancelled)
        _raise_if_cancelled(job)
        return Labeller(found, keep_words=words)


def _labelled(emit: transcriber.Emit, labeller: Labeller) -> transcriber.Emit:
    """Each decoded segment goes out split at its changes of speaker, with its speakers."""

    def labelled(event: dict[str, Any]) -> None:
        if event["type"] == "info":
            return emit({**event, "speakers": labeller.speakers()})
        if event["type"] != "segment":
            return emit(event)
        for piece in labeller.label(event["segment"]):
            emit({**event, "segment": piece})
        return None

    return labelled


def _emitter(job: Job, model: str, send: Send) -> transcriber.Emit:
    """What the decoding thread hands each event to: sent from the event loop, the thread waiting until it is."""
    loop = asyncio.get_running_loop()

    def emit(event: dict[str, Any]) -> None:
        if event["type"] == "info":
            event["model"] = model
        # Waiting for the send keeps a slow client from piling up frames in memory.
        asyncio.run_coroutine_threadsafe(send({"id": job.id, **event}), loop).result()

    return emit


def _timed(result: dict[str, Any], model: str, queued_seconds: float, load_seconds: float) -> dict[str, Any]:
    decode_seconds = result.pop("decode_seconds")
    result["model"] = model
    result["timing"] = {
        "queued_seconds": round(queued_seconds, 3),
        "load_seconds": round(load_seconds, 3),
        "decode_seconds": decode_seconds,
    }
    return result


def _start_running(job: Job) -> None:
    job.start_running()  # for good: from here a cancel only asks the thread to stop (job.py)
    _raise_if_cancelled(job)  # a cancel that came while it waited, and did not stop it in time


def _raise_if_cancelled(job: Job) -> None:
    # Also after the thread: a cancel that answered {"cancelled": true} must end in `cancelled` (§4).
    if job.cancelled.is_set():
        raise transcriber.Cancelled()


async def _no_queued_event(position: int) -> None:
    return None
