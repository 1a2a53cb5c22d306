"""Speakers onto a transcription as it is decoded: each segment, as it comes, split where the speaker changes and
labelled, its ids continuing across segments, so that the segments sent one by one are the result's segments.

The diarization runs before decoding (it is the short part), which is what lets every segment leave the worker
with its speaker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whisper_worker.engine.diarize.assign import assign
from whisper_worker.engine.diarize.pipeline import Diarization


class Labeller:
    def __init__(self, diarization: Diarization, keep_words: bool) -> None:
        self.diarization = diarization
        self.keep_words = keep_words  # words were decoded for the speakers; sent only when the client asked
        self.segments: list[dict[str, Any]] = []

    def label(self, segment: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The segment, split at each change of speaker, with `speaker` on it and on its words."""
        pieces, _ = assign([segment], self.diarization.turns, self.diarization.names)
        for piece in pieces:
            piece["id"] = len(self.segments)
            if not self.keep_words:
                piece.pop("words", None)
            self.segments.append(piece)
        return pieces

    def speakers(self) -> list[dict[str, Any]]:
        """`[{"id", "name", "seconds"}]`, everyone who was heard, in order of first speech."""
        _, found = assign([], self.diarization.turns, self.diarization.names)
        return found

    def finish(self, result: dict[str, Any]) -> dict[str, Any]:
        """The transcription's result with the labelled segments and the speakers."""
        return {**result, "segments": self.segments, "speakers": self.speakers()}
