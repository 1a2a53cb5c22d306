"""Model names, where their weights are, and the cache of loaded models.

The cache keeps loaded models, unloads the least recently used idle one past
the limit and any model idle too long, and loads each model once however many
requests ask for it at the same time. Loading runs in a thread, so the event
loop keeps serving `status` and requests for models already loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faster_whisper
from faster_whisper.utils import download_model

from whisper_worker.engine.conversions import Abilities, abilities, is_conversion
from whisper_worker.errors import WorkerError

log = logging.getLogger("whisper_worker.models")

# The original design's names, on top of every name faster-whisper knows.
ALIASES = {"large": "large-v3", "turbo": "large-v3-turbo"}
# The speaker models: one more entry of the cache, so that they load once, count against WHISPER_MAX_LOADED_MODELS
# and unload when idle like a Whisper model. Not a name a request can give as its model.
DIARIZATION = "diarization"


# A model's name is also the name of its folder in the models folder: nothing that could point outside it.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def builtin_models() -> list[str]:
    names = list(faster_whisper.available_models())
    return names + [alias for alias in ALIASES if alias not in names]


def folder_models(models_dir: Path) -> list[str]:
    """The team's own models: folders holding a conversion under a name faster-whisper does not know."""
    builtin = set(builtin_models())
    try:
        folders = sorted(models_dir.iterdir())
    except OSError:
        return []
    return [f.name for f in folders if f.name not in builtin and NAME.fullmatch(f.name) and is_conversion(f)]


def known_models(models_dir: Path | None = None) -> list[str]:
    return builtin_models() + (folder_models(models_dir) if models_dir else [])


def check_name(name: str) -> None:
    if not NAME.fullmatch(name) or ".." in name:
        raise WorkerError(
            "unknown_model",
            f"'{name[:100]}' is not a valid model name: 1 to 100 letters, digits, '.', '_' or '-', "
            "not starting with a dot and without '..' (a model is a folder of the models folder, named so).",
        )


def canonical(name: str, models_dir: Path | None = None) -> str:
    """The name a request's model goes by; `models_dir` adds the team's own models to the accepted ones."""
    check_name(name)
    if name in builtin_models():
        return ALIASES.get(name, name)
    if models_dir is not None and is_conversion(models_dir / name):
        return name
    raise WorkerError(
        "unknown_model",
        f"'{name}' is not a Whisper model. Accepted names: {', '.join(known_models(models_dir))}.",
    )


def local_path(name: str, models_dir: Path) -> Path | None:
    """The models folder first (under the requested or canonical name), then the download cache."""
    for candidate in dict.fromkeys((name, canonical(name, models_dir))):
        folder = models_dir / candidate
        if (folder / "model.bin").is_file():
            return folder
    if name not in builtin_models():
        return None  # one of the team's own: nothing to look for in the hub's cache
    try:
        return Path(download_model(canonical(name), local_files_only=True))
    except Exception:
        return None


def model_abilities(name: str, models_dir: Path) -> Abilities | None:
    """What the model's own files say it can do; None while they are not on disk."""
    path = local_path(name, models_dir)
    return abilities(path) if path else None


def check_language(name: str, language: str | None, models_dir: Path) -> None:
    """An English-only model would quietly decode another language as English: refused instead."""
    can = model_abilities(name, models_dir) if language else None
    if can is not None and language not in can.languages:
        kind = "English-only" if not can.multilingual else "not trained on it"
        raise WorkerError(
            "bad_request",
            f"Model '{name}' cannot transcribe language '{language}' ({kind}; its languages: {', '.join(can.languages)}). "
            "Pick a multilingual model, or leave the language out.",
        )


def _cached_name(name: str, models_dir: Path | None) -> str:
    return name if name == DIARIZATION else canonical(name, models_dir)


@dataclass
class LoadedModel:
    name: str
    model: Any
    loaded_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    in_use: int = 0


Loader = Callable[[str], Any]


