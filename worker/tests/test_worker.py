"""The production server and commands in the test's event loop, on fake models: transcription
events, cancels, refused requests and their audio. No weights, no subprocess."""

import asyncio
import contextlib
import gc
import logging
import tempfile
import time
from contextlib import AsyncExitStack
from typing import Literal

import pytest

from whisper_worker.engine import transcriber
from whisper_worker.engine.options import transcribe_kwargs
from whisper_worker.job import Job
from whisper_worker.live.policy import Decoded
from whisper_worker.live.stream import Stream
from whisper_worker.server import connection, tcp
from whisper_worker.server.commands import COMMANDS

from client import AsyncClient
from conftest import async_wait_until
from fakes import FakeLoader, Gate, fake_worker, served, wav


def run_served(scenario, loader: FakeLoader | None = None, **settings):
    """Runs `scenario(client, worker, loader)` against a served fake worker."""
    loader = loader or FakeLoader()

    async def main():
        worker = fake_worker(loader, **settings)
        async with served(worker) as port, await AsyncClient.connect(port) as client:
            return await scenario(client, worker, loader)

    return asyncio.run(main())


def test_transcribe_streams_events_and_hands_the_options_to_the_model():
    options = {"language": "de", "beam_size": 2, "temperature": 0, "word_timestamps": True}

    async def scenario(client, worker, loader):
        return await client.until_final(await client.send({"command": "transcribe", "model": "base", "options": options}, wav(1.5)))

    loader = FakeLoader()
    final, events = run_served(scenario, loader)
    assert [e["type"] for e in events] == ["info"] + ["segment", "progress"] * 3
    assert events[0]["model"] == "base" and events[0]["language"] == "de"
    result = final["result"]
    assert result["text"] == "part 0 part 1 part 2" and result["duration"] == 1.5
    assert [e["segment"] for e in events if e["type"] == "segment"] == result["segments"]
    assert loader.model("base").calls == [transcribe_kwargs(options)[0]]


def cancel_while_the_model_works(command):
    """Cancels a request while its model call runs: the cancel's reply, `running`
    while the call goes on, the request's final reply, and the status after."""

    async def scenario(client, worker, loader):
        gate = loader.model("base").gate.close()
        request = await client.send({"command": command, "model": "base"}, wav(1))
        await async_wait_until(gate.reached.is_set)
        cancel = await client.call({"command": "cancel", "target": request})
        # CTranslate2 still works on it: its slot must not go to anyone else yet.
        running_while_the_thread_works = (await client.call({"command": "status"}))["result"]["running"]
        gate.open()
        final, _ = await client.until_final(request)
        status = (await client.call({"command": "status"}))["result"]
        return cancel, running_while_the_thread_works, final, status

    return run_served(scenario)


def test_cancel_of_a_running_transcription_frees_its_slot_when_the_thread_stops():
    cancel, running, final, status = cancel_while_the_model_works("transcribe")
    assert cancel["result"] == {"cancelled": True} and running == 1
    assert final["error"]["code"] == "cancelled"
    assert (status["running"], status["queued"]) == (0, 0)


def test_cancel_during_detect_language_keeps_the_slot_until_the_thread_ends():
    cancel, running, final, status = cancel_while_the_model_works("detect_language")
    assert cancel["result"] == {"cancelled": True} and running == 1
    # Protocol §4: a request the cancel reached ends as `cancelled`, even though the detection finished.
    assert final["error"]["code"] == "cancelled"
    assert status["running"] == 0


def test_detect_language_result():
    async def scenario(client, worker, loader):
        return await client.call({"command": "detect_language"}, wav(1))

    result = run_served(scenario)["result"]
    assert result == {"language": "de", "language_probability": 0.9, "languages": [["de", 0.9], ["en", 0.05]]}


