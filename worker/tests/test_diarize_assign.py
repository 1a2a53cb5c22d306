"""Words and segments get their speakers; a segment spanning a change of speaker is split there."""

from __future__ import annotations

from typing import Any

from whisper_worker.engine.diarize.assign import assign
from whisper_worker.engine.diarize.turns import Turn


def word(text: str, start: float, end: float) -> dict[str, Any]:
    return {"start": start, "end": end, "word": text, "probability": 0.9}


def segment(index: int, words: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    """As transcriber.segment_dict makes them."""
    return {
        "id": index,
        "seek": 0,
        "start": words[0]["start"],
        "end": words[-1]["end"],
        "text": "".join(w["word"] for w in words),
        "tokens": [50364, 1, 2, 3],
        "temperature": 0.0,
        "avg_logprob": -0.2,
        "compression_ratio": 1.1,
        "no_speech_prob": 0.01,
        "words": words,
        **more,
    }


def spoken(segments: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(w["word"], w["speaker"]) for s in segments for w in s["words"]]


def test_each_word_goes_to_the_turn_it_overlaps_most() -> None:
    turns = [Turn(0.0, 1.05, 7), Turn(1.05, 3.0, 2)]
    segments = [segment(0, [word(" Hello", 0.0, 0.5), word(" there", 0.6, 1.2), word(" friend.", 1.3, 1.9)])]
    out, speakers = assign(segments, turns)
    # " there" is 0.45 s in speaker 7's turn and 0.15 s in speaker 2's
    assert spoken(out) == [(" Hello", "A"), (" there", "A"), (" friend.", "B")]
    assert [s["speaker"] for s in out] == ["A", "B"]
    assert speakers == [{"id": "A", "name": "A", "seconds": 1.05}, {"id": "B", "name": "B", "seconds": 1.95}]


def test_a_segment_is_split_where_the_speaker_changes_and_the_parts_take_their_words() -> None:
    turns = [Turn(0.0, 2.0, 0), Turn(2.0, 3.0, 1), Turn(3.0, 5.0, 0)]
    words = [word(" How", 0.2, 0.5), word(" are", 0.5, 0.8), word(" you?", 0.8, 1.6), word(" Fine.", 2.1, 2.8), word(" Good", 3.2, 3.6)]
    first = segment(0, words[:4])
    second = segment(1, words[4:])
    out, _ = assign([first, second], turns)
    assert [(s["id"], s["speaker"], s["start"], s["end"], s["text"]) for s in out] == [
        (0, "A", 0.2, 1.6, " How are you?"),
        (1, "B", 2.1, 2.8, " Fine."),
        (2, "A", 3.2, 3.6, " Good"),
    ]
    assert [len(s["words"]) for s in out] == [3, 1, 1]
    # the decoding window's scores stay with each part; the tokens of the whole cannot, and a whole segment keeps them
    assert out[0]["avg_logprob"] == -0.2 and out[0]["seek"] == 0 and out[0]["tokens"] == [] == out[1]["tokens"]
    assert out[2]["tokens"] == [50364, 1, 2, 3]
    assert "speaker" not in first and "speaker" not in first["words"][0]  # the input is left alone


def test_a_word_in_a_pause_goes_to_the_nearest_turn() -> None:
    turns = [Turn(0.0, 1.0, 0), Turn(3.0, 4.0, 1)]
    segments = [segment(0, [word(" um", 1.2, 1.4), word(" so", 2.6, 2.8)]), segment(1, [word(" late", 4.5, 4.9)])]
    out, _ = assign(segments, turns)
    assert spoken(out) == [(" um", "A"), (" so", "B"), (" late", "B")]


def test_a_word_of_no_length_inside_a_turn_belongs_to_it() -> None:
    out, _ = assign([segment(0, [word(" a", 0.5, 0.5), word(" b", 2.5, 2.5)])], [Turn(0.0, 1.0, 0), Turn(2.0, 3.0, 1)])
    assert spoken(out) == [(" a", "A"), (" b", "B")]


def test_in_overlapping_speech_the_word_goes_to_whoever_covers_more_of_it_and_on_a_tie_stays_with_the_speaker() -> None:
    # B talks over A from 1.0 to 2.0; both cover the words there entirely.
    turns = [Turn(0.0, 2.0, 0), Turn(1.0, 3.0, 1)]
    words = [word(" I", 0.2, 0.4), word(" think", 1.2, 1.5), word(" that", 1.6, 1.9), word(" no,", 2.1, 2.5)]
    out, speakers = assign([segment(0, words)], turns)
    assert spoken(out) == [(" I", "A"), (" think", "A"), (" that", "A"), (" no,", "B")]
    assert [s["seconds"] for s in speakers] == [2.0, 2.0]
    # a sentence that starts in the overlap belongs to whoever was talking first
    out, _ = assign([segment(0, [word(" Yes", 1.3, 1.6)])], turns)
    assert spoken(out) == [(" Yes", "A")]


def test_letters_follow_first_speech_and_known_names_replace_them() -> None:
    turns = [Turn(5.0, 6.0, 0), Turn(0.0, 1.0, 3), Turn(2.0, 3.0, 1), Turn(7.0, 8.0, 3)]
    segments = [segment(0, [word(" x", 0.2, 0.4)]), segment(1, [word(" y", 2.2, 2.4)]), segment(2, [word(" z", 5.2, 5.4)])]
    out, speakers = assign(segments, turns, names={1: "Alice"})
    assert [s["speaker"] for s in out] == ["A", "B", "C"]
    assert speakers == [
        {"id": "A", "name": "A", "seconds": 2.0},
        {"id": "B", "name": "Alice", "seconds": 1.0},
        {"id": "C", "name": "C", "seconds": 1.0},
    ]


def test_seconds_count_overlapping_turns_of_one_speaker_once() -> None:
    _, speakers = assign([], [Turn(0.0, 2.0, 0), Turn(1.0, 3.0, 0), Turn(5.0, 5.5, 0)])
    assert speakers == [{"id": "A", "name": "A", "seconds": 3.5}]


def test_segments_without_words_are_labelled_whole_and_never_split() -> None:
    turns = [Turn(0.0, 1.8, 0), Turn(1.8, 6.0, 1)]
    plain = [
        {"id": 4, "start": 0.0, "end": 2.0, "text": " One two.", "tokens": [1]},
        {"id": 9, "start": 2.0, "end": 5.0, "text": " Three."},
    ]
    out, _ = assign(plain, turns)
    assert [(s["id"], s["speaker"], s["text"], s.get("tokens")) for s in out] == [
        (0, "A", " One two.", [1]),
        (1, "B", " Three.", None),
    ]
    empty = {**plain[0], "words": []}
    assert assign([empty], turns)[0][0]["speaker"] == "A"


def test_with_no_turns_nobody_is_known_to_speak() -> None:
    out, speakers = assign([segment(0, [word(" hi", 0.0, 0.3)])], [])
    assert speakers == [] and out[0]["speaker"] is None and out[0]["words"][0]["speaker"] is None


def test_speakers_past_z_get_two_letters() -> None:
    turns = [Turn(float(i), i + 0.5, i) for i in range(28)]
    _, speakers = assign([], turns)
    assert [s["id"] for s in speakers][24:] == ["Y", "Z", "AA", "AB"]


def test_thousands_of_words_against_thousands_of_turns_take_no_time() -> None:
    import time

    turns = [Turn(i * 1.0, i * 1.0 + 0.9, i % 3) for i in range(3600)]
    segments = [segment(i, [word(f" w{j}", i * 1.0 + j * 0.2, i * 1.0 + j * 0.2 + 0.15) for j in range(4)]) for i in range(3600)]
    began = time.monotonic()
    out, speakers = assign(segments, turns)
    assert time.monotonic() - began < 10
    assert len(out) == 3600 and len(speakers) == 3
