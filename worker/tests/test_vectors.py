"""The shared vectors of protocol/vectors/ against the Python codec."""

import json
from pathlib import Path

import pytest

from whisper_worker.protocol import FrameDecoder, FrameError, Limits, encode_frame, encode_json

VECTORS = json.loads((Path(__file__).parents[2] / "protocol" / "vectors" / "frames.json").read_text())


@pytest.mark.parametrize("case", VECTORS["encode"], ids=lambda c: c["name"])
def test_encode(case):
    if "json" in case:
        assert encode_json(case["json"]).hex() == case["hex"]
    else:
        assert encode_frame(bytes.fromhex(case["audio_hex"])).hex() == case["hex"]


@pytest.mark.parametrize("case", VECTORS["decode"], ids=lambda c: c["name"])
def test_decode(case):
    decoder = FrameDecoder(Limits(**case["limits"]))
    kinds = list(case["kinds"])
    frames = []
    try:
        for chunk in case["chunks"]:
            for frame in decoder.feed(bytes.fromhex(chunk), kinds):
                frames.append(frame)
        decoder.end()
        error = None
    except FrameError as e:
        error = e.code
    expected = [f["json"] if "json" in f else bytes.fromhex(f["audio_hex"]) for f in case["frames"]]
    assert frames == expected
    assert error == case["error"]
