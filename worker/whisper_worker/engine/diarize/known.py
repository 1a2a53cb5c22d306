"""Speakers given by name: reference clips of known voices matched to the speakers found.

Each name's clips are averaged into one voice; each found speaker (cluster centroid) is compared with each voice
by cosine similarity. The matching is one-to-one and as good as possible in total (the Hungarian method), not
greedy: greedy would give the best-matching pair first and might leave the next speaker only a name below the
threshold, when swapping would have named both. Pairs below the threshold never match: a speaker with no
good match keeps its letter, because a wrong name is worse than none.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

# CAM++ cosine similarity from which a reference clip and a speaker are taken for one voice. Reference clips are
# often recorded elsewhere (another microphone, another day), so this sits below the within-recording similarity
# of one speaker (~0.6-0.8) and above that of two speakers (~0.1-0.35). To be tuned on real recordings.
THRESHOLD = 0.5


def match(centroids: npt.ArrayLike, names: Sequence[str], references: npt.ArrayLike, threshold: float = THRESHOLD) -> dict[int, str]:
    """{speaker (centroid row): name} for the speakers that match a voice. `references[i]` is an embedding of
    a clip of `names[i]`; a name may have several clips. Each name goes to at most one speaker."""
    if threshold <= 0:
        raise ValueError("the threshold must be above 0: at or below it, unrelated voices would match")
    speakers = _unit(np.asarray(centroids, dtype=np.float64))
    clips = _unit(np.asarray(references, dtype=np.float64))
    if len(clips) != len(names):
        raise ValueError(f"{len(names)} names for {len(clips)} reference embeddings")
    voices = list(dict.fromkeys(names))
    if not len(speakers) or not voices:
        return {}
    index = np.array([voices.index(name) for name in names])
    voice = _unit(np.stack([clips[index == v].mean(axis=0) for v in range(len(voices))]))
    similarity = speakers @ voice.T
    # A pair below the threshold gains nothing, the same as leaving both unmatched.
    gain = np.where(similarity >= threshold, similarity, 0.0)
    pairs = assignment(-gain) if len(speakers) <= len(voices) else [(s, v) for v, s in assignment(-gain.T)]
    return {s: voices[v] for s, v in sorted(pairs) if similarity[s, v] >= threshold}


def assignment(cost: Floats) -> list[tuple[int, int]]:
    """Each row its own column, at the least total cost; no more rows than columns. The Hungarian method with
    potentials (Kuhn-Munkres, as in e-maxx), O(rows^2 x columns): a few dozen speakers take no time."""
    rows, columns = cost.shape
    if rows > columns:
        raise ValueError("more rows than columns")
    u = [0.0] * (rows + 1)  # potentials of rows and columns, 1-based; column 0 is a sentinel
    v = [0.0] * (columns + 1)
    owner = [0] * (columns + 1)  # the row holding each column
    way = [0] * (columns + 1)
    for row in range(1, rows + 1):
        owner[0] = row
        column = 0
        least = [np.inf] * (columns + 1)
        used = [False] * (columns + 1)
        while owner[column]:
            used[column] = True
            held, delta, nearest = owner[column], np.inf, 0
            for j in range(1, columns + 1):
                if not used[j]:
                    reduced = float(cost[held - 1, j - 1]) - u[held] - v[j]
                    if reduced < least[j]:
                        least[j], way[j] = reduced, column
                    if least[j] < delta:
                        delta, nearest = least[j], j
            for j in range(columns + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    least[j] -= delta
            column = nearest
        while column:  # the augmenting path, back to the sentinel
            previous = way[column]
            owner[column] = owner[previous]
            column = previous
    return sorted((owner[j] - 1, j - 1) for j in range(1, columns + 1) if owner[j])


def _unit(x: Floats) -> Floats:
    unit: Floats = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return unit
