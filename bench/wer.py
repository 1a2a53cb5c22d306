"""Word error rate, as the tests score it (Whisper's English normaliser, then jiwer).

    echo '{"references": [...], "hypotheses": [...]}' | .venv/bin/python bench/wer.py

Prints the WER over all pairs as a fraction.
"""

import json
import sys

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

pairs = json.load(sys.stdin)
normalise = EnglishTextNormalizer()
print(jiwer.wer([normalise(t) for t in pairs["references"]], [normalise(t) for t in pairs["hypotheses"]]))
