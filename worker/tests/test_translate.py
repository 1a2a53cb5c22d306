"""Other languages (espeak-ng speech) translated to English, and language detection."""

import pytest

from client import Client
from conftest import speak

SPEECH = {
    "de": ("Guten Morgen. Ich trinke gern Kaffee mit Milch.", {"coffee", "milk"}),
    "es": ("Buenos días. Me gusta mucho el café. Mi casa es muy grande.", {"coffee", "house"}),
}


@pytest.mark.parametrize("language", sorted(SPEECH))
def test_translate_to_english(worker, tmp_path, language):
    text, expected = SPEECH[language]
    audio = speak(tmp_path, language, text)
    with Client(worker.port) as client:
        reply = client.call({"command": "transcribe", "model": "base", "options": {"task": "translate"}}, audio)
        detected = client.call({"command": "detect_language", "model": "base"}, audio)
    result = reply["result"]
    words = set(result["text"].lower().replace(".", " ").replace(",", " ").split())
    assert expected <= words, result["text"]
    assert result["language"] == language and result["task"] == "translate"
    assert detected["result"]["language"] == language
    assert detected["result"]["languages"][0][0] == language
