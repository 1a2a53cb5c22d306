"""Each word its speaker, each segment one speaker: the transcript and the diarization brought together.

A word belongs to the speaker whose turns overlap it most; a word in a pause (or of no length) to the nearest
turn. When two speakers are equally likely (both talking over the word) the previous word's speaker keeps it,
since a sentence rarely changes hands in the middle. Whisper's segments follow pauses, not speakers, so a
segment whose words change speaker is split there: the parts take their times and text from their words.
Speakers are named A, B, C... in order of first speech (AA, AB... after Z), unless known.py named them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from whisper_worker.engine.diarize.turns import Turn

TIE = 1e-6  # seconds of overlap or distance that make no difference


def assign(
    segments: Sequence[Mapping[str, Any]], turns: Sequence[Turn], names: Mapping[int, str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The segments (new dicts, renumbered) with `speaker` on each segment and word, and the speakers:
    `[{"id": "A", "name": "A", "seconds": 12.3}]`, `name` from `names` (cluster label -> name) where given.

    Segments without words are labelled as a whole. With no turns at all nobody is known to speak: speakers
    are None and the list is empty."""
    ordered = sorted(turns, key=lambda t: (t.start, t.speaker))
    letters = {speaker: _letter(i) for i, speaker in enumerate(dict.fromkeys(t.speaker for t in ordered))}
    pick = _Picker(ordered)
    out: list[dict[str, Any]] = []
    previous: int | None = None
    for segment in segments:
        words = segment.get("words") or []
        if not words:
            previous = pick(float(segment["start"]), float(segment["end"]), previous)
            out.append({**segment, "speaker": _name(letters, previous)})
            continue
        labelled = []
        for word in words:
            previous = pick(float(word["start"]), float(word["end"]), previous)
            labelled.append({**word, "speaker": _name(letters, previous)})
        out += _split(segment, labelled)
    for i, segment in enumerate(out):
        segment["id"] = i
    speakers = [
        {"id": letter, "name": (names or {}).get(speaker, letter), "seconds": _seconds(ordered, speaker)}
        for speaker, letter in letters.items()
    ]
    return out, speakers


def _split(segment: Mapping[str, Any], words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runs: list[list[dict[str, Any]]] = []
    for word in words:
        if runs and runs[-1][-1]["speaker"] == word["speaker"]:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [{**segment, "words": words, "speaker": words[0]["speaker"]}]
    # Segment-level scores (avg_logprob...) describe the whole decoding window and stay; tokens cannot be split
    # without the tokenizer, and repeated on each part they would claim text the part does not have.
    return [
        {
            **segment,
            "start": run[0]["start"],
            "end": run[-1]["end"],
            "text": "".join(str(w["word"]) for w in run),
            "tokens": [],
            "words": run,
            "speaker": run[0]["speaker"],
        }
        for run in runs
    ]


class _Picker:
    """The speaker of a span of time, from turns held as arrays: a transcript has thousands of words."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.starts = np.array([t.start for t in turns], dtype=np.float64)
        self.ends = np.array([t.end for t in turns], dtype=np.float64)
        self.speakers = np.array([t.speaker for t in turns], dtype=np.int64)
        self.count = int(self.speakers.max(initial=-1)) + 1

    def __call__(self, start: float, end: float, previous: int | None) -> int | None:
        if not self.count:
            return None
        overlap = np.maximum(np.minimum(end, self.ends) - np.maximum(start, self.starts), 0.0)
        by_speaker = np.bincount(self.speakers, weights=overlap, minlength=self.count)
        if by_speaker.max() > TIE:
            near = (overlap > TIE) & (by_speaker[self.speakers] >= by_speaker.max() - TIE)
        else:
            distance = np.maximum(np.maximum(self.starts - end, start - self.ends), 0.0)
            near = distance <= distance.min() + TIE
        if previous is not None and previous in self.speakers[near]:
            return previous
        # Otherwise whoever started first: the one interrupted keeps the word. Turns are sorted by start.
        return int(self.speakers[np.flatnonzero(near)[0]])


def _name(letters: Mapping[int, str], speaker: int | None) -> str | None:
    return None if speaker is None else letters[speaker]


def _letter(index: int) -> str:
    """A, B, ... Z, AA, AB, ...: spreadsheet columns."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _seconds(turns: Sequence[Turn], speaker: int) -> float:
    """How long the speaker talks: the union of their turns, which may overlap."""
    total, reach = 0.0, -np.inf
    for turn in turns:  # sorted by start
        if turn.speaker != speaker:
            continue
        total += max(turn.end - max(turn.start, reach), 0.0)
        reach = max(reach, turn.end)
    return round(total, 3)
