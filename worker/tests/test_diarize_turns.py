"""The global timeline from overlapping chunks of local speakers, and the turns made of it."""

from __future__ import annotations

import numpy as np
import pytest

from whisper_worker.engine.diarize.activity import LocalActivity
from whisper_worker.engine.diarize.turns import Turn, timeline, turns

STEP = 0.1  # seconds a frame; frames last as long, so a frame's middle is 0.05 s after its start
HALF = STEP / 2


def track(length: float, *spans: tuple[float, float]) -> np.ndarray:
    """A speaker's frames (STEP each) over `length` seconds, active within the spans."""
    frames = np.zeros(int(round(length / STEP)), dtype=bool)
    for start, end in spans:
        frames[int(round(start / STEP)) : int(round(end / STEP))] = True
    return frames


def chunked(truth: list[np.ndarray], chunk: float = 5.0, step: float = 2.5, seed: int = 0) -> tuple[LocalActivity, np.ndarray]:
    """What a perfect segmentation would say of the truth: per chunk, each speaker heard in it in a local slot of
    its own (in shuffled order, as local slots mean nothing), and the labels that map the slots back."""
    rng = np.random.default_rng(seed)
    frames, total = int(round(chunk / STEP)), len(truth[0])
    starts = np.arange(0.0, max(total * STEP - chunk, 0.0) + step / 2, step)
    probabilities = np.full((len(starts), frames, 3), 0.02)
    labels = np.full((len(starts), 3), -1)
    for c, start in enumerate(starts):
        first = int(round(start / STEP))
        heard = [s for s in range(len(truth)) if truth[s][first : first + frames].any()]
        for slot, speaker in zip(rng.permutation(3), heard, strict=False):
            piece = truth[speaker][first : first + frames]
            probabilities[c, : len(piece), slot] = np.where(piece, 0.95, 0.02)
            labels[c, slot] = speaker
    return LocalActivity(probabilities, starts, chunk, STEP, STEP), labels


def spans(found: list[Turn]) -> list[tuple[float, float, int]]:
    return [(t.start, t.end, t.speaker) for t in found]


def at(*expected: tuple[float, float, int]) -> list[tuple[float, float, int]]:
    """Expected turns, rounded as turns are."""
    return [(round(start, 3), round(end, 3), speaker) for start, end, speaker in expected]


def test_speakers_in_shuffled_local_slots_come_back_as_their_turns() -> None:
    truth = [track(12.0, (0.0, 3.0), (7.0, 9.0)), track(12.0, (3.5, 6.5)), track(12.0, (9.5, 11.5))]
    activity, labels = chunked(truth)
    assert spans(turns(activity, labels)) == at(
        (0.0 + HALF, 3.0 + HALF, 0),
        (3.5 + HALF, 6.5 + HALF, 1),
        (7.0 + HALF, 9.0 + HALF, 0),
        (9.5 + HALF, 11.5 + HALF, 2),
    )
    assert np.array_equal(timeline(activity, labels)[:120], np.stack(truth, axis=1))


def test_overlapping_speech_gives_overlapping_turns() -> None:
    truth = [track(10.0, (0.0, 6.0)), track(10.0, (4.0, 9.0))]
    activity, labels = chunked(truth)
    assert spans(turns(activity, labels)) == at((0.0 + HALF, 6.0 + HALF, 0), (4.0 + HALF, 9.0 + HALF, 1))


def test_a_speaker_only_one_of_three_overlapping_chunks_hears_is_left_out() -> None:
    truth = [track(9.0, (0.0, 9.0))]
    activity, labels = chunked(truth, chunk=3.0, step=1.0)
    probabilities = activity.probabilities.copy()
    probabilities[3, 0:5, 2] = 0.9  # chunk 3 (3 s to 6 s) hears a second voice at 3.0-3.5, chunks 1 and 2 do not
    labels[3, 2] = 1
    spurious = LocalActivity(probabilities, activity.chunk_starts, 3.0, STEP, STEP)
    assert spans(turns(spurious, labels)) == at((HALF, 9.0 + HALF, 0))


def test_a_local_speaker_without_a_label_counts_but_is_nobody() -> None:
    truth = [track(10.0, (0.0, 4.0))]
    activity, labels = chunked(truth)
    probabilities = activity.probabilities.copy()
    for c in range(len(labels)):  # a voice everywhere that was never embedded, in a free slot
        probabilities[c, :, np.flatnonzero(labels[c] < 0)[0]] = 0.9
    assert spans(turns(LocalActivity(probabilities, activity.chunk_starts, 5.0, STEP, STEP), labels)) == at((0.0 + HALF, 4.0 + HALF, 0))


def test_two_local_speakers_of_one_global_speaker_are_one() -> None:
    truth = [track(10.0, (1.0, 3.0)), track(10.0, (2.0, 4.0))]
    activity, labels = chunked(truth)
    labels[labels == 1] = 0  # clustering put both in one speaker
    assert spans(turns(activity, labels)) == at((1.0 + HALF, 4.0 + HALF, 0))


@pytest.mark.parametrize(
    ("pause", "other", "expected"),
    [
        (0.3, None, [(HALF, 4.3 + HALF, 0)]),  # a short pause is no break
        (0.8, None, [(HALF, 2.0 + HALF, 0), (2.8 + HALF, 4.8 + HALF, 0)]),
        # someone else speaking in the pause is a change of speaker, however short the pause
        (0.4, (2.0, 2.4), [(HALF, 2.0 + HALF, 0), (2.0 + HALF, 2.4 + HALF, 1), (2.4 + HALF, 4.4 + HALF, 0)]),
        # ...unless what they said is too short to be a word: then it is dropped and the pause bridged
        (0.4, (2.1, 2.2), [(HALF, 4.4 + HALF, 0)]),
    ],
)
def test_pauses_are_bridged_and_blips_dropped(
    pause: float, other: tuple[float, float] | None, expected: list[tuple[float, float, int]]
) -> None:
    truth = [track(10.0, (0.0, 2.0), (2.0 + pause, 4.0 + pause)), track(10.0, *([other] if other else []))]
    activity, labels = chunked(truth)
    assert spans(turns(activity, labels)) == at(*expected)


def test_the_last_chunks_padding_is_cut_at_the_end_of_the_audio() -> None:
    truth = [track(10.0, (6.0, 10.0))]
    activity, labels = chunked(truth)
    assert spans(turns(activity, labels, duration=9.5)) == at((6.0 + HALF, 9.5, 0))
    assert turns(activity, labels, duration=5.0) == []


def test_no_chunks_or_no_speakers_give_no_turns() -> None:
    empty = LocalActivity(np.zeros((0, 50, 3)), np.zeros(0), 5.0, STEP, STEP)
    assert turns(empty, np.zeros((0, 3), dtype=int)) == []
    activity, labels = chunked([track(10.0)])
    assert turns(activity, labels) == []
    assert timeline(activity, labels).shape == (100, 0)


def test_an_hour_of_chunks_is_laid_out_quickly() -> None:
    import time

    rng = np.random.default_rng(1)
    chunks, frames = 3600, 589  # pyannote segmentation-3.0: 10 s chunks every second
    probabilities = rng.random((chunks, frames, 3)) * 0.6
    labels = rng.integers(-1, 8, size=(chunks, 3))
    activity = LocalActivity(probabilities, np.arange(chunks, dtype=float), 10.0, 0.016875, 0.0619375)
    began = time.monotonic()
    found = turns(activity, labels, duration=3609.0)
    assert time.monotonic() - began < 30
    assert all(t.end <= 3609.0 and t.end - t.start >= 0.2 - 1e-9 for t in found)
