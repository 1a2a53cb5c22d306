"""Live streams through the real server (protocol §4, Live streams): real speech, real weights, a real socket."""

from __future__ import annotations

import threading
import time

import pytest

from client import Client
from conftest import LIBRIVOX, librivox_references, pcm16, wait_until, wer, words

RATE = 24000
FRAME = RATE // 10 * 2  # bytes of 100 ms
CLIP = "sense_and_sensibility_01_austen_64kb-0870"


@pytest.fixture(scope="module")
def speech() -> bytes:
    return pcm16(LIBRIVOX / f"{CLIP}.wav", RATE)


def open_stream(client: Client, model: str = "tiny.en", **options) -> str:
    return client.send({"command": "stream", "model": model, "options": {"language": "en", "sample_rate": RATE, **options}})


def feed(client: Client, stream: str, audio: bytes, pace: float | None = None) -> None:
    """Sends audio in 100 ms frames, at real-time pace when `pace` is 1."""
    start = time.monotonic()
    for n, offset in enumerate(range(0, len(audio), FRAME)):
        if pace:
            time.sleep(max(0.0, start + n * 0.1 * pace - time.monotonic()))
        client.send({"command": "stream_audio", "stream": stream}, audio[offset : offset + FRAME])


def replies_of(events: list[dict], stream: str, kind: str) -> list[dict]:
    return [e for e in events if e["id"] == stream and e["type"] == kind]


