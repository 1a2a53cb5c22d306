"""Decoding options: schema defaults, and the table that maps them onto faster-whisper's arguments."""

import inspect

import pytest
from faster_whisper import WhisperModel

from whisper_worker.engine.options import (
    DEFAULT_TEMPERATURES,
    DEFAULTS,
    FASTER_WHISPER,
    diarization_options,
    reference_frames,
    transcribe_kwargs,
    tuned,
)
from whisper_worker.errors import WorkerError
from whisper_worker.protocol import messages


def test_defaults_are_the_schemas():
    options = messages.DEFINITIONS["TranscribeOptions"]["properties"]
    assert {name: spec["default"] for name, spec in options.items()} == DEFAULTS
    kwargs, batch_size = transcribe_kwargs({})
    assert batch_size is None  # the worker's choice
    assert transcribe_kwargs({"batch_size": 0})[1] == 0
    assert kwargs == {
        "language": None, "task": "transcribe", "beam_size": 5, "best_of": 5, "patience": 1,
        "temperature": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "initial_prompt": None, "hotwords": None, "prefix": None,
        "vad_filter": True, "vad_parameters": None, "word_timestamps": False, "condition_on_previous_text": True,
        "no_speech_threshold": 0.6, "log_prob_threshold": -1, "compression_ratio_threshold": 2.4,
    }


def test_every_option_has_a_row_and_every_row_is_a_faster_whisper_argument():
    # batch_size picks the pipeline, diarization is a stage of its own, and language_candidates picks the language
    # before decoding (transcriber.py): none is an argument of faster-whisper's.
    assert set(FASTER_WHISPER) | {"batch_size", "diarization", "language_candidates"} == set(DEFAULTS)
    accepted = inspect.signature(WhisperModel.transcribe).parameters
    assert {kwarg for kwarg, _ in FASTER_WHISPER.values()} <= set(accepted)


@pytest.mark.parametrize(("given", "expected"), [
    (0, DEFAULT_TEMPERATURES), ([0], DEFAULT_TEMPERATURES), (0.3, (0.3,)), ([0, 0.5], (0.0, 0.5)), (1, (1.0,)),
])
def test_temperature_a_lone_zero_keeps_the_fallback(given, expected):
    assert transcribe_kwargs({"temperature": given})[0]["temperature"] == expected


def test_given_options_override_the_defaults():
    vad = {"threshold": 0.4}
    kwargs, batch_size = transcribe_kwargs({"language": "de", "task": "translate", "beam_size": 2, "initial_prompt": "",
                                            "hotwords": "Dashwood", "vad_parameters": vad, "batch_size": 16})
    assert (kwargs["language"], kwargs["task"], kwargs["beam_size"], batch_size) == ("de", "translate", 2, 16)
    assert kwargs["initial_prompt"] is None and kwargs["hotwords"] == "Dashwood"
    # A copy: the batched pipeline edits the dict it is given.
    assert kwargs["vad_parameters"] == vad and kwargs["vad_parameters"] is not vad
    assert "batch_size" not in kwargs


def test_speaker_bounds_the_schema_cannot_see_are_refused_by_field():
    assert diarization_options({}) is None
    asked = diarization_options({"diarization": {"min_speakers": 2, "known_speakers": [{"name": "Host"}]}})
    assert asked is not None and asked.count.least == 2 and asked.names == ("Host",)
    with pytest.raises(WorkerError, match="'options.diarization.min_speakers' \\(5\\) is more than 'max_speakers' \\(2\\)"):
        diarization_options({"diarization": {"min_speakers": 5, "max_speakers": 2}})
    with pytest.raises(WorkerError, match="'options.diarization.num_speakers' \\(1\\) is outside"):
        diarization_options({"diarization": {"num_speakers": 1, "min_speakers": 2}})


def test_reference_frames_are_counted_from_the_request_as_it_came():
    assert reference_frames({"options": {"diarization": {"known_speakers": [{"name": "a"}, {}]}}}) == 2
    assert reference_frames({"options": {"diarization": {"known_speakers": "x"}}}) == 0
    assert reference_frames({"options": "nonsense"}) == 0


def test_the_request_log_names_the_options_set_away_from_their_defaults_and_no_user_text():
    assert tuned({}) == {}
    assert tuned({"beam_size": DEFAULTS["beam_size"], "language": "de", "task": "translate"}) == {}
    vad = {"threshold": 0.9}
    asked = {"condition_on_previous_text": False, "hotwords": "Dashwood", "vad_parameters": vad, "diarization": {"num_speakers": 2}}
    assert tuned(asked) == {"condition_on_previous_text": False, "hotwords": "8 chars", "vad_parameters": vad}
