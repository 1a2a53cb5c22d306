"""The protocol against the live server: bad frames, multiplexing, cancel, disconnects, load."""

import socket
import struct
import subprocess
import threading

import pytest

from whisper_worker.protocol.frames import encode_frame, encode_json

from client import Client
from conftest import wait_until, words

SHORT = "sense_and_sensibility_01_austen_64kb-0880"


def assert_closed(client: Client) -> None:
    assert client.recv() is None, "the worker should have closed this connection"


def assert_alive(worker) -> None:
    with Client(worker.port) as other:
        assert other.call({"command": "status"})["type"] == "result"


def test_status_shape(worker):
    with Client(worker.port) as client:
        status = client.call({"command": "status"})["result"]
    assert (status["version"], status["protocol"], status["slots"], status["queue_limit"]) == ("0.1.0", 1, 2, 4)
    assert status["device"] in ("cpu", "cuda") and status["cpu_threads"] >= 1
    assert status["running"] == 0 and status["queued"] == 0
    assert status["memory"]["rss_bytes"] > 50 << 20
    if status["device"] == "cpu":
        assert status["memory"]["gpu_used_bytes"] is None and status["memory"]["gpu_total_bytes"] is None
    assert status["limits"] == {"max_json_frame": 1 << 20, "max_audio_frame": 2 << 30}


def test_not_json_closes_only_that_connection(worker):
    with Client(worker.port) as client:
        client.send_raw(encode_frame(b"{oops"))
        reply = client.recv()
        assert reply["id"] is None and reply["error"]["code"] == "bad_frame"
        assert_closed(client)
    assert_alive(worker)


def test_json_that_is_not_an_object(worker):
    with Client(worker.port) as client:
        client.send_raw(encode_frame(b"[1,2,3]"))
        assert client.recv()["error"]["code"] == "bad_frame"
        assert_closed(client)


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
                         ids=["lists", "objects"])
def test_json_nested_too_deeply_is_a_bad_frame_not_a_dropped_connection(worker, body):
    with Client(worker.port) as client:
        client.send_raw(encode_frame(body))
        reply = client.recv()
        assert reply is not None, "the worker dropped the connection without a reply"
        assert reply["id"] is None and reply["error"]["code"] == "bad_frame"
        assert "nested too deeply" in reply["error"]["message"]
        assert_closed(client)
    assert_alive(worker)


def test_oversized_json_frame_is_refused_before_the_body(worker):
    with Client(worker.port) as client:
        client.send_raw(struct.pack(">Q", 50 * 1024 * 1024))  # header only: the body never comes
        reply = client.recv()
        assert reply["error"]["code"] == "too_large"
        assert_closed(client)
    assert_alive(worker)


def test_oversized_audio_frame(make_worker):
    w = make_worker(WHISPER_MAX_AUDIO_FRAME="1000")
    with Client(w.port) as client:
        client.send_raw(encode_json({"id": "big", "command": "transcribe", "model": "tiny.en"}) + struct.pack(">Q", 1001))
        reply = client.recv()
        assert reply == {"id": "big", "type": "error", "error": reply["error"]}
        assert reply["error"]["code"] == "too_large" and "1000" in reply["error"]["message"]
        assert_closed(client)
    assert_alive(w)


def test_truncated_frame_then_close(worker):
    with Client(worker.port, timeout=30) as client:
        client.send_raw(struct.pack(">Q", 100) + b'{"id":')
        client.sock.shutdown(socket.SHUT_WR)
        reply = client.recv()
        # `truncated` is no error code of the protocol: the client hears a bad frame, and why.
        assert reply["error"]["code"] == "bad_frame" and "truncated" in reply["error"]["message"]
        assert_closed(client)
    assert_alive(worker)


def test_request_errors_keep_the_connection(worker, clips):
    with Client(worker.port) as client:
        unknown = client.call({"command": "dance"})["error"]
        assert unknown["code"] == "unknown_command" and "transcribe, detect_language" in unknown["message"]
        assert client.call({"command": "transcribe"}, b"abc")["error"] == {"code": "bad_request", "message": "'model' is required"}
        client.send({"id": "", "command": "status"})
        empty_id = client.recv()  # no id that could be read: the schema's ErrorReply wants null, not ""
        assert (empty_id["id"], empty_id["error"]["code"]) == (None, "bad_request")
        beam = client.call({"command": "transcribe", "model": "tiny.en", "options": {"beam_size": 0}}, b"x")["error"]
        assert beam == {"code": "bad_request", "message": "'options.beam_size' must be at least 1 (got 0)"}
        language = client.call({"command": "transcribe", "model": "tiny.en", "options": {"language": "xx"}}, b"x")["error"]
        assert language["code"] == "bad_request" and language["message"].startswith("'options.language': 'xx' is not a language")
        extra = client.call({"command": "status", "extra": 1})["error"]
        assert extra == {"code": "bad_request", "message": "unknown field 'extra' for status; accepted: id, command"}
        assert client.call({"command": "status"})["type"] == "result"


