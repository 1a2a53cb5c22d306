"""Global speakers from speaker embeddings, the number of speakers found or given.

Spectral clustering as 3D-Speaker does it: the cosine affinity, each row pruned to its nearest neighbours
(so that one speaker's embeddings form one well-connected block even when the speaker's voice varies), the
unnormalised graph Laplacian, and the number of speakers where the gap between consecutive eigenvalues is widest.
A handful of embeddings makes too poor a graph for that, so below SPECTRAL_MIN they are merged bottom-up instead
(average linkage on cosine similarity, down to a threshold). Either way the result is cleaned up: clusters too
small to be a speaker are spread over the others, and clusters whose centroids are nearly the same voice merge.

`num_speakers` and `min_speakers`/`max_speakers` are hard constraints, not hints: every step stops at them, and
the count comes out within them whatever the data suggests (pyannote treats them as hints, which users dislike).
The only exception is fewer embeddings than speakers asked for: then each embedding is its own speaker.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from whisper_worker.engine.diarize.kmeans import kmeans, means

Floats = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]

SPECTRAL_MIN = 30  # fewer embeddings than this are merged bottom-up
MAX_POINTS = 600  # more are first pooled into this many k-means micro-clusters: the eigensolver is cubic
MAX_AUTO = 20  # the most speakers found when max_speakers is not given
NEIGHBOUR_SHARE = 0.022  # p-pruning keeps this share of each affinity row (3D-Speaker's pval)...
MIN_NEIGHBOURS = 6  # ...but never fewer neighbours than this
THRESHOLD = 0.4  # average-linkage cosine similarity above which small sets of embeddings merge
MERGE_COSINE = 0.6  # centroids this similar are one speaker split in two (3D-Speaker uses 0.8; 0.6 measured better with CAM++ here)
MIN_SIZE = 3.0  # a cluster weighing less is noise, not a speaker: its members join the nearest clusters


def cluster(
    embeddings: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    threshold: float = THRESHOLD,
    min_size: float = MIN_SIZE,
) -> Labels:
    """A speaker label 0..k-1 for each embedding (rows), numbered by first appearance.

    `weights` (default 1 each) is how much each embedding counts, e.g. its seconds of speech: in centroids,
    in k-means, and against `min_size`, which is in the same unit."""
    x = _unit(np.asarray(embeddings, dtype=np.float64))
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).reshape(n)
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights must be finite and not negative")
    if n and w.sum() == 0:
        w = np.ones(n)
    lo, hi = _bounds(n, num_speakers, min_speakers, max_speakers)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # Pyannote's rule: in a short file every speaker is small, so the floor is at most 10 % of the speech.
    floor = min(min_size, 0.1 * float(w.sum()))
    return _first_appearance(_cluster(x, w, lo, hi, threshold, floor))


def centroids(embeddings: npt.ArrayLike, labels: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> Floats:
    """The unit-length weighted mean embedding of each label 0..k-1: what known.py compares with references."""
    x = _unit(np.asarray(embeddings, dtype=np.float64))
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    return _unit(means(x, w, np.asarray(labels, dtype=np.int64))[0])


def _bounds(n: int, num: int | None, least: int | None, most: int | None) -> tuple[int, int]:
    if num is not None:
        if num < 1:
            raise ValueError(f"num_speakers must be at least 1, not {num}")
        least = most = num
    lo = 1 if least is None else least
    hi = max(MAX_AUTO, lo) if most is None else most
    if lo < 1 or hi < lo:
        raise ValueError(f"need 1 <= min_speakers <= max_speakers, not {least} and {most}")
    hi = min(hi, max(n, 1))
    return min(lo, hi), hi


def _cluster(x: Floats, w: Floats, lo: int, hi: int, threshold: float, floor: float) -> Labels:
    n = len(x)
    if n > MAX_POINTS:
        # Cluster the micro-clusters' centroids, each weighing what its members weigh, then hand labels down.
        micro = kmeans(x, w, MAX_POINTS, inits=0)
        centres, mass = means(x, w, micro)
        return _cluster(_unit(centres), mass, min(lo, MAX_POINTS), min(hi, MAX_POINTS), threshold, floor)[micro]
    few = n < SPECTRAL_MIN
    labels = _merge(x, w, np.arange(n), lo, hi, threshold, centroid=False) if few else _spectral(x, w, lo, hi)
    labels = _dissolve_small(x, w, labels, lo, floor)
    labels = _merge(x, w, labels, lo, hi, MERGE_COSINE, centroid=True)
    return _at_least(x, labels, lo)


def _spectral(x: Floats, w: Floats, lo: int, hi: int) -> Labels:
    n = len(x)
    affinity = x @ x.T
    np.fill_diagonal(affinity, 0.0)
    keep = max(MIN_NEIGHBOURS, int(round(NEIGHBOUR_SHARE * n)))
    if keep < n - 1:
        weakest = np.argpartition(affinity, n - keep, axis=1)[:, : n - keep]
        np.put_along_axis(affinity, weakest, 0.0, axis=1)
    affinity = np.maximum(affinity, 0.0)  # a negative similarity is no evidence of a shared speaker
    affinity = (affinity + affinity.T) / 2
    laplacian = np.diag(affinity.sum(axis=1)) - affinity
    values, vectors = np.linalg.eigh(laplacian)
    # The count the voices suggest, then held within the bounds: searching for the widest gap only within them
    # would let a gap below max_speakers win over the true count above it.
    top = min(max(hi, MAX_AUTO), n - 1)  # the gap after the k-th eigenvalue needs the (k+1)-th
    k = min(max(1 + int(np.argmax(np.diff(values[: top + 1]))), lo), hi)
    # Rows normalised (Ng, Jordan & Weiss) so that small speakers sit as far out as large ones.
    return kmeans(_unit(vectors[:, :k]), w, k, inits=4)


def _merge(x: Floats, w: Floats, labels: Labels, lo: int, hi: int, threshold: float, *, centroid: bool) -> Labels:
    """Merges the most similar pair of clusters while there are more than `hi`, or more than `lo` and that pair
    is at least `threshold` alike: average linkage (the dot product of the weighted mean vectors is the weighted
    mean pairwise cosine) or, with `centroid`, the cosine of the centroids."""
    labels = _dense(labels)
    while (k := int(labels.max()) + 1) > lo:
        centres = means(x, w, labels)[0]
        similarity = _unit(centres) @ _unit(centres).T if centroid else centres @ centres.T
        np.fill_diagonal(similarity, -np.inf)
        a, b = divmod(int(np.argmax(similarity)), k)
        if k <= hi and similarity[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        labels = np.where(labels == b, a, labels)
        labels = np.where(labels > b, labels - 1, labels)
    return labels


def _dissolve_small(x: Floats, w: Floats, labels: Labels, lo: int, floor: float) -> Labels:
    """Hands each member of the lightest cluster, while it weighs under `floor`, to its nearest other centroid."""
    labels = _dense(labels)
    while int(labels.max()) + 1 > lo:
        centres, mass = means(x, w, labels)
        small = int(np.argmin(mass))
        if mass[small] >= floor:
            break
        similarity = x @ _unit(centres).T
        similarity[:, small] = -np.inf
        labels = _dense(np.where(labels == small, np.argmax(similarity, axis=1), labels))
    return labels


def _at_least(x: Floats, labels: Labels, lo: int) -> Labels:
    """k-means may leave a cluster empty, and identical embeddings cannot be split: a speaker count that was asked
    for is kept anyway, by moving the member of the largest cluster farthest from its centroid to a new one."""
    labels = _dense(labels)
    while (k := int(labels.max()) + 1) < lo:
        largest = int(np.argmax(np.bincount(labels, minlength=k)))
        members = np.flatnonzero(labels == largest)
        centre = _unit(x[members].mean(axis=0, keepdims=True))[0]
        labels = labels.copy()
        labels[members[int(np.argmin(x[members] @ centre))]] = k
    return labels


def _unit(x: Floats) -> Floats:
    unit: Floats = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return unit


def _dense(labels: Labels) -> Labels:
    """Labels renumbered 0..k-1 in the order of their values."""
    return np.unique(labels, return_inverse=True)[1].astype(np.int64).reshape(-1)


def _first_appearance(labels: Labels) -> Labels:
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inverse.reshape(-1)].astype(np.int64)