def test_cancel_of_a_queued_transcription_and_of_nothing():
    async def scenario(client, worker, loader):
        gate = loader.model("base").gate.close()
        running = await client.send({"id": "running", "command": "transcribe", "model": "base"}, wav(1))
        waiting = await client.send({"id": "waiting", "command": "transcribe", "model": "base"}, wav(1))
        await async_wait_until(lambda: worker.slots.queued == 1)
        cancelled = await client.call({"command": "cancel", "target": waiting})
        waiting_final, _ = await client.until_final(waiting)
        nothing = await client.call({"command": "cancel", "target": "no-such-request"})
        itself = await client.call({"id": "me", "command": "cancel", "target": "me"})
        gate.open()
        running_final, _ = await client.until_final(running)
        return cancelled, waiting_final, nothing, itself, running_final

    cancelled, waiting_final, nothing, itself, running_final = run_served(scenario)
    assert cancelled["result"] == {"cancelled": True} and waiting_final["error"]["code"] == "cancelled"
    assert nothing["result"] == {"cancelled": False} and itself["result"] == {"cancelled": False}
    assert running_final["type"] == "result"


def test_job_cancel_stops_a_waiting_task_but_only_asks_a_running_thread():
    async def scenario():
        waiting, running = Job("w"), Job("r")
        for job in (waiting, running):
            job.task = asyncio.create_task(asyncio.Event().wait())
        running.start_running()
        waiting.cancel()
        running.cancel()
        await asyncio.sleep(0)
        states = waiting.task.cancelled(), running.task.done(), waiting.cancelled.is_set(), running.cancelled.is_set()
        running.task.cancel()
        return states

    assert asyncio.run(scenario()) == (True, False, True, True)


def test_a_refused_request_never_spools_its_audio_and_the_connection_stays_in_step(monkeypatch):
    spooled = []
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        spooled.append(kwargs.get("prefix"))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(connection.tempfile, "mkstemp", mkstemp)
    big = b"\0" * (3 << 20)  # several reads' worth: all of it must be read past

    async def scenario(client, worker, loader):
        refused = [
            await client.call({"command": "transcribe", "model": "base", "options": {"beam_size": 99}}, big),
            await client.call({"command": "transcribe"}, big),
            await client.call({"command": "detect_language", "model": 7}, b"x"),
        ]
        refused_spooled = list(spooled)
        accepted = await client.call({"command": "transcribe", "model": "base"}, wav(1))
        return refused, refused_spooled, accepted

    refused, refused_spooled, accepted = run_served(scenario)
    assert [r["error"]["code"] for r in refused] == ["bad_request"] * 3
    assert "'options.beam_size' must be at most 20 (got 99)" in refused[0]["error"]["message"]
    assert refused_spooled == []
    assert accepted["type"] == "result" and spooled == ["whisper-audio-"]


def test_an_id_already_in_flight_is_refused():
    async def scenario(client, worker, loader):
        gate = loader.model("base").gate.close()
        first = await client.send({"id": "same", "command": "transcribe", "model": "base"}, wav(1))
        await async_wait_until(gate.reached.is_set)
        await client.send({"id": "same", "command": "transcribe", "model": "base"}, wav(1))
        duplicate, _ = await client.until_final("same")  # the first cannot end while its gate is closed
        gate.open()
        final, _ = await client.until_final(first)
        return duplicate, final

    duplicate, final = run_served(scenario)
    assert duplicate["error"]["code"] == "bad_request" and "already in flight" in duplicate["error"]["message"]
    assert final["type"] == "result"


def test_polls_are_logged_only_at_debug(caplog):
    job = Job("s")
    with caplog.at_level(logging.INFO, logger="whisper_worker.requests"):
        for name in ("status", "list_models", "load_model"):
            connection.log_request(job, COMMANDS[name], 0.01, "ok")
    assert [r.getMessage().count('"command": "load_model"') for r in caplog.records] == [1]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="whisper_worker.requests"):
        connection.log_request(job, COMMANDS["status"], 0.01, "ok")
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.DEBUG


def test_hello_is_accepted_and_its_token_ignored_by_a_worker_without_one():
    async def scenario(client, worker, loader):
        return [await client.call({"command": "hello", "token": "anything"}), await client.call({"command": "hello"}),
                await client.call({"command": "status"})]

    hello, bare, status = run_served(scenario)
    assert hello["result"] == {"protocol": 1} and bare["result"] == {"protocol": 1} and status["type"] == "result"


