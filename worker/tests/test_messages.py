"""The command table against the schema, and the messages of refused requests."""

import pytest

from whisper_worker.errors import WorkerError
from whisper_worker.protocol import messages
from whisper_worker.server.commands import COMMANDS, audio_follows, reply_id, validate_request


def test_the_table_has_a_row_for_every_request_of_the_schema():
    requests = {branch["$ref"].rsplit("/", 1)[-1] for branch in messages.DEFINITIONS["Request"]["oneOf"]}
    assert {command.definition for command in COMMANDS.values()} == requests
    for name, command in COMMANDS.items():
        assert messages.DEFINITIONS[command.definition]["properties"]["command"] == {"const": name}
        assert command.reply_definition in messages.DEFINITIONS


def test_audio_frames_follow_transcribe_detect_language_and_stream_audio_only():
    assert {name for name, command in COMMANDS.items() if command.audio} == {"transcribe", "detect_language", "stream_audio"}
    assert audio_follows({"command": "transcribe", "options": "refused, but its audio frame comes all the same"})
    assert not audio_follows({"command": "dance"}) and not audio_follows({"command": ["transcribe"]})


@pytest.mark.parametrize(("message", "expected"), [
    ({"id": "r", "command": "transcribe", "model": "base", "options": {"beam_size": 21}},
     "'options.beam_size' must be at most 20 (got 21)"),
    ({"id": "r", "command": "transcribe", "model": "base", "options": {"language": "xx"}},
     "'options.language': 'xx' is not a language Whisper knows; use an ISO-639-1 code such as en, de, ru, or null to detect it"),
    ({"id": "r", "command": "transcribe", "model": "base", "options": {"beam": 5}}, "unknown field 'options.beam'; accepted: language, "),
    ({"id": "r", "command": "transcribe", "model": "base", "options": {"temperature": "hot"}},
     "'options.temperature' must be a number from 0 to 1 or a list (got 'hot')"),
    ({"id": "r", "command": "transcribe", "model": "base", "options": {"temperature": [0.2, 3]}},
     "'options.temperature[1]' must be at most 1 (got 3)"),
    ({"id": "r", "command": "transcribe", "model": "base", "options": {"initial_prompt": 5}},
     "'options.initial_prompt' must be a string or null (got 5)"),
    ({"id": "r", "command": "transcribe", "model": "base", "options": {"vad_parameters": {"max_speech_duration_s": 0}}},
     "'options.vad_parameters.max_speech_duration_s' must be more than 0 (got 0)"),
    ({"id": "r", "command": "status", "model": "base"}, "unknown field 'model' for status; accepted: id, command"),
    ({"id": "x" * 129, "command": "status"}, "'id' must be at most 128 characters long (got 129)"),
    ({"id": [[[["deep"]]]], "command": "status"}, "'id' must be a string (got a list)"),
])
def test_a_refusal_names_the_field_and_what_it_accepts(message, expected):
    with pytest.raises(WorkerError) as refused:
        validate_request(message)
    assert refused.value.code == "bad_request"
    assert refused.value.message.startswith(expected)


def test_an_error_reply_carries_the_id_only_when_it_is_a_valid_one():
    assert reply_id({"id": "r1"}) == "r1"
    assert reply_id({"id": ""}) is None and reply_id({"id": "x" * 129}) is None and reply_id({"id": 7}) is None
    assert reply_id({}) is None


def test_an_id_in_flight_is_refused():
    with pytest.raises(WorkerError, match="already in flight"):
        validate_request({"id": "r1", "command": "status"}, in_flight={"r1"})
