"""Word error rate, as the tests score it (Whisper's English normaliser, then jiwer).

    echo '{"references": [...], "hypotheses": [...]}' | .venv/bin/python bench/wer.py

Prints the WER over all pairs as a fraction; the Python benchmarks import `wer`.
"""

import json
import sys

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer


def wer(references: list[str], hypotheses: list[str]) -> float:
    normalise = EnglishTextNormalizer()
    return jiwer.wer([normalise(t) for t in references], [normalise(t) for t in hypotheses])


if __name__ == "__main__":
    pairs = json.load(sys.stdin)
    print(wer(pairs["references"], pairs["hypotheses"]))