def token_scenario(first: list[dict], audio: bytes | None = None):
    """Sends `first` (each frame in turn) to a worker with WORKER_TOKEN=s3cret; the replies until it closes."""

    async def scenario(client, worker, loader):
        for message in first:
            await client.send(message, audio if message.get("command") == "transcribe" else None)
        replies = []
        while (reply := await client.recv()) is not None:
            replies.append(reply)
        return replies

    return run_served(scenario, token="s3cret")


def test_a_worker_with_a_token_refuses_any_other_first_request_and_closes():
    for first in ([{"id": "s", "command": "status"}, {"id": "s2", "command": "status"}],
                  [{"id": "t", "command": "transcribe", "model": "base"}],
                  [{"id": "h", "command": "hello", "token": "wrong"}, {"id": "s2", "command": "status"}],
                  [{"id": "h", "command": "hello"}],
                  [{"id": "h", "command": "hello", "token": 7}]):
        replies = token_scenario(first, wav(1))
        assert [(r["id"], r["type"], r["error"]["code"]) for r in replies] == [(first[0]["id"], "error", "unauthorized")], first
        assert "WORKER_TOKEN" in replies[0]["error"]["message"] and "s3cret" not in replies[0]["error"]["message"]


def test_the_right_token_opens_the_connection():
    async def scenario(client, worker, loader):
        hello = await client.call({"command": "hello", "token": "s3cret"})
        status = await client.call({"command": "status"})
        result = await client.call({"command": "transcribe", "model": "base"}, wav(1))
        return hello, status, result

    hello, status, result = run_served(scenario, token="s3cret")
    assert hello["result"] == {"protocol": 1} and status["type"] == "result" and result["type"] == "result"


def test_refusals_are_logged_without_the_token_offered(caplog):
    with caplog.at_level(logging.WARNING, logger="whisper_worker"):
        token_scenario([{"id": "h", "command": "hello", "token": "guess-1234"}])
    assert "refused a connection from 127.0.0.1" in caplog.text and "guess-1234" not in caplog.text


def test_too_long_audio_is_refused_at_once_even_with_every_slot_busy(silence_3h, monkeypatch):
    def decoding(*args):
        raise AssertionError("the too-long file was decoded")

    async def scenario(client, worker, loader):
        gate = loader.model("base").gate.close()
        running = await client.send({"command": "transcribe", "model": "base"}, wav(1))
        await async_wait_until(gate.reached.is_set)
        monkeypatch.setattr(transcriber.decoder, "decode", decoding)
        long_id = await client.send({"command": "transcribe", "model": "base"}, silence_3h.read_bytes())
        final, events = await client.until_final(long_id)
        long = final, [e for e in events if e["id"] == long_id]
        detect = await client.call({"command": "detect_language"}, silence_3h.read_bytes())
        queued = worker.slots.queued
        gate.open()
        await client.until_final(running)
        return long, detect, queued

    (final, events), detect, queued = run_served(scenario, max_audio_seconds=3600)
    assert events == [] and queued == 0, "it never waited for a slot"
    assert final["error"]["code"] == "audio_too_long" and detect["error"]["code"] == "audio_too_long"
    assert "3:00:00" in final["error"]["message"] and "WHISPER_MAX_AUDIO_SECONDS=3600" in final["error"]["message"]


class Watched(asyncio.Event):
    """A stream's wake-up event that tells the test when the stream waits on it: the stream is resting."""

    def __init__(self) -> None:
        super().__init__()
        self.waited = asyncio.Event()

    async def wait(self) -> Literal[True]:
        self.waited.set()  # the waiter goes on into the wait below before the test runs again
        return await super().wait()


def open_fake_stream() -> tuple[Job, Stream]:
    async def send(message: dict) -> None:
        pass

    job = Job("live")
    stream = fake_worker(FakeLoader()).open_stream(job, "base", {"language": "en"}, send)
    stream._wake = Watched()
    return job, stream


