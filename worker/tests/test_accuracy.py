"""Real speech, real weights, through the real server: word error rate on LibriVox."""

import subprocess

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from client import Client
from conftest import LIBRIVOX, wait_until

MAX_WER = 0.15


def test_librivox_wer_with_base(worker, clips, references):
    normalise = EnglishTextNormalizer()
    hypotheses, truths = [], []
    with Client(worker.port) as client:
        for name, audio in clips.items():
            reply = client.call({"command": "transcribe", "model": "base", "options": {"language": "en"}}, audio)
            assert reply["type"] == "result", reply
            hypotheses.append(normalise(reply["result"]["text"]))
            truths.append(normalise(references[name]))
    wer = jiwer.wer(truths, hypotheses)
    print(f"\nLibriVox WER with base over {len(clips)} clips: {wer:.2%}")
    assert len(clips) == 5
    assert wer <= MAX_WER, list(zip(truths, hypotheses, strict=True))


def test_result_shape_and_streamed_events(worker, clips):
    audio = clips["sense_and_sensibility_01_austen_64kb-0870"]
    with Client(worker.port) as client:
        reply, events = client.until_final(
            client.send({"command": "transcribe", "model": "tiny.en", "options": {"word_timestamps": True}}, audio)
        )
    result = reply["result"]
    types = [e["type"] for e in events]
    assert types[0] == "info" and "segment" in types and "progress" in types
    assert events[0]["language"] == "en" and events[0]["model"] == "tiny.en"
    streamed = [e["segment"] for e in events if e["type"] == "segment"]
    assert streamed == result["segments"]
    assert "dashwood" in result["text"].lower()
    assert abs(result["duration"] - 7.1) < 0.1
    segment = result["segments"][0]
    # Beyond the schema, which the client checks for every reply: `words` is there because it was asked for.
    assert "words" in segment
    assert segment["words"] and segment["words"][0]["end"] >= segment["words"][0]["start"]
    assert set(result["timing"]) == {"queued_seconds", "load_seconds", "decode_seconds"}
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["processed"] <= progress[-1]["duration"] == result["duration"]


def test_a_recording_over_one_window_is_batched_by_default_and_as_accurate(worker, clips, references, tmp_path):
    """Two passes over the five clips (49 s): the worker's batched pipeline, then sequential decoding on request."""
    normalise = EnglishTextNormalizer()
    recording = tmp_path / "recording.wav"
    subprocess.run(["sox", *[str(LIBRIVOX / f"{name}.wav") for name in clips] * 2, str(recording)], check=True)
    truth = normalise(" ".join([references[name] for name in clips] * 2))
    errors = {}
    with Client(worker.port) as client:
        for asked in ({}, {"batch_size": 0}):
            request = {"id": f"recording-{len(errors)}", "command": "transcribe", "model": "base", "options": {"language": "en", **asked}}
            reply, events = client.until_final(client.send(request, recording.read_bytes()))
            assert reply["type"] == "result", reply
            assert [e["segment"] for e in events if e["type"] == "segment"] == reply["result"]["segments"]
            errors[len(errors)] = jiwer.wer(truth, normalise(reply["result"]["text"]))
    # A request's log line is written after its reply is sent: wait for both rather than read too early.
    def both_logged() -> dict[str, int] | None:
        found = {line["id"]: line["batch_size"] for line in worker.lines() if str(line.get("id")).startswith("recording-")}
        return found if len(found) == 2 else None

    logged = wait_until(both_logged, what="both requests' log lines")
    assert logged["recording-0"] > 1 and logged["recording-1"] == 0  # 8 on CPU, 16 on GPU
    print(f"\n49 s recording, WER batched {errors[0]:.2%}, sequential {errors[1]:.2%}")
    assert errors[0] <= MAX_WER and errors[1] <= MAX_WER
