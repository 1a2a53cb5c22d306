"""The model cache with a fake loader: single-flight loads, LRU eviction, unloads and idle unloading."""

import asyncio

import pytest

from whisper_worker.engine.models import ModelCache

from conftest import async_wait_until
from fakes import FakeLoader


def names(cache: ModelCache) -> set[str]:
    return {entry.name for entry in cache.loaded()}


def test_concurrent_loads_of_one_model_run_the_loader_once():
    async def scenario():
        loader = FakeLoader()
        loader.gate.close()
        cache = ModelCache(loader, max_loaded=2, idle_seconds=0)
        loads = [asyncio.create_task(cache.load("base")) for _ in range(5)]
        await async_wait_until(loader.gate.reached.is_set)
        loader.gate.open()
        return loader, cache, await asyncio.gather(*loads)

    loader, cache, results = asyncio.run(scenario())
    assert loader.calls == ["base"] and cache.loads == 1
    assert len({id(entry) for entry, _ in results}) == 1
    assert results[0][0].model is loader.model("base")


def test_a_failed_load_fails_every_waiting_caller_and_the_next_load_tries_again():
    async def scenario():
        loader = FakeLoader()
        loader.gate.close()
        loader.fail = OSError("disk on fire")
        cache = ModelCache(loader, max_loaded=2, idle_seconds=0)
        loads = [asyncio.create_task(cache.load("base")) for _ in range(3)]
        await async_wait_until(loader.gate.reached.is_set)
        loader.gate.open()
        failures = await asyncio.gather(*loads, return_exceptions=True)
        loader.fail = None
        await cache.load("base")
        return loader, cache, failures

    loader, cache, failures = asyncio.run(scenario())
    assert [type(f) for f in failures] == [OSError] * 3
    assert loader.calls == ["base", "base"] and names(cache) == {"base"}


def test_aliases_share_one_entry():
    async def scenario():
        cache = ModelCache(FakeLoader(), max_loaded=2, idle_seconds=0)
        await cache.load("large")
        await cache.load("large-v3")
        return cache

    cache = asyncio.run(scenario())
    assert names(cache) == {"large-v3"} and cache.loads == 1


def test_lru_eviction_skips_models_in_use():
    async def scenario():
        cache = ModelCache(FakeLoader(), max_loaded=2, idle_seconds=0)
        async with cache.use("tiny"):  # the oldest, but in use
            await cache.load("base")
            await cache.load("small")  # one too many: base, idle and least recently used, goes
            during = names(cache)
        await cache.load("medium")  # tiny, used until just now, stays: small is the least recently used
        return during, names(cache)

    during, after = asyncio.run(scenario())
    assert during == {"tiny", "small"}
    assert after == {"tiny", "medium"}


def test_over_the_limit_while_everything_is_in_use_then_back_under_it():
    async def scenario():
        cache = ModelCache(FakeLoader(), max_loaded=1, idle_seconds=0)
        async with cache.use("tiny"), cache.use("base"):
            during = names(cache)
        return during, names(cache)

    during, after = asyncio.run(scenario())
    assert during == {"tiny", "base"} and len(after) == 1


def test_unload_of_a_model_in_use_waits_for_its_last_user():
    async def scenario():
        cache = ModelCache(FakeLoader(), max_loaded=2, idle_seconds=0)
        async with cache.use("base") as (entry, _):
            assert cache.unload("base") is True
            during = names(cache)
        return during, names(cache), entry, cache.unload("base")

    during, after, entry, again = asyncio.run(scenario())
    assert during == {"base"} and after == set()
    assert entry.model is None and again is False


def test_idle_models_are_unloaded_but_not_one_in_use():
    async def scenario():
        cache = ModelCache(FakeLoader(), max_loaded=2, idle_seconds=0.05)
        await cache.load("tiny")
        async with cache.use("base") as (busy, _):
            busy.last_used -= 10  # unused far longer than the limit by its clock, but in use all the same

            def idle_long_enough() -> bool:
                cache.sweep_idle()
                return "tiny" not in names(cache)

            await async_wait_until(idle_long_enough, what="tiny to be unloaded as idle")
            cache.sweep_idle()
            during = names(cache)
        return during

    assert asyncio.run(scenario()) == {"base"}


def test_no_idle_unloading_when_it_is_off():
    async def scenario():
        cache = ModelCache(FakeLoader(), max_loaded=2, idle_seconds=0)
        entry, _ = await cache.load("base")
        entry.last_used -= 10**6
        cache.sweep_idle()
        return names(cache)

    assert asyncio.run(scenario()) == {"base"}


def test_unknown_names_are_refused_before_any_load():
    loader = FakeLoader()
    cache = ModelCache(loader, max_loaded=2, idle_seconds=0)
    with pytest.raises(Exception, match="not a Whisper model"):
        asyncio.run(cache.load("gigantic"))
    assert loader.calls == []
