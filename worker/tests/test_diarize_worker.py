"""Who said what, through the real worker over TCP: real speech of three real people (Debian's pocketsphinx test
data: a LibriVox reader, the speaker of cards/, the speaker of the an4/tidigits clips), put together as a talk.

What is asserted holds on any CPU: which voice each stretch of words is given to (under the best mapping of
labels to voices, at least 85 % of the words' time), the number of speakers, the names of known voices, and the
errors; never exact times or words.
"""

from __future__ import annotations

import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from whisper_worker.protocol.frames import encode_frame

from client import Client
from conftest import LIBRIVOX

DATA = LIBRIVOX.parent
READER = [LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-0{n}.wav" for n in (870, 880, 890)]
CARDS = [DATA / "cards" / f"00{n}.wav" for n in (1, 2, 3, 4)]
DIGITS = [DATA / "goforward.raw", DATA / "numbers.raw", DATA / "something.raw"]
# Each turn: a voice and its clips (0.2 s apart); turns 0.6 s apart.
TALK = [
    ("reader", READER[:1]), ("cards", CARDS[:3]), ("reader", READER[1:2]), ("digits", DIGITS[:2]),
    ("cards", CARDS[3:]), ("reader", READER[2:]), ("digits", DIGITS[2:]),
]


@dataclass(frozen=True)
class Talk:
    audio: bytes
    turns: list[tuple[float, float, str]]  # each clip's span and its voice


def _wav(source: Path, target: Path) -> Path:
    raw = ["-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1"] if source.suffix == ".raw" else []
    subprocess.run(["sox", *raw, str(source), "-r", "16000", "-c", "1", "-b", "16", str(target)], check=True)
    return target


def _seconds(path: Path) -> float:
    return float(subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True).stdout)


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> Talk:
    folder = tmp_path_factory.mktemp("talk")
    parts: list[Path] = []
    turns: list[tuple[float, float, str]] = []
    at = 0.0
    for t, (voice, clips) in enumerate(TALK):
        for c, clip in enumerate(clips):
            gap = 0.6 if t and not c else 0.2 if c else 0.0
            if gap:
                pause = folder / f"pause-{len(parts)}.wav"
                subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(pause), "trim", "0", str(gap)], check=True)
                parts.append(pause)
                at += gap
            wav = _wav(clip, folder / f"{len(parts)}.wav")
            length = _seconds(wav)
            parts.append(wav)
            turns.append((at, at + length, voice))
            at += length
    out = folder / "talk.wav"
    subprocess.run(["sox", *map(str, parts), str(out)], check=True)
    return Talk(out.read_bytes(), turns)


Replies = tuple[dict[str, Any], list[dict[str, Any]]]


def transcribe(client: Client, audio: bytes, diarization: dict[str, Any], references: tuple[bytes, ...] = ()) -> Replies:
    options = {"language": "en", "word_timestamps": True, "diarization": diarization}
    request_id = client.send({"id": "d", "command": "transcribe", "model": "tiny.en", "options": options}, audio)
    for reference in references:
        client.send_raw(encode_frame(reference))
    return client.until_final(request_id)


def voice_accuracy(talk: Talk, result: dict[str, Any]) -> float:
    """The share of the words' time given to the right voice, under the best one-to-one mapping of labels to voices."""
    spans: list[tuple[float, str, str]] = []  # (seconds, voice, label)
    for segment in result["segments"]:
        for word in segment["words"]:
            middle = (word["start"] + word["end"]) / 2
            voice = next((v for start, end, v in talk.turns if start - 0.3 <= middle <= end + 0.3), None)
            if voice is not None:
                spans.append((word["end"] - word["start"], voice, word["speaker"]))
    labels = sorted({label for _, _, label in spans})
    voices = sorted({voice for _, voice, _ in spans})
    total = sum(s for s, _, _ in spans)
    best = 0.0
    for chosen in itertools.permutations(labels, min(len(labels), len(voices))):
        mapping = dict(zip(chosen, voices, strict=False))
        best = max(best, sum(s for s, voice, label in spans if mapping.get(label) == voice))
    return best / total


