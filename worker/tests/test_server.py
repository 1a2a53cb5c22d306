"""The protocol against the live server: bad frames, multiplexing, cancel, disconnects, load."""

import socket
import struct
import threading
import time

from client import Client
from whisper_worker.protocol import encode_frame, encode_json

SHORT = "sense_and_sensibility_01_austen_64kb-0880"


def assert_closed(client: Client) -> None:
    assert client.recv() is None, "the worker should have closed this connection"


def assert_alive(worker) -> None:
    with Client(worker.port) as other:
        assert other.call({"command": "status"})["type"] == "result"


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
    sock = socket.create_connection(("127.0.0.1", worker.port))
    sock.sendall(struct.pack(">Q", 100) + b'{"id":')
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(30)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    sock.close()
    assert b"truncated" in data
    assert_alive(worker)


def test_request_errors_keep_the_connection(worker, clips):
    with Client(worker.port) as client:
        assert client.call({"command": "dance"})["error"]["code"] == "unknown_command"
        assert client.call({"command": "transcribe"}, b"abc")["error"]["code"] == "bad_request"
        assert client.call({"id": "", "command": "status"})["error"]["code"] == "bad_request"
        assert client.call({"command": "transcribe", "model": "tiny.en", "options": {"beam_size": 0}}, b"x")["error"]["code"] == "bad_request"
        assert client.call({"command": "transcribe", "model": "tiny.en", "options": {"language": "xx"}}, b"x")["error"]["code"] == "bad_request"
        assert client.call({"command": "status", "extra": 1})["error"]["code"] == "bad_request"
        assert client.call({"command": "status"})["type"] == "result"


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
    assert "dashwood" in finals["a"] and "young man" in finals["b"]


def test_cancel_running_and_queued(make_worker, long_clip):
    w = make_worker(WHISPER_SLOTS="1")
    with Client(w.port) as client:
        running = client.send({"id": "run", "command": "transcribe", "model": "tiny.en"}, long_clip)
        queued = client.send({"id": "wait", "command": "transcribe", "model": "tiny.en"}, long_clip)
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


def test_disconnect_mid_transcription_frees_the_slot(make_worker, long_clip, clips):
    w = make_worker(WHISPER_SLOTS="1")
    client = Client(w.port)
    client.send({"id": "gone", "command": "transcribe", "model": "tiny.en"}, long_clip)
    while client.recv()["type"] != "segment":
        pass
    client.close()
    with Client(w.port) as next_client:
        reply = next_client.call({"id": "next", "command": "transcribe", "model": "tiny.en"}, clips[SHORT])
        assert reply["type"] == "result"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the log line is written just after the reply
        outcomes = {l["id"]: l["outcome"] for l in w.lines() if l.get("command") == "transcribe"}
        if len(outcomes) == 2:
            break
        time.sleep(0.05)
    assert outcomes == {"gone": "cancelled", "next": "ok"}


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
            assert "young man" in reply["result"]["text"].lower()
