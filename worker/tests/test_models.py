"""Model names, offline errors and the cache, on the real worker with real weights."""

import asyncio
import time

import pytest

from client import Client
from conftest import MODELS
from whisper_worker.errors import WorkerError
from whisper_worker.loader import make_loader, pick_device
from whisper_worker.models import ModelCache, canonical
from whisper_worker.settings import Settings


def test_unknown_model_lists_accepted_names(worker):
    with Client(worker.port) as client:
        reply = client.call({"command": "load_model", "model": "gigantic"})
    assert reply["error"]["code"] == "unknown_model"
    assert "'gigantic'" in reply["error"]["message"] and "large-v3" in reply["error"]["message"]


def test_missing_model_offline_says_where_to_put_it(worker, clips):
    with Client(worker.port) as client:
        reply = client.call({"command": "transcribe", "model": "medium"}, next(iter(clips.values())))
    assert reply["error"]["code"] == "model_unavailable"
    assert "'medium'" in reply["error"]["message"]
    assert str(MODELS.resolve() / "medium") in reply["error"]["message"]


def test_list_models(worker):
    with Client(worker.port) as client:
        models = {m["name"]: m for m in client.call({"command": "list_models"})["result"]["models"]}
    assert models["base"]["available"] and models["tiny.en"]["available"]
    assert not models["medium"]["available"]
    assert {"tiny", "small", "large", "large-v3", "turbo"} <= set(models)


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
        assert client.call({"command": "transcribe", "model": "tiny.en"}, clips["sense_and_sensibility_01_austen_64kb-0880"])["type"] == "result"
        assert client.call({"command": "load_model", "model": "base"})["result"]["loaded"]
        loaded = [m["name"] for m in client.call({"command": "status"})["result"]["models"]]
    assert loaded == ["base"]


def test_idle_model_is_unloaded(make_worker):
    w = make_worker(WHISPER_MODEL_IDLE_SECONDS="1")
    with Client(w.port) as client:
        client.call({"command": "load_model", "model": "tiny.en"})
        assert [m["name"] for m in client.call({"command": "status"})["result"]["models"]] == ["tiny.en"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not client.call({"command": "status"})["result"]["models"]:
                break
            time.sleep(0.2)
        assert client.call({"command": "status"})["result"]["models"] == []


def test_unload_and_preload(make_worker):
    w = make_worker(WHISPER_PRELOAD="tiny.en")
    with Client(w.port) as client:
        assert [m["name"] for m in client.call({"command": "status"})["result"]["models"]] == ["tiny.en"]
        assert client.call({"command": "unload_model", "model": "tiny.en"})["result"]["unloaded"] is True
        assert client.call({"command": "unload_model", "model": "tiny.en"})["result"]["unloaded"] is False
        assert client.call({"command": "status"})["result"]["models"] == []


def test_status_answers_while_a_model_loads(make_worker):
    w = make_worker()
    with Client(w.port) as loading, Client(w.port) as asking:
        load_id = loading.send({"command": "load_model", "model": "base"})
        time.sleep(0.05)
        status = asking.call({"command": "status"})["result"]
        # The status reply came back while the load was still going: no model was loaded yet.
        assert status["models"] == []
        assert loading.until_final(load_id)[0]["result"]["loaded"]
