"""Model names, offline errors and the cache, on the real worker with real weights."""

import asyncio
import logging
from pathlib import Path

import pytest
from faster_whisper import WhisperModel

from whisper_worker.engine.loader import make_loader, pick_device
from whisper_worker.engine.models import ModelCache, canonical
from whisper_worker.errors import WorkerError
from whisper_worker.protocol.messages import LANGUAGES
from whisper_worker.settings import Settings

from client import Client
from conftest import MODELS, async_wait_until, wait_until


def test_unknown_model_lists_accepted_names(worker):
    with Client(worker.port) as client:
        reply = client.call({"command": "load_model", "model": "gigantic"})
    assert reply["error"]["code"] == "unknown_model"
    assert "'gigantic'" in reply["error"]["message"] and "large-v3" in reply["error"]["message"]


def test_missing_model_offline_says_where_to_put_it_without_naming_the_workers_folders(worker, clips):
    with Client(worker.port) as client:
        reply = client.call({"command": "transcribe", "model": "medium"}, next(iter(clips.values())))
    assert reply["error"]["code"] == "model_unavailable"
    message = reply["error"]["message"]
    assert "'medium'" in message and "models folder (WHISPER_MODELS_DIR), in a folder named 'medium'" in message
    assert str(MODELS.resolve()) not in message and str(Path.home()) not in message, message
    # The operator gets the folder itself, in the worker's log.
    assert str(MODELS.resolve() / "medium") in worker.log.read_text()


def test_downloads_off_the_message_names_no_path_and_the_log_does(tmp_path, caplog):
    settings = Settings(models_dir=tmp_path / "private-models", allow_download=False)
    with caplog.at_level(logging.WARNING, logger="whisper_worker.models"), pytest.raises(WorkerError) as refused:
        make_loader(settings, pick_device(settings))("large")
    assert refused.value.code == "model_unavailable"
    assert "WHISPER_ALLOW_DOWNLOAD=false" in refused.value.message and "named 'large-v3'" in refused.value.message
    assert "private-models" not in refused.value.message
    assert str(tmp_path / "private-models" / "large-v3") in caplog.text


def test_list_models(worker):
    with Client(worker.port) as client:
        models = {m["name"]: m for m in client.call({"command": "list_models"})["result"]["models"]}
    assert models["base"]["available"] and models["tiny.en"]["available"]
    assert not models["medium"]["available"]
    assert {"tiny", "small", "large", "large-v3", "turbo"} <= set(models)


def test_the_schemas_languages_are_those_of_a_multilingual_model():
    model = WhisperModel(str(MODELS / "base"), device="cpu", compute_type="int8", cpu_threads=1)
    assert model.model.is_multilingual and list(LANGUAGES) == model.supported_languages


def test_large_means_the_newest_large():
    assert canonical("large") == "large-v3"
    with pytest.raises(WorkerError):
        canonical("large-v9")


def _real_cache(max_loaded=2, idle=0.0):
    settings = Settings(models_dir=MODELS)
    loader = make_loader(settings, pick_device(settings))
    return ModelCache(loader, max_loaded, idle)


def test_concurrent_first_requests_load_once():
    async def scenario():
        cache = _real_cache()
        results = await asyncio.gather(*(cache.load("tiny.en") for _ in range(5)))
        return cache, {id(entry) for entry, _ in results}

    cache, distinct = asyncio.run(scenario())
    assert cache.loads == 1 and len(distinct) == 1


def test_a_cancelled_first_caller_does_not_abort_the_load_for_others():
    async def scenario():
        cache = _real_cache()
        first = asyncio.create_task(cache.load("tiny.en"))
        second = asyncio.create_task(cache.load("tiny.en"))
        await async_wait_until(lambda: cache.loads == 1, what="the one load to start")  # both callers wait on it now
        first.cancel()
        entry, _ = await second
        with pytest.raises(asyncio.CancelledError):
            await first
        return cache, entry

    cache, entry = asyncio.run(scenario())
    assert entry.model is not None and cache.loads == 1
    assert [e.name for e in cache.loaded()] == ["tiny.en"]


def test_lru_eviction_keeps_models_in_use():
    async def scenario():
        cache = _real_cache(max_loaded=1)
        async with cache.use("tiny.en"):
            await cache.load("base")  # over the limit, but tiny.en is in use: both stay for now
            assert {e.name for e in cache.loaded()} == {"tiny.en", "base"}
        # Back under the limit once tiny.en is released; base, loaded but unused since, goes.
        after_release = {e.name for e in cache.loaded()}
        await cache.load("base")
        return after_release, {e.name for e in cache.loaded()}

    after_release, after_reload = asyncio.run(scenario())
    assert after_release == {"tiny.en"}
    assert after_reload == {"base"}


def test_lru_eviction_on_the_server(make_worker, clips):
    w = make_worker(WHISPER_MAX_LOADED_MODELS="1")
    with Client(w.port) as client:
        audio = clips["sense_and_sensibility_01_austen_64kb-0880"]
        assert client.call({"command": "transcribe", "model": "tiny.en"}, audio)["type"] == "result"
        assert client.call({"command": "load_model", "model": "base"})["result"]["loaded"]
        loaded = [m["name"] for m in client.call({"command": "status"})["result"]["models"]]
    assert loaded == ["base"]


def test_idle_model_is_unloaded(make_worker):
    w = make_worker(WHISPER_MODEL_IDLE_SECONDS="1")
    with Client(w.port) as client:
        client.call({"command": "load_model", "model": "tiny.en"})
        assert [m["name"] for m in client.call({"command": "status"})["result"]["models"]] == ["tiny.en"]
        wait_until(lambda: client.call({"command": "status"})["result"]["models"] == [], timeout=20, what="the idle unload")


def test_unload_and_preload(make_worker):
    w = make_worker(WHISPER_PRELOAD="tiny.en")
    with Client(w.port) as client:
        assert [m["name"] for m in client.call({"command": "status"})["result"]["models"]] == ["tiny.en"]
        assert client.call({"command": "unload_model", "model": "tiny.en"})["result"]["unloaded"] is True
        assert client.call({"command": "unload_model", "model": "tiny.en"})["result"]["unloaded"] is False
        assert client.call({"command": "status"})["result"]["models"] == []


def test_status_answers_while_a_model_loads(make_worker):
    w = make_worker()
    with Client(w.port) as client:
        # On one connection requests start in the order they were sent: the load is under way when status runs.
        load_id = client.send({"command": "load_model", "model": "base"})
        status_id = client.send({"command": "status"})
        first = client.recv()
        assert (first["id"], first["result"]["models"]) == (status_id, [])
        assert client.until_final(load_id)[0]["result"]["loaded"]