def test_three_voices_found_and_every_word_given_to_its_speaker(worker, talk):
    with Client(worker.port) as client:
        reply, events = transcribe(client, talk.audio, {})
    assert reply["type"] == "result", reply
    result = reply["result"]
    assert [s["id"] for s in result["speakers"]] == ["A", "B", "C"]
    assert all(s["seconds"] > 1 for s in result["speakers"])
    assert voice_accuracy(talk, result) >= 0.85
    for segment in result["segments"]:
        # A segment never holds two speakers' words: it was split where the speaker changed.
        assert {w["speaker"] for w in segment["words"]} <= {segment["speaker"]}
    assert [s["id"] for s in result["segments"]] == list(range(len(result["segments"])))
    assert result["timing"]["diarize_seconds"] > 0
    # The segments sent as they were decoded are the result's, with their speakers; info named them first.
    sent = [e["segment"] for e in events if e["type"] == "segment"]
    assert sent == result["segments"]
    info = next(e for e in events if e["type"] == "info")
    assert info["speakers"] == result["speakers"]


@pytest.mark.parametrize(("diarization", "expected"), [
    ({"num_speakers": 2}, {2}),
    ({"max_speakers": 2}, {1, 2}),
    ({"min_speakers": 3, "max_speakers": 3}, {3}),
    ({"max_speakers": 1}, {1}),
])
def test_the_number_of_speakers_is_kept_as_asked(worker, talk, diarization, expected):
    with Client(worker.port) as client:
        reply, _ = transcribe(client, talk.audio, diarization)
    assert len(reply["result"]["speakers"]) in expected, reply["result"]["speakers"]


def test_known_voices_are_named_and_the_others_keep_a_letter(worker, talk, tmp_path):
    reader = (LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0930.wav").read_bytes()  # not in the talk
    cards = _wav(DATA / "cards" / "005.wav", tmp_path / "cards.wav").read_bytes()  # not in the talk
    known = {"known_speakers": [{"name": "Reader"}, {"name": "Cards"}]}
    with Client(worker.port) as client:
        reply, _ = transcribe(client, talk.audio, known, (reader, cards))
    result = reply["result"]
    names = {s["id"]: s["name"] for s in result["speakers"]}
    unnamed = [i for i, n in names.items() if n == i]
    assert len(names) == 3 and set(names.values()) == {"Reader", "Cards", *unnamed} and len(unnamed) == 1
    by_voice: dict[str, dict[str, float]] = {}
    for segment in result["segments"]:
        for word in segment["words"]:
            middle = (word["start"] + word["end"]) / 2
            voice = next((v for start, end, v in talk.turns if start <= middle <= end), None)
            if voice:
                share = by_voice.setdefault(voice, {})
                share[names[word["speaker"]]] = share.get(names[word["speaker"]], 0) + word["end"] - word["start"]
    assert max(by_voice["reader"], key=by_voice["reader"].__getitem__) == "Reader"
    assert max(by_voice["cards"], key=by_voice["cards"].__getitem__) == "Cards"


def test_bad_speaker_options_are_refused_by_field_and_the_connection_stays_in_step(worker, talk, tmp_path):
    short = _wav(DATA / "cards" / "001.wav", tmp_path / "short.wav")
    half = tmp_path / "half.wav"
    subprocess.run(["sox", str(short), str(half), "trim", "0", "0.5"], check=True)
    with Client(worker.port) as client:
        reply, _ = transcribe(client, talk.audio, {"min_speakers": 4, "max_speakers": 2})
        assert reply["error"]["code"] == "bad_request"
        assert "options.diarization.min_speakers" in reply["error"]["message"]
        reply, _ = transcribe(client, talk.audio, {"known_speakers": [{"name": "X"}]}, (b"not audio at all",))
        assert reply["error"]["code"] == "undecodable_audio"
        assert "known_speakers[0]" in reply["error"]["message"]
        two = {"known_speakers": [{"name": "X"}, {"name": "Y"}]}
        reply, _ = transcribe(client, talk.audio, two, (short.read_bytes(), half.read_bytes()))
        assert reply["error"]["code"] == "bad_request"
        assert "known_speakers[1]" in reply["error"]["message"] and "0.5" in reply["error"]["message"]
        # A request refused by the schema still has its reference frames read: the next request is understood.
        reply, _ = transcribe(client, talk.audio, {"known_speakers": [{"name": ""}]}, (short.read_bytes(),))
        assert reply["error"]["code"] == "bad_request"
        assert client.call({"id": "s", "command": "status"})["type"] == "result"


def test_a_worker_without_the_speaker_models_says_so(make_worker, talk, tmp_path):
    w = make_worker(WHISPER_DIARIZATION_MODELS=str(tmp_path / "nowhere"))
    with Client(w.port) as client:
        reply, _ = transcribe(client, talk.audio, {})
        assert reply["error"]["code"] == "model_unavailable"
        assert "make models" in reply["error"]["message"]
        plain = client.call({"id": "p", "command": "transcribe", "model": "tiny.en"}, talk.audio)
    assert plain["type"] == "result" and "speakers" not in plain["result"]