def test_speech_at_real_time_pace_gives_deltas_before_it_ends_then_a_final(worker, speech):
    with Client(worker.port) as client:
        stream = open_stream(client)
        silence = bytes(RATE * 2)

        def talk() -> None:
            feed(client, stream, speech + silence, pace=1)
            client.send({"command": "stream_close", "stream": stream})

        sender = threading.Thread(target=talk)
        sender.start()
        final, events = client.until_final(stream)
        sender.join()
        closed = client.recv()  # stream_close answers after the stream's own result
    assert closed is not None and closed["result"] == {"closed": True}
    assert final["type"] == "result" and final["result"]["items"] == 1, final
    assert abs(final["result"]["audio_ms"] - (len(speech) + len(silence)) * 1000 // (2 * RATE)) <= 1
    order = [e["type"] for e in events if e["id"] == stream and e["type"] != "slot"]
    assert order[0] == "speech_started" and order[-1] == "final", order
    mine = [e for e in events if e["id"] == stream and e["type"] != "slot"]
    stopped = order.index("speech_stopped")
    early = [e for e in mine[:stopped] if e["type"] == "delta" and e["text"].strip()]
    assert early, "confirmed text came while the speaker was still talking"
    (text,) = [e["text"] for e in replies_of(events, stream, "final")]
    assert wer([librivox_references()[CLIP]], [text]) < 0.35, text
    received = [e["result"]["received_ms"] for e in events if e["type"] == "result" and "received_ms" in e["result"]]
    assert received == sorted(received) and received[-1] == final["result"]["audio_ms"]


def test_commit_answers_once_its_final_is_out_and_clear_drops_audio(worker, speech):
    with Client(worker.port) as client:
        stream = open_stream(client, turn_detection=None)
        assert client.call({"command": "stream_commit", "stream": stream})["result"] == {"item": None}
        feed(client, stream, speech[: 3 * RATE * 2])
        commit = client.send({"command": "stream_commit", "stream": stream})
        reply, events = client.until_final(commit)
        assert reply["result"] == {"item": 0}
        (final,) = replies_of(events, stream, "final")
        assert final["item"] == 0 and {"mister", "mr", "john"} & set(words(final["text"])), final
        feed(client, stream, speech[3 * RATE * 2 : 4 * RATE * 2])
        assert client.call({"command": "stream_clear", "stream": stream})["result"] == {"cleared_ms": 1000}
        assert client.call({"command": "stream_close", "stream": stream})["result"] == {"closed": True}


def test_bad_requests_get_an_error_and_the_stream_goes_on(worker, speech):
    with Client(worker.port) as client:
        stream = open_stream(client)
        unknown = client.call({"command": "stream_audio", "stream": "nope"}, speech[:FRAME])
        assert unknown["error"]["code"] == "bad_request" and "'nope'" in unknown["error"]["message"]
        odd = client.call({"command": "stream_audio", "stream": stream}, speech[:101])
        assert odd["error"]["code"] == "bad_request" and "odd" in odd["error"]["message"]
        assert client.call({"command": "stream_commit", "stream": "nope"})["error"]["code"] == "bad_request"
        assert client.call({"command": "stream_audio", "stream": stream}, speech[:FRAME])["result"] == {"received_ms": 100}
        assert client.call({"command": "stream", "model": "no-such-model"})["error"]["code"] == "unknown_model"
        assert client.call({"command": "stream_close", "stream": stream})["result"] == {"closed": True}


def test_a_frame_over_the_limit_closes_the_connection(make_worker, speech):
    w = make_worker(WHISPER_MAX_JSON_FRAME="4096")
    with Client(w.port) as client:
        stream = open_stream(client)
        reply = client.call({"command": "stream_audio", "stream": stream}, speech[:8192])
        assert reply["error"]["code"] == "too_large"
        assert client.recv() is None or client.recv() is None


def test_a_client_that_disconnects_frees_its_slot_and_files_flow_beside_a_stream(worker, speech, clips):
    def status() -> dict:
        with Client(worker.port) as c:
            return c.call({"command": "status"})["result"]

    client = Client(worker.port)
    stream = open_stream(client)
    feed(client, stream, speech[: 2 * RATE * 2])
    # Its own `slot` event, not a poll of status: the slot goes back 3 s after the last audio, a window a poll on a
    # loaded machine can miss.
    while (reply := client.recv()) is not None and not (reply["id"] == stream and reply["type"] == "slot"):
        pass
    assert reply is not None and reply["held"] is True
    with Client(worker.port) as other:  # the other slot still runs files
        reply = other.call({"command": "transcribe", "model": "tiny.en", "options": {"language": "en"}}, clips[CLIP])
        assert reply["type"] == "result" and "dashwood" in reply["result"]["text"].lower()
    client.close()
    wait_until(lambda: status()["running"] == 0, timeout=30, what="the slot to be freed")


def test_a_silent_stream_gives_its_slot_back_and_takes_one_again(worker, speech):
    with Client(worker.port) as client:
        stream = open_stream(client)
        feed(client, stream, speech[: 3 * RATE * 2] + bytes(4 * RATE * 2))
        slots = []
        while len(slots) < 2:
            reply = client.recv()
            assert reply is not None
            if reply["type"] == "slot":
                slots.append(reply["held"])
        assert slots == [True, False]
        feed(client, stream, speech[: 2 * RATE * 2])
        while (reply := client.recv()) is not None and reply["type"] != "slot":
            pass
        assert reply is not None and reply["held"] is True
        client.send({"command": "cancel", "target": stream})
        final, _ = client.until_final(stream)
        assert final["error"]["code"] == "cancelled"


def test_a_client_that_stops_sending_mid_sentence_gives_the_slot_back_and_close_still_gets_the_final(worker, speech):
    with Client(worker.port, timeout=30) as client:  # the slot goes back 3 s after the last audio: fail soon, not hang
        stream = open_stream(client)
        feed(client, stream, speech[: 3 * RATE * 2])  # the sentence goes on past these 3 s, and then no more audio comes
        events: list[dict] = []
        while [e["held"] for e in events if e["type"] == "slot"] != [True, False]:
            reply = client.recv()
            assert reply is not None
            events.append(reply)
            assert reply["type"] != "final", "no final before the speaker is done or the stream closes"
        assert not replies_of(events, stream, "speech_stopped"), "the slot went back mid-utterance, on the missing audio alone"
        client.send({"command": "stream_close", "stream": stream})
        final, rest = client.until_final(stream)
    assert final["type"] == "result" and final["result"]["items"] == 1, final
    assert [e["held"] for e in rest if e["type"] == "slot"] == [True, False], "the final took a slot again, and gave it back"
    (text,) = [e["text"] for e in replies_of(rest, stream, "final")]
    assert {"john", "dashwood"} & set(words(text)), f"the first 3 s say 'and mister john dashwood': {text}"


class Ledger:
    """A stream's replies, kept as they come: its utterances, their finals, and the audio it holds without a final
    as of each stream_audio result (from the oldest utterance without one, or 2 s back, to the audio received)."""

    def __init__(self, stream: str):
        self.stream = stream
        self.started: dict[int, int] = {}
        self.stopped: set[int] = set()
        self.finals: dict[int, str] = {}
        self.held_ms: list[int] = []
        self.refused: list[str] = []

    @property
    def waiting(self) -> set[int]:
        """Utterances that ended and whose final has not come yet."""
        return self.stopped - set(self.finals)

    def read(self, reply: dict | None) -> dict:
        assert reply is not None, "the worker closed the connection"
        kind = reply["type"]
        if reply["id"] == self.stream:
            assert kind != "error", reply
            if kind == "speech_started":
                self.started[reply["item"]] = reply["audio_start_ms"]
            elif kind == "speech_stopped":
                self.stopped.add(reply["item"])
            elif kind == "final":
                self.finals[reply["item"]] = reply["text"]
        elif kind == "result" and "received_ms" in reply["result"]:
            received = reply["result"]["received_ms"]
            without_final = [start for item, start in self.started.items() if item not in self.finals]
            self.held_ms.append(received - min([*without_final, received - 2000]))
        elif kind == "error":
            assert reply["error"]["code"] == "buffer_full", reply
            self.refused.append(reply["error"]["message"])
        return reply

    def talk(self, client: Client, audio: bytes) -> None:
        """Sends `audio` in 100 ms frames, each once the last was answered; every one must be taken."""
        for offset in range(0, len(audio), FRAME):
            sent = client.send({"command": "stream_audio", "stream": self.stream}, audio[offset : offset + FRAME])
            while (reply := self.read(client.recv()))["id"] != sent:
                pass
            assert reply["type"] == "result", f"a frame refused after the stream caught up: {reply}"

    def catch_up(self, client: Client) -> None:
        while self.waiting:
            self.read(client.recv())


def test_a_client_faster_than_real_time_gets_buffer_full_and_the_stream_takes_audio_again(make_worker, speech):
    limit = 30  # seconds: the least the worker accepts, so that a short flood reaches it
    w = make_worker(WHISPER_LIVE_MAX_BUFFERED_SECONDS=str(limit))
    second = RATE * 2  # bytes
    flood = [(speech * 20)[offset : offset + second] for offset in range(0, len(speech) * 20, second)]  # 142 s in 1 s frames
    with Client(w.port) as client:
        stream = open_stream(client)
        ledger = Ledger(stream)
        sender = threading.Thread(target=lambda: [client.send({"command": "stream_audio", "stream": stream}, f) for f in flood])
        sender.start()  # as fast as the socket takes it: the replies are read meanwhile, below
        while len(ledger.held_ms) + len(ledger.refused) < len(flood):
            ledger.read(client.recv())
        sender.join()
        assert ledger.refused, "no frame was refused: the worker buffered all of the flood"
        assert f"WHISPER_LIVE_MAX_BUFFERED_SECONDS={limit}" in ledger.refused[0]
        # What the worker holds without a final, as its own replies tell it, never went past the limit (the resampler
        # may hold back a few milliseconds of what received_ms counts).
        assert max(ledger.held_ms) <= limit * 1000 + 50, max(ledger.held_ms)

        # The client pauses: once the finals are out, the stream takes audio again, and still transcribes it.
        ledger.catch_up(client)
        ledger.talk(client, bytes(2 * second))  # ends the utterance the flood left open
        ledger.catch_up(client)
        before = max(ledger.started)
        # Another sentence: after the flood's, Whisper takes the repeated words for the prompt's and leaves them out.
        ledger.talk(client, pcm16(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0920.wav", RATE) + bytes(2 * second))
        client.send({"command": "stream_close", "stream": stream})
        while not ((reply := ledger.read(client.recv()))["id"] == stream and reply["type"] == "result"):
            pass
    after = " ".join(text for item, text in sorted(ledger.finals.items()) if item > before)
    assert {"married", "woman", "respectable"} & set(words(after)), f"'had he married a more amiable woman…': {after}"