class ModelCache:
    def __init__(self, loader: Loader, max_loaded: int, idle_seconds: float, models_dir: Path | None = None):
        self._loader = loader
        self._models_dir = models_dir  # where the team's own models are, which a request may name too
        self._max_loaded = max_loaded
        self._idle_seconds = idle_seconds
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._loading: dict[str, asyncio.Task[LoadedModel]] = {}
        self._doomed: set[str] = set()  # unload asked while in use
        self.loads = 0  # how many times a loader ran: tests check single-flight loading

    def loaded(self) -> list[LoadedModel]:
        return list(self._loaded.values())

    async def load(self, name: str) -> tuple[LoadedModel, float]:
        """Loads (once) and returns the model with the seconds this call waited for loading."""
        name = _cached_name(name, self._models_dir)
        if name in self._loaded:
            self._loaded.move_to_end(name)
            return self._loaded[name], 0.0
        started = time.monotonic()
        task = self._loading.get(name)
        if task is None:
            # A task of its own, not the first caller's: a caller that is cancelled or
            # disconnects must not abort the load for everyone else waiting on it.
            task = asyncio.create_task(self._load_once(name))
            self._loading[name] = task
            task.add_done_callback(lambda t: self._loaded_or_failed(name, t))
        entry = await asyncio.shield(task)
        return entry, time.monotonic() - started

    async def _load_once(self, name: str) -> LoadedModel:
        self.loads += 1
        model = await asyncio.to_thread(self._loader, name)
        entry = LoadedModel(name, model)
        self._loaded[name] = entry
        self._evict(keep=name)
        return entry

    def _loaded_or_failed(self, name: str, task: asyncio.Task[LoadedModel]) -> None:
        self._loading.pop(name, None)
        if not task.cancelled():
            task.exception()  # retrieved, so a failure nobody waits for any more is no 'never retrieved' warning

    @asynccontextmanager
    async def use(self, name: str) -> AsyncIterator[tuple[LoadedModel, float]]:
        """Holds a model for one job: it cannot be unloaded until the job ends."""
        entry, waited = await self.load(name)
        while self._loaded.get(entry.name) is not entry:
            # Evicted between its load and this caller resuming (another load pushed it out).
            entry, more = await self.load(name)
            waited += more
        entry.in_use += 1
        try:
            yield entry, waited
        finally:
            entry.in_use -= 1
            entry.last_used = time.time()
            if entry.in_use == 0 and entry.name in self._doomed:
                self._drop(entry.name)
            else:
                self._evict()

    def unload(self, name: str) -> bool:
        name = _cached_name(name, self._models_dir)
        entry = self._loaded.get(name)
        if entry is None:
            return False
        if entry.in_use:
            self._doomed.add(name)
        else:
            self._drop(name)
        return True

    def sweep_idle(self) -> None:
        if self._idle_seconds <= 0:
            return
        cutoff = time.time() - self._idle_seconds
        for entry in list(self._loaded.values()):
            if entry.in_use == 0 and entry.last_used < cutoff:
                log.info("unloading idle model %s", entry.name)
                self._drop(entry.name)

    async def run_idle_sweeper(self) -> None:
        if self._idle_seconds <= 0:
            return
        while True:
            await asyncio.sleep(min(30.0, max(0.2, self._idle_seconds / 4)))
            try:
                self.sweep_idle()
            except Exception:
                # One failed unload must not end the sweeping for the worker's lifetime: idle models would pile up.
                log.exception("sweeping idle models failed; trying again at the next sweep")

    def _evict(self, keep: str | None = None) -> None:
        while len(self._loaded) > self._max_loaded:
            idle = [e for e in self._loaded.values() if e.in_use == 0 and e.name != keep]
            if not idle:
                return
            victim = min(idle, key=lambda e: e.last_used)
            log.info("unloading least recently used model %s", victim.name)
            self._drop(victim.name)

    def _drop(self, name: str) -> None:
        entry = self._loaded.pop(name)
        self._doomed.discard(name)
        # CTranslate2 frees its weights only when asked; dropping the Python object is not enough on GPU.
        inner = getattr(entry.model, "model", None)
        if inner is not None and hasattr(inner, "unload_model"):
            with contextlib.suppress(Exception):  # already freed, or an engine without it
                inner.unload_model()
        entry.model = None
        gc.collect()
