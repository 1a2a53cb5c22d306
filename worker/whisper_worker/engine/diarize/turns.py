"""Who speaks when, on one timeline: the chunks' local speakers, labelled with global speakers, laid back together.

As pyannote's `reconstruct` and `to_diarization` do it: chunks overlap, so each frame of the timeline is seen
by several chunks. How many speakers talk in a frame is the segmentation's own count, averaged over those chunks
and rounded; which ones are the speakers with the highest activity averaged the same way. Counting first keeps
a speaker that only one of the overlapping chunks heard from leaking into the timeline.
Then the timeline is tidied into turns: a speaker's short pauses are bridged, and blips too short to be speech
are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from whisper_worker.engine.diarize.activity import LocalActivity

Bools = npt.NDArray[np.bool_]

ACTIVE = 0.5  # a local speaker's probability from which it counts as speaking
MIN_GAP = 0.5  # seconds: a speaker's pause shorter than this, with nobody else speaking in it, is no break
MIN_TURN = 0.2  # seconds: shorter turns are segmentation noise, not words


@dataclass(frozen=True)
class Turn:
    start: float  # seconds
    end: float
    speaker: int  # global speaker: the cluster label


def timeline(activity: LocalActivity, labels: npt.ArrayLike) -> Bools:
    """Which global speakers are active in which frame: frames x speakers. Frame i starts at i * frame_step.

    `labels[c, j]` is the global speaker of local speaker j in chunk c, or negative where it has none (not
    heard enough to be embedded): such a speaker still counts in the frame's number of speakers."""
    probabilities = np.asarray(activity.probabilities, dtype=np.float64)
    chunks, frames, local = probabilities.shape
    labels = np.asarray(labels, dtype=np.int64).reshape(chunks, local)
    speakers = int(labels.max(initial=-1)) + 1
    # Chunk starts are rounded to the frame grid: they are whole steps apart in practice, and pyannote rounds too.
    offsets = np.rint(np.asarray(activity.chunk_starts, dtype=np.float64) / activity.frame_step).astype(np.int64)
    total = int(offsets.max(initial=0)) + frames if chunks else 0
    seen = np.zeros(total)
    count = np.zeros(total)
    score = np.zeros((total, speakers))
    speaking = probabilities > ACTIVE
    local_count = speaking.sum(axis=2)
    # Below ACTIVE a local speaker is silent, so it cannot fill a place in the count that another one made.
    probabilities = np.where(speaking, probabilities, 0.0)
    for c in range(chunks):
        span = slice(offsets[c], offsets[c] + frames)
        seen[span] += 1
        count[span] += local_count[c]
        # Two local speakers of one chunk with one global label are one speaker: the louder one counts.
        clustered = np.zeros((frames, speakers))
        for j, speaker in enumerate(labels[c]):
            if speaker >= 0:
                clustered[:, speaker] = np.maximum(clustered[:, speaker], probabilities[c, :, j])
        score[span] += clustered
    seen = np.maximum(seen, 1)
    count = np.rint(count / seen).astype(np.int64)
    score /= seen[:, None]
    rank = np.argsort(np.argsort(-score, axis=1, kind="stable"), axis=1, kind="stable")
    active: Bools = (rank < count[:, None]) & (score > 0)
    return active


def turns(
    activity: LocalActivity,
    labels: npt.ArrayLike,
    *,
    duration: float | None = None,
    min_gap: float = MIN_GAP,
    min_turn: float = MIN_TURN,
) -> list[Turn]:
    """The turns of each global speaker, sorted by start; turns of different speakers may overlap.
    `duration` (seconds of audio) cuts off what the last chunk's padding made up."""
    return to_turns(timeline(activity, labels), activity.frame_step, activity.frame_duration, duration, min_gap, min_turn)


# A frame's count is the chunks' mean count rounded up from .3, not .5: the chunks at a turn's edge see only part
# of it, and rounding half their votes away cut speech and overlap short (measured on bench/diarization's set: DER at
# ±0.25 s 9.4 % with .5, 8.5 % with .3; .2 lets in more false alarm than it finds).
COUNT_FROM = 0.3


def frame_counts(activity: LocalActivity) -> npt.NDArray[np.int64]:
    """How many speakers talk in each frame of the timeline: the segmentation's own count, averaged over the chunks
    that see the frame, rounded up from COUNT_FROM."""
    speaking = np.asarray(activity.probabilities) > ACTIVE
    chunks, frames, _ = speaking.shape
    offsets = np.rint(np.asarray(activity.chunk_starts, dtype=np.float64) / activity.frame_step).astype(np.int64)
    total = int(offsets.max(initial=0)) + frames if chunks else 0
    seen = np.zeros(total)
    count = np.zeros(total)
    for c in range(chunks):
        seen[offsets[c] : offsets[c] + frames] += 1
        count[offsets[c] : offsets[c] + frames] += speaking[c].sum(axis=1)
    counts: npt.NDArray[np.int64] = np.floor(count / np.maximum(seen, 1) + 1 - COUNT_FROM).astype(np.int64)
    return counts


def to_turns(
    active: Bools, step: float, frame_duration: float, duration: float | None = None,
    min_gap: float = MIN_GAP, min_turn: float = MIN_TURN,
) -> list[Turn]:
    """Turns from a frames x speakers timeline, tidied: short pauses of a speaker bridged, blips dropped."""
    active = active.copy()
    gap, shortest = int(round(min_gap / step)), int(round(min_turn / step))
    # Bridge, drop, bridge: a blip of another speaker inside a pause keeps the pause open until it is dropped.
    _bridge(active, gap)
    _drop(active, shortest)
    _bridge(active, gap)
    found = []
    for speaker in range(active.shape[1]):
        for first, stop in _runs(active[:, speaker]):
            # A frame's time is its middle, and a run ends where the first silent frame's middle is (pyannote).
            start = first * step + frame_duration / 2
            end = stop * step + frame_duration / 2
            if duration is not None:
                end = min(end, duration)
            if end > start:
                found.append(Turn(round(start, 3), round(end, 3), speaker))
    return sorted(found, key=lambda t: (t.start, t.speaker))


def _runs(track: Bools) -> list[tuple[int, int]]:
    """(first, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], track.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _bridge(active: Bools, gap: int) -> None:
    for speaker in range(active.shape[1]):
        others = np.delete(active, speaker, axis=1).sum(axis=1) > 0
        runs = _runs(active[:, speaker])
        for (_, stop), (first, _) in zip(runs, runs[1:], strict=False):
            if first - stop < gap and not others[stop:first].any():
                active[stop:first, speaker] = True


def _drop(active: Bools, shortest: int) -> None:
    for speaker in range(active.shape[1]):
        for first, stop in _runs(active[:, speaker]):
            if stop - first < shortest:
                active[first:stop, speaker] = False
