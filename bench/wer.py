"""Word error rate, as the tests score it (Whisper's English normaliser, then jiwer).

    echo '{"references": [...], "hypotheses": [...]}' | .venv/bin/python bench/wer.py

Prints the WER over all pairs as a fraction; the Python benchmarks import `wer`.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "worker" / "tests"))
from conftest import wer  # noqa: E402  (the tests' scoring is the one scoring)

__all__ = ["wer"]


if __name__ == "__main__":
    pairs = json.load(sys.stdin)
    print(wer(pairs["references"], pairs["hypotheses"]))
