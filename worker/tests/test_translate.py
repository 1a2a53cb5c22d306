"""Other languages (espeak-ng speech) translated to English, and language detection.

Synthetic speech decoded with int8 kernels differs a little from CPU to CPU, and
temperature fallback samples: so these tests assert what holds everywhere (the
detected language of 15 s of speech, and that the English holds one of a few
content words), never an exact phrase.
"""

import json

import pytest

from client import Client
from conftest import ROOT, speak, words

SPEECH = json.loads((ROOT / "test-support" / "speech.json").read_text())


@pytest.mark.parametrize("language", ["de", "es"])
def test_translate_to_english(worker, tmp_path, language):
    sample = SPEECH[language]
    audio = speak(tmp_path, language, sample["text"])
    with Client(worker.port) as client:
        reply = client.call({"command": "transcribe", "model": "base", "options": {"task": "translate"}}, audio)
        detected = client.call({"command": "detect_language", "model": "base"}, audio)
    result = reply["result"]
    assert set(words(result["text"])) & set(sample["english"]), result["text"]
    assert result["language"] == language and result["task"] == "translate"
    assert detected["result"]["language"] == language
    assert detected["result"]["languages"][0][0] == language