def test_a_resting_stream_is_cancelled_even_when_audio_wakes_it_in_the_same_turn():
    # A client's last audio, then its connection closing: the wake and the cancel land together. On Python 3.11
    # asyncio.wait_for returned the wait's result and dropped the cancel, and the stream outlived its client.
    async def main() -> bool:
        _, stream = open_fake_stream()
        stream._slot = AsyncExitStack()  # it has decoded: it rests with a timeout, until its slot's release time
        stream._heard_at = time.monotonic()  # audio just now: the rest has a timeout (the case wait_for got wrong)
        resting = asyncio.create_task(stream._rest())
        await stream._wake.waited.wait()
        stream._wake.set()
        resting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await resting
        return resting.cancelled()

    assert asyncio.run(main())


def test_a_stream_ends_at_its_next_turn_once_its_job_is_cancelled():
    async def main() -> None:
        job, stream = open_fake_stream()
        job.task = asyncio.create_task(stream.run())
        await stream._wake.waited.wait()  # loaded, nothing to decode: it rests (not still loading, as under load)
        job.cancelled.set()  # a cancel that reached only the flag (as while a decode runs)
        stream._wake.set()
        await asyncio.wait_for(job.task, 5)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())


def test_a_stream_cancelled_mid_decode_keeps_its_slot_until_the_decode_ends_then_ends_cancelled():
    gate = Gate().close()

    def decode_live(model, step, task):
        gate.wait()
        return Decoded("and mister john", "en")

    async def scenario(client, worker, loader):
        worker.decode_live = decode_live
        stream = await client.send({"id": "live", "command": "stream", "model": "base", "options": {"turn_detection": None}})
        await client.call({"command": "stream_audio", "stream": stream}, bytes(32000))  # 1 s: an utterance to decode
        await async_wait_until(gate.reached.is_set, what="the decode to start")
        # Every reply, in order, until the cancel's then a status's: no final for the stream while its decode runs.
        replies: list[dict] = []
        for request in ({"command": "cancel", "target": stream}, {"command": "status"}):
            sent = await client.send(request)
            replies.append(await client.recv())
            while replies[-1]["id"] != sent:
                replies.append(await client.recv())
        gate.open()
        if [r for r in replies if r["id"] == stream and r["type"] in ("result", "error")]:
            return replies, None, None  # it ended while its decode ran: the assertions below say so
        async with asyncio.timeout(30):  # a stream that ignored the cancel would rest forever
            final, _ = await client.until_final(stream)
        after = await client.call({"command": "status"})
        return replies, final, after["result"]

    replies, final, after = run_served(scenario)
    assert [r["result"] for r in replies if r["type"] == "result" and "cancelled" in r["result"]] == [{"cancelled": True}]
    assert not [r for r in replies if r["id"] == "live" and r["type"] in ("result", "error")], "it ended while its decode ran"
    assert replies[-1]["result"]["running"] == 1, "the slot stays the stream's while its decode runs"
    assert final["error"]["code"] == "cancelled"
    assert (after["running"], after["queued"]) == (0, 0)


