"""Speaker clustering on synthetic embeddings: Gaussian blobs on the sphere, one per speaker, as alike within a
speaker (mean cosine ~0.6) and across speakers (~0.25) as CAM++ embeddings of one recording."""

from __future__ import annotations

import numpy as np
import pytest

from whisper_worker.engine.diarize.cluster import centroids, cluster

DIM = 192


def voices(sizes: list[int], seed: int, spread: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings of len(sizes) speakers in random order, and which speaker each is."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(DIM)  # every voice has something in common, as real embeddings do
    shared *= 0.8 / np.linalg.norm(shared)
    points, speakers = [], []
    for speaker, size in enumerate(sizes):
        centre = shared + rng.standard_normal(DIM) / np.sqrt(DIM)
        centre /= np.linalg.norm(centre)
        points.append(centre + spread * rng.standard_normal((size, DIM)) / np.sqrt(DIM))
        speakers += [speaker] * size
    x = np.concatenate(points)
    order = rng.permutation(len(x))
    return x[order] / np.linalg.norm(x[order], axis=1, keepdims=True), np.array(speakers)[order]


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(((a[:, None] == a[None, :]) == (b[:, None] == b[None, :])).all())


@pytest.mark.parametrize(
    "sizes",
    [
        [40],
        [120],
        [12, 9],  # few embeddings: agglomerative
        [60, 25],
        [150, 12],
        [8, 5, 6],
        [90, 40, 15],
        [100, 50, 30, 10],
        [70, 60, 50, 40, 30],
        [200, 80, 40, 20, 12, 9],
        [30, 30, 30, 30, 30, 30],
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_number_of_speakers_is_found_and_each_embedding_goes_to_its_speaker(sizes: list[int], seed: int) -> None:
    x, truth = voices(sizes, seed)
    labels = cluster(x)
    assert labels.max() + 1 == len(sizes)
    assert same_partition(labels, truth)


def test_labels_are_numbered_in_order_of_first_appearance() -> None:
    x, _ = voices([50, 30, 20], 3)
    labels = cluster(x)
    firsts = [int(np.flatnonzero(labels == k)[0]) for k in range(labels.max() + 1)]
    assert labels[0] == 0 and firsts == sorted(firsts)
    assert labels.dtype == np.int64


@pytest.mark.parametrize("num", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("sizes", [[15, 10], [80, 50, 30]])
def test_num_speakers_is_exactly_the_number_of_speakers(sizes: list[int], num: int) -> None:
    x, truth = voices(sizes, 4)
    labels = cluster(x, num_speakers=num)
    assert set(labels.tolist()) == set(range(num))
    if num == len(sizes):
        assert same_partition(labels, truth)


@pytest.mark.parametrize("sizes", [[20], [60, 40, 30, 20]])
def test_min_speakers_is_respected_when_the_voices_say_fewer(sizes: list[int]) -> None:
    x, _ = voices(sizes, 5)
    assert cluster(x, min_speakers=6).max() + 1 == 6
    assert cluster(x, min_speakers=len(sizes)).max() + 1 == len(sizes)  # a bound, not a target


@pytest.mark.parametrize("sizes", [[10, 8, 7, 6], [60, 40, 30, 20, 15]])
def test_max_speakers_is_respected_when_the_voices_say_more(sizes: list[int]) -> None:
    x, truth = voices(sizes, 6)
    labels = cluster(x, max_speakers=2)
    assert labels.max() + 1 == 2
    assert cluster(x, min_speakers=1, max_speakers=len(sizes) + 3).max() + 1 == len(sizes)
    # speakers are merged, never split
    assert all(len(set(labels[truth == speaker].tolist())) == 1 for speaker in range(len(sizes)))


def test_more_speakers_asked_for_than_embeddings_gives_each_its_own() -> None:
    x, _ = voices([2, 1], 7)
    assert sorted(cluster(x, num_speakers=5).tolist()) == [0, 1, 2]
    assert sorted(cluster(np.repeat(x[:1], 4, axis=0), min_speakers=3).tolist()) == [0, 0, 1, 2]


def test_bounds_that_cannot_hold_are_refused() -> None:
    x, _ = voices([10], 8)
    with pytest.raises(ValueError):
        cluster(x, min_speakers=3, max_speakers=2)
    with pytest.raises(ValueError):
        cluster(x, num_speakers=0)
    with pytest.raises(ValueError):
        cluster(x, weights=-np.ones(10))


def test_nothing_and_one_embedding() -> None:
    assert cluster(np.zeros((0, DIM))).shape == (0,)
    x, _ = voices([1], 9)
    assert cluster(x).tolist() == [0]
    assert cluster(x, min_speakers=2).tolist() == [0]


def test_a_stray_embedding_joins_the_nearest_speaker_instead_of_becoming_one() -> None:
    x, truth = voices([60, 40], 10)
    stray = np.random.default_rng(10).standard_normal(DIM)
    labels = cluster(np.vstack([x, stray / np.linalg.norm(stray)]))
    assert labels.max() + 1 == 2
    assert same_partition(labels[:-1], truth)


def test_weights_decide_what_is_too_small_to_be_a_speaker() -> None:
    x, truth = voices([60, 40, 6], 11)
    weights = np.where(truth == 2, 0.1, 1.0)  # the third voice speaks for a fraction of a second
    assert cluster(x).max() + 1 == 3
    assert cluster(x, weights).max() + 1 == 2
    assert cluster(x, weights, min_speakers=3).max() + 1 == 3


def test_thousands_of_embeddings_are_pooled_and_still_clustered_right() -> None:
    x, truth = voices([900, 500, 200, 100], 12)
    labels = cluster(x)
    assert labels.max() + 1 == 4
    assert same_partition(labels, truth)


def test_the_same_embeddings_give_the_same_labels() -> None:
    x, _ = voices([70, 50, 30, 20], 13, spread=1.1)
    first = cluster(x)
    assert all(np.array_equal(first, cluster(x.copy())) for _ in range(3))
    assert np.array_equal(cluster(x, num_speakers=6), cluster(x.copy(), num_speakers=6))


def test_centroids_are_unit_means_of_each_speaker() -> None:
    x, truth = voices([30, 20], 14)
    centres = centroids(x, truth)
    assert centres.shape == (2, DIM)
    assert np.allclose(np.linalg.norm(centres, axis=1), 1.0)
    assert (x[truth == 0] @ centres[0]).mean() > (x[truth == 0] @ centres[1]).mean() + 0.2
