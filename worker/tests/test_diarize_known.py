"""Known speakers: reference clips matched one-to-one to the speakers found, above a similarity threshold."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from whisper_worker.engine.diarize.known import assignment, match


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def voices(count: int, seed: int = 0) -> np.ndarray:
    return unit(np.random.default_rng(seed).standard_normal((count, 192)))


def near(voice: np.ndarray, seed: int, noise: float = 0.5) -> np.ndarray:
    """Another clip of the same voice: cosine ~0.9 to it."""
    return unit(voice + noise * np.random.default_rng(seed).standard_normal(voice.shape) / np.sqrt(voice.shape[-1]))


def test_each_speaker_gets_the_name_of_its_voice() -> None:
    speakers = voices(3)
    names = ["Carol", "Alice", "Bob"]
    references = np.stack([near(speakers[2], 1), near(speakers[0], 2), near(speakers[1], 3)])
    assert match(speakers, names, references) == {0: "Alice", 1: "Bob", 2: "Carol"}


def test_a_speaker_without_a_reference_keeps_its_letter_and_an_unheard_name_is_not_used() -> None:
    speakers = voices(3)
    others = voices(2, seed=1)
    references = np.stack([near(speakers[1], 1), others[0], others[1]])
    assert match(speakers, ["Bob", "Dan", "Eve"], references) == {1: "Bob"}


def test_a_name_goes_to_one_speaker_only_even_when_two_sound_like_it() -> None:
    speakers = voices(1)
    twins = np.stack([near(speakers[0], 1, 0.3), near(speakers[0], 2, 0.6)])
    reference = near(speakers[0], 3, 0.3)[None]
    assert match(twins, ["Alice"], reference) == {0: "Alice"}


def test_several_clips_of_one_name_are_one_voice() -> None:
    speakers = voices(2)
    references = np.stack([near(speakers[0], 1, 1.5), near(speakers[0], 2, 1.5), near(speakers[1], 3)])
    assert match(speakers, ["Alice", "Alice", "Bob"], references) == {0: "Alice", 1: "Bob"}


def test_the_best_matching_overall_beats_the_greedy_one() -> None:
    # Greedy takes speaker 0 - Alice (0.9) and leaves speaker 1 only Bob (0.1): one name. Swapped, both are named.
    e = np.eye(192)
    alice, bob = e[0], 0.5 * e[0] + np.sqrt(0.75) * e[1]

    def speaker(to_alice: float, to_bob: float, rest: np.ndarray) -> np.ndarray:
        along = (to_bob - 0.5 * to_alice) / np.sqrt(0.75)
        return to_alice * e[0] + along * e[1] + np.sqrt(1 - to_alice**2 - along**2) * rest

    speakers = np.stack([speaker(0.9, 0.8, e[2]), speaker(0.85, 0.1, e[3])])
    assert np.allclose(speakers @ np.stack([alice, bob]).T, [[0.9, 0.8], [0.85, 0.1]])
    assert match(speakers, ["Alice", "Bob"], np.stack([alice, bob])) == {0: "Bob", 1: "Alice"}


def test_more_speakers_than_names_and_more_names_than_speakers() -> None:
    speakers = voices(5)
    assert match(speakers, ["Bob"], near(speakers[3], 1)[None]) == {3: "Bob"}
    extra = voices(4, seed=2)
    references = np.concatenate([extra, near(speakers[:1], 1)])
    assert match(speakers[:1], ["W", "X", "Y", "Z", "Alice"], references) == {0: "Alice"}


def test_nothing_to_match_and_bad_input() -> None:
    assert match(np.zeros((0, 192)), ["Alice"], voices(1)) == {}
    assert match(voices(2), [], np.zeros((0, 192))) == {}
    with pytest.raises(ValueError):
        match(voices(2), ["Alice", "Bob"], voices(1))
    with pytest.raises(ValueError):
        match(voices(2), ["Alice"], voices(1), threshold=0.0)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 3), (4, 6), (6, 6)])
@pytest.mark.parametrize("seed", range(5))
def test_the_assignment_is_the_cheapest_of_all(shape: tuple[int, int], seed: int) -> None:
    cost = np.random.default_rng(seed).random(shape)
    pairs = assignment(cost)
    assert len(pairs) == shape[0] and len({c for _, c in pairs}) == shape[0]
    best = min(sum(cost[r, c] for r, c in enumerate(columns)) for columns in itertools.permutations(range(shape[1]), shape[0]))
    assert sum(cost[r, c] for r, c in pairs) == pytest.approx(best)


def test_thirty_two_speakers_are_matched_at_once() -> None:
    speakers = voices(32)
    order = np.random.default_rng(4).permutation(32)
    names = [f"P{i}" for i in order]
    references = np.stack([near(speakers[i], int(i) + 100) for i in order])
    assert match(speakers, names, references) == {i: f"P{i}" for i in range(32)}