def test_a_refused_request_with_a_large_audio_frame_keeps_the_connection_in_step(worker):
    with Client(worker.port) as client:
        refused = client.call({"command": "transcribe", "model": "tiny.en", "options": {"beam": 1}}, b"\1" * (5 << 20))
        assert refused["error"]["code"] == "bad_request" and "'options.beam'" in refused["error"]["message"]
        assert client.call({"command": "status"})["type"] == "result"


def test_status_polls_are_not_logged_at_info(worker):
    with Client(worker.port) as client:
        client.call({"id": "poll-status", "command": "status"})
        client.call({"id": "poll-models", "command": "list_models"})
        client.call({"id": "after-polls", "command": "unload_model", "model": "medium"})
    wait_until(lambda: worker.requests("unload_model"), what="the unload_model log line")
    logged = {line["id"] for line in worker.lines() if line.get("event") == "request"}
    assert "after-polls" in logged and not {"poll-status", "poll-models"} & logged


def test_undecodable_audio(worker, clips):
    wav = clips[SHORT]
    with Client(worker.port) as client:
        for audio in (b"", b"this is a text file, not audio\n" * 10, wav[:60]):
            reply = client.call({"command": "transcribe", "model": "tiny.en"}, audio)
            assert reply["error"]["code"] == "undecodable_audio", reply
            assert "/tmp/" not in reply["error"]["message"]


def test_two_requests_multiplexed_on_one_connection(worker, clips):
    with Client(worker.port) as client:
        first = client.send({"id": "a", "command": "transcribe", "model": "tiny.en"}, clips["sense_and_sensibility_01_austen_64kb-0870"])
        second = client.send({"id": "b", "command": "transcribe", "model": "tiny.en"}, clips[SHORT])
        finals = {}
        while len(finals) < 2:
            reply = client.recv()
            assert reply["id"] in (first, second)
            if reply["type"] == "result":
                finals[reply["id"]] = reply["result"]["text"].lower()
    assert "dashwood" in words(finals["a"]) and "man" in words(finals["b"])  # one clear word each


def test_cancel_running_and_queued(make_worker, long_clip):
    w = make_worker(WHISPER_SLOTS="1")
    with Client(w.port) as client:
        client.send({"id": "run", "command": "transcribe", "model": "tiny.en"}, long_clip)
        client.send({"id": "wait", "command": "transcribe", "model": "tiny.en"}, long_clip)
        seen = {}
        while "run" not in seen or "wait" not in seen:
            reply = client.recv()
            seen.setdefault(reply["id"], reply["type"])
        assert seen == {"run": "info", "wait": "queued"}
        finals = {}
        for target in ("wait", "run"):
            reply, events = client.until_final(client.send({"command": "cancel", "target": target}))
            assert reply["result"] == {"cancelled": True}
            finals.update({e["id"]: e for e in events if e["type"] == "error"})
        while len(finals) < 2:
            reply = client.recv()
            if reply["type"] in ("result", "error"):
                finals[reply["id"]] = reply
        assert {r["error"]["code"] for r in finals.values()} == {"cancelled"}
        assert client.call({"command": "cancel", "target": "run"})["result"] == {"cancelled": False}
        status = client.call({"command": "status"})["result"]
        assert status["running"] == 0 and status["queued"] == 0


@pytest.fixture(scope="module")
def two_windows(tmp_path_factory, long_clip) -> bytes:
    """The five clips twice (~49 s): two 30 s windows, one after the other when decoded sequentially."""
    folder = tmp_path_factory.mktemp("two-windows")
    (folder / "long.wav").write_bytes(long_clip)
    subprocess.run(["sox", folder / "long.wav", folder / "long.wav", folder / "two.wav"], check=True)
    return (folder / "two.wav").read_bytes()