@contextlib.asynccontextmanager
async def serving(worker, monkeypatch):
    """The worker's whole server, as `python -m whisper_worker` runs it (the idle sweeper too); yields its port."""
    servers = []

    async def listen(w):
        servers.append(await real_listen(w))
        return servers[-1]

    real_listen = tcp.listen
    monkeypatch.setattr(tcp, "listen", listen)
    running = asyncio.create_task(tcp.serve(worker))
    await async_wait_until(lambda: servers, what="the server to listen")
    try:
        yield servers[0].sockets[0].getsockname()[1]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def test_the_idle_sweeper_outlives_a_failed_unload_and_logs_it(monkeypatch, caplog):
    async def main() -> list[list[str]]:
        worker = fake_worker(FakeLoader(), model_idle_seconds=0.05)  # swept every 0.2 s
        drop, failed = worker.cache._drop, []

        def unload_failing_once(name: str) -> None:
            if not failed:
                failed.append(name)
                raise RuntimeError("the unload failed")
            drop(name)

        worker.cache._drop = unload_failing_once
        async with serving(worker, monkeypatch) as port, await AsyncClient.connect(port) as client:
            await client.call({"command": "load_model", "model": "base"})

            async def loaded() -> list[str]:
                status = await client.call({"command": "status"})
                return [m["name"] for m in status["result"]["models"]]

            seen = [await loaded()]
            while seen[-1] and len(seen) < 500:  # the next sweep after the failed one unloads it
                await asyncio.sleep(0.02)
                seen.append(await loaded())
            return seen

    with caplog.at_level(logging.ERROR, logger="whisper_worker"):
        seen = asyncio.run(main())
    assert seen[0] == ["base"] and seen[-1] == [], f"the model was never unloaded: {seen[-3:]}"
    failures = [r for r in caplog.records if r.exc_info and "the unload failed" in str(r.exc_info[1])]
    assert [r.name for r in failures] == ["whisper_worker.models"], caplog.text


def test_a_request_task_that_fails_past_its_reply_is_logged_by_its_owner_and_the_server_goes_on(monkeypatch, caplog):
    def log_request(job, command, wall, outcome):
        if job.id == "doomed":
            raise RuntimeError("the request log broke")

    monkeypatch.setattr(connection, "log_request", log_request)

    async def scenario(client, worker, loader):
        # The task ends just after its reply is written; its done callback runs before the loop reads the next request.
        return await client.call({"id": "doomed", "command": "status"}), await client.call({"command": "status"})

    with caplog.at_level(logging.ERROR, logger="whisper_worker"):
        doomed, after = run_served(scenario)
        # An unowned task's failure surfaces only when it is collected: here, not in the middle of pytest's report.
        gc.collect()
    assert doomed["type"] == "result" and after["type"] == "result"
    logged = [(r.name, r.getMessage()) for r in caplog.records if r.exc_info and "the request log broke" in str(r.exc_info[1])]
    assert logged == [("whisper_worker", "request 'doomed' (status) failed: RuntimeError('the request log broke')")], caplog.text


def test_a_fault_in_reading_a_request_closes_that_connection_with_internal_and_the_server_goes_on(monkeypatch, caplog):
    def validate_request(message, in_flight=()):
        raise KeyError("a bug")

    async def scenario(client, worker, loader):
        monkeypatch.setattr(connection, "validate_request", validate_request)
        await client.send({"id": "a", "command": "status"})
        replies = []
        while (reply := await client.recv()) is not None:
            replies.append(reply)
        monkeypatch.undo()
        async with await AsyncClient.connect(client.writer.get_extra_info("peername")[1]) as other:
            return replies, await other.call({"command": "status"})

    with caplog.at_level(logging.ERROR, logger="whisper_worker"):
        replies, status = run_served(scenario)
    assert [r["error"]["code"] for r in replies] == ["internal"] and "log" in replies[0]["error"]["message"]
    assert status["type"] == "result"
    assert any(r.name == "whisper_worker" and r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records), caplog.text


def test_a_stream_whose_decode_fails_ends_with_internal_frees_its_slot_and_the_connection_goes_on(caplog):
    def decode_live(model, step, task):
        raise RuntimeError("the decoder broke")

    async def scenario(client, worker, loader):
        worker.decode_live = decode_live
        stream = await client.send({"command": "stream", "model": "base", "options": {"turn_detection": None}})
        await client.send({"command": "stream_audio", "stream": stream}, bytes(32000))
        final, _ = await client.until_final(stream)
        audio = await client.call({"command": "stream_audio", "stream": stream}, bytes(3200))
        return final, audio, (await client.call({"command": "status"}))["result"]

    with caplog.at_level(logging.ERROR, logger="whisper_worker"):
        final, audio, status = run_served(scenario)
    assert final["error"]["code"] == "internal" and "the decoder broke" not in final["error"]["message"]
    assert audio["error"]["code"] == "bad_request", "the stream is gone, not half alive"
    assert status["running"] == 0 and "the decoder broke" in caplog.text
