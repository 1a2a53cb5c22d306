"""Slots: transcriptions beyond the slots wait in arrival order, up to the queue limit."""

import asyncio

import pytest

from whisper_worker.errors import WorkerError
from whisper_worker.server.slots import Slots

from conftest import async_wait_until


class Holder:
    """One transcription's turn: takes a slot, notes its queue positions, keeps the slot until `done` is set."""

    def __init__(self, slots: Slots, name: str, order: list[str]):
        self.positions: list[int] = []
        self.done = asyncio.Event()
        self.task = asyncio.create_task(self._hold(slots, name, order))

    async def _hold(self, slots: Slots, name: str, order: list[str]) -> None:
        async def on_queued(position: int) -> None:
            self.positions.append(position)

        async with slots.hold(on_queued):
            order.append(name)
            await self.done.wait()


def test_waiting_ones_get_the_slot_in_arrival_order():
    async def scenario():
        slots, order = Slots(1, queue_limit=8), []
        holders = {name: Holder(slots, name, order) for name in "abcd"}
        await async_wait_until(lambda: slots.queued == 3)
        assert (slots.running, order) == (1, ["a"])
        assert [holders[n].positions for n in "bcd"] == [[1], [2], [3]]
        for name in "abcd":
            await async_wait_until(lambda name=name: order[-1] == name)
            holders[name].done.set()
        await asyncio.gather(*(h.task for h in holders.values()))
        return order, slots

    order, slots = asyncio.run(scenario())
    assert order == ["a", "b", "c", "d"]
    assert (slots.running, slots.queued) == (0, 0)


def test_a_full_queue_is_overloaded():
    async def scenario():
        slots, order = Slots(2, queue_limit=1), []
        holders = [Holder(slots, name, order) for name in "abc"]
        await async_wait_until(lambda: slots.queued == 1)
        with pytest.raises(WorkerError) as refused:
            async with slots.hold(lambda position: asyncio.sleep(0)):
                pass
        for h in holders:
            h.done.set()
        await asyncio.gather(*(h.task for h in holders))
        return refused.value, slots

    refused, slots = asyncio.run(scenario())
    assert refused.code == "overloaded" and "WHISPER_QUEUE_LIMIT=1" in refused.message
    assert (slots.running, slots.queued) == (0, 0)


def test_a_cancelled_waiting_one_leaves_the_queue_and_the_next_one_moves_up():
    async def scenario():
        slots, order = Slots(1, queue_limit=8), []
        first, gone, last = (Holder(slots, name, order) for name in ("first", "gone", "last"))
        await async_wait_until(lambda: slots.queued == 2)
        gone.task.cancel()
        await async_wait_until(lambda: slots.queued == 1)
        first.done.set()
        await async_wait_until(lambda: order[-1] == "last")
        running_after_handover = slots.running
        last.done.set()
        await asyncio.gather(first.task, last.task)
        return order, gone.task.cancelled(), running_after_handover, slots

    order, cancelled, running_after_handover, slots = asyncio.run(scenario())
    assert order == ["first", "last"] and cancelled
    assert running_after_handover == 1 and (slots.running, slots.queued) == (0, 0)