def test_disconnect_mid_transcription_frees_the_slot(make_worker, two_windows, clips):
    w = make_worker(WHISPER_SLOTS="1")
    client = Client(w.port)
    # Sequentially, the second window is still to decode when the first one's segments arrive: the close lands
    # mid-transcription however slowly this client runs, not in the moment the last segments take to send.
    client.send({"id": "gone", "command": "transcribe", "model": "tiny.en", "options": {"batch_size": 0}}, two_windows)
    while client.recv()["type"] != "segment":
        pass
    client.close()
    with Client(w.port) as next_client:
        reply = next_client.call({"id": "next", "command": "transcribe", "model": "tiny.en"}, clips[SHORT])
        assert reply["type"] == "result"
    # The log line is written just after the reply.
    lines = wait_until(lambda: len(w.requests("transcribe")) == 2 and w.requests("transcribe"), what="two log lines")
    assert {line["id"]: line["outcome"] for line in lines} == {"gone": "cancelled", "next": "ok"}


def test_many_clients_at_once(worker, clips):
    results, errors = {}, []

    def one(n: int) -> None:
        try:
            with Client(worker.port) as client:
                assert client.call({"command": "status"})["type"] == "result"
                reply = client.call({"command": "transcribe", "model": "tiny.en"}, clips[SHORT])
                results[n] = reply
        except Exception as e:  # collected: an assert in a thread would be lost
            errors.append(e)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors
    codes = [r["type"] if r["type"] == "result" else r["error"]["code"] for r in results.values()]
    # 2 slots + a queue of 4: six run, the rest are told the worker is overloaded.
    assert len(codes) == 8 and set(codes) <= {"result", "overloaded"} and codes.count("result") >= 6
    for reply in results.values():
        if reply["type"] == "result":
            assert "man" in words(reply["result"]["text"])


def test_audio_files_are_always_deleted(make_worker, tmp_path, clips, long_clip):
    spool = tmp_path / "spool"
    spool.mkdir()
    w = make_worker(TMPDIR=str(spool), WHISPER_SLOTS="1")
    with Client(w.port) as client:
        assert client.call({"command": "transcribe", "model": "tiny.en"}, clips[SHORT])["type"] == "result"
        assert client.call({"command": "transcribe", "model": "tiny.en"}, b"not audio")["error"]["code"] == "undecodable_audio"
        assert client.call({"command": "transcribe"}, b"no model named")["error"]["code"] == "bad_request"
    for n in range(3):  # closed right after the request: one running, two queued
        gone = Client(w.port)
        gone.send({"id": f"gone{n}", "command": "transcribe", "model": "tiny.en"}, long_clip)
        gone.close()
    lines = wait_until(lambda: len(w.requests("transcribe")) == 5 and w.requests("transcribe"), timeout=120, what="five log lines")
    assert sorted(line["outcome"] for line in lines) == ["cancelled"] * 3 + ["ok", "undecodable_audio"]
    assert [p.name for p in spool.iterdir() if p.name.startswith("whisper-audio-")] == []


def test_worker_token_over_tcp(make_worker):
    w = make_worker(WORKER_TOKEN="s3cret")
    for first in ({"id": "first", "command": "status"}, {"id": "first", "command": "hello", "token": "guess-1234"}):
        with Client(w.port) as client:
            reply = client.call(first)
            assert (reply["id"], reply["error"]["code"]) == ("first", "unauthorized"), reply
            assert_closed(client)
    with Client(w.port) as client:
        assert client.call({"command": "hello", "token": "s3cret"})["result"] == {"protocol": 1}
        assert client.call({"command": "status"})["type"] == "result"
    log = w.log.read_text()
    assert log.count("refused a connection from 127.0.0.1") == 2 and "guess-1234" not in log


def test_three_hours_of_audio_over_the_limit_is_refused_before_decoding(make_worker, silence_3h):
    w = make_worker(WHISPER_MAX_AUDIO_SECONDS="3600")
    with Client(w.port) as client:
        reply = client.call({"id": "long", "command": "transcribe", "model": "tiny.en"}, silence_3h.read_bytes())
    assert reply["error"]["code"] == "audio_too_long"
    assert "3:00:00 long (10800 s)" in reply["error"]["message"] and "WHISPER_MAX_AUDIO_SECONDS=3600" in reply["error"]["message"]
    [line] = wait_until(lambda: w.requests("transcribe"), what="the request's log line")
    # Decoding it would take about 37 s of CPU and 2.7 GB; the refusal reads only the FLAC header.
    print(f"audio_too_long for 3 h of FLAC after {line['wall_seconds']} s of worker time")
    assert line["outcome"] == "audio_too_long"
