"""Weighted k-means, deterministic: cluster.py runs it on spectral embeddings, and to pool thousands of
embeddings into micro-clusters before the eigensolver sees them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]

SEED = 0


def kmeans(x: Floats, w: Floats, k: int, *, inits: int, iterations: int = 50) -> Labels:
    """Weighted k-means (euclidean), k-means++ starts from a fixed seed, best of `inits`: deterministic.
    With no `inits`, one start from a weighted sample instead: k-means++ reads every point once per centre,
    too slow for micro-clusters, where a rough start is good enough."""
    rng = np.random.default_rng(SEED)
    if inits == 0:
        start = rng.choice(len(x), size=k, replace=False, p=w / w.sum() if np.count_nonzero(w) >= k else None)
        return _lloyd(x, w, x[np.sort(start)].copy(), iterations)[0]
    best: Labels = np.zeros(len(x), dtype=np.int64)
    best_cost = np.inf
    for _ in range(inits):
        labels, cost = _lloyd(x, w, _plus_plus(x, w, k, rng), iterations)
        if cost < best_cost:
            best, best_cost = labels, cost
    return best


def _plus_plus(x: Floats, w: Floats, k: int, rng: np.random.Generator) -> Floats:
    squares = (x**2).sum(axis=1)
    chosen = [int(rng.choice(len(x), p=w / w.sum()))]
    nearest = np.maximum(squares + squares[chosen[0]] - 2 * x @ x[chosen[0]], 0.0)
    for _ in range(1, k):
        p = w * nearest
        pick = int(rng.choice(len(x), p=p / p.sum())) if p.sum() > 0 else int(np.argmax(nearest))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.maximum(squares + squares[pick] - 2 * x @ x[pick], 0.0))
    return x[chosen].copy()


def _lloyd(x: Floats, w: Floats, centres: Floats, iterations: int) -> tuple[Labels, float]:
    k = len(centres)
    labels = np.full(len(x), -1, dtype=np.int64)
    squares = (x**2).sum(axis=1)
    for _ in range(iterations):
        distance = np.maximum(squares[:, None] - 2 * x @ centres.T + (centres**2).sum(axis=1)[None, :], 0.0)
        assigned = np.argmin(distance, axis=1)
        nearest = distance[np.arange(len(x)), assigned]
        for empty in np.setdiff1d(np.arange(k), assigned):
            far = int(np.argmax(nearest))  # an empty cluster restarts at the worst-served embedding
            assigned[far], nearest[far] = empty, 0.0
        if np.array_equal(assigned, labels):
            break
        labels = assigned
        centres = means(x, w, labels, k)[0]
    return labels, float((w * nearest).sum())


def means(x: Floats, w: Floats, labels: Labels, k: int | None = None) -> tuple[Floats, Floats]:
    """Weighted mean vector and total weight of each label."""
    k = int(labels.max()) + 1 if k is None else k
    mass = np.bincount(labels, weights=w, minlength=k).astype(np.float64)
    order = np.argsort(labels, kind="stable")  # np.add.at is slow; sums over sorted runs are not
    present = np.flatnonzero(np.bincount(labels, minlength=k))
    sums = np.zeros((k, x.shape[1]))
    sums[present] = np.add.reduceat(x[order] * w[order, None], np.searchsorted(labels[order], present), axis=0)
    return sums / np.maximum(mass, 1e-12)[:, None], mass
