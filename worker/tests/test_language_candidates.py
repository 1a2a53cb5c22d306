"""options.language_candidates: the language detected among a few only, through the real server and model.

espeak-ng German and the LibriVox English clip. Assertions hold on any CPU: the German is 15 s of speech that base
detects with a wide margin, and for English among two wrong candidates only membership is asserted, never which.
"""

import json

import pytest

from whisper_worker.engine.options import language_candidates, transcribe_kwargs

from client import Client
from conftest import LIBRIVOX, ROOT, speak

SPEECH = json.loads((ROOT / "test-support" / "speech.json").read_text())
ENGLISH = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"


def transcribe(port: int, audio: bytes, model: str = "base", **options: object) -> dict:
    with Client(port) as client:
        return client.call({"command": "transcribe", "model": model, "options": options}, audio)


def test_candidates_are_no_faster_whisper_argument_and_a_set_language_wins():
    # test_same_text hands transcribe_kwargs to faster-whisper as they are: the option must not reach it.
    kwargs, _ = transcribe_kwargs({"language_candidates": ["de", "fr"]})
    assert "language_candidates" not in kwargs and kwargs["language"] is None
    assert language_candidates({"language_candidates": ["de", "fr"]}) == ("de", "fr")
    assert language_candidates({"language": "en", "language_candidates": ["de", "fr"]}) == ()
    assert language_candidates({}) == () and language_candidates({"language_candidates": None}) == ()


@pytest.mark.parametrize("candidates", [["de", "fr"], ["fr", "de"]])
def test_german_among_german_and_french(worker, tmp_path, candidates):
    audio = speak(tmp_path, "de", SPEECH["de"]["text"])
    reply = transcribe(worker.port, audio, language_candidates=candidates)
    assert reply["type"] == "result", reply
    result = reply["result"]
    assert result["language"] == "de"
    assert 0.5 < result["language_probability"] <= 1  # the detected probability, not the 1 of a language set outright


def test_english_is_held_to_the_candidates(worker):
    audio = ENGLISH.read_bytes()
    free = transcribe(worker.port, audio)["result"]
    assert free["language"] == "en"  # the control: unrestricted, it is English
    reply = transcribe(worker.port, audio, language_candidates=["de", "fr"])
    assert reply["type"] == "result", reply
    result = reply["result"]
    assert result["language"] in {"de", "fr"}
    assert 0 <= result["language_probability"] < free["language_probability"]


def test_a_set_language_ignores_the_candidates(worker, tmp_path):
    audio = speak(tmp_path, "de", SPEECH["de"]["text"])
    result = transcribe(worker.port, audio, language="es", language_candidates=["de", "fr"])["result"]
    assert result["language"] == "es"


def test_english_only_model(worker):
    audio = ENGLISH.read_bytes()
    result = transcribe(worker.port, audio, model="tiny.en", language_candidates=["de", "en"])["result"]
    assert result["language"] == "en"
    refused = transcribe(worker.port, audio, model="tiny.en", language_candidates=["de", "fr"])
    assert refused["type"] == "error" and refused["error"]["code"] == "bad_request"
    assert "language_candidates" in refused["error"]["message"]


def test_unknown_candidate_is_refused(worker):
    reply = transcribe(worker.port, ENGLISH.read_bytes(), language_candidates=["de", "xx"])
    assert reply["type"] == "error" and reply["error"]["code"] == "bad_request"
    assert "language_candidates" in reply["error"]["message"]
