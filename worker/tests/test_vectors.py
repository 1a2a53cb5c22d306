"""The shared vectors of protocol/vectors/ through the worker's production code:
frames through the async readers it serves connections with, requests through
its request validation, replies through the schema definitions it answers with."""

import asyncio
import io
import json

import pytest

from whisper_worker.errors import WorkerError
from whisper_worker.protocol import messages
from whisper_worker.protocol.frames import Limits, encode_frame, encode_json, read_audio_into, read_json
from whisper_worker.server.commands import reply_definition, validate_request

from conftest import ROOT

VECTORS = ROOT / "protocol" / "vectors"
FRAMES = json.loads((VECTORS / "frames.json").read_text())
MESSAGES = json.loads((VECTORS / "messages.json").read_text())


@pytest.mark.parametrize("case", FRAMES["encode"], ids=lambda c: c["name"])
def test_encode(case):
    if "json" in case:
        assert encode_json(case["json"]).hex() == case["hex"]
    else:
        assert encode_frame(bytes.fromhex(case["audio_hex"])).hex() == case["hex"]


async def read_frames(case) -> tuple[list, str | None]:
    """Feeds the chunks to a StreamReader as a socket would, and reads the frames `kinds` names."""
    reader = asyncio.StreamReader()
    for chunk in case["chunks"]:
        reader.feed_data(bytes.fromhex(chunk))
    reader.feed_eof()
    limits = Limits(**case["limits"])
    frames = []
    try:
        for kind in case["kinds"]:
            if kind == "json":
                frame = await read_json(reader, limits)
                if frame is None:
                    break
                frames.append(frame)
            else:
                sink = io.BytesIO()
                await read_audio_into(reader, limits, sink)
                frames.append(sink.getvalue())
        # Nothing may be left but a clean end: a frame cut short is `truncated`.
        assert await read_json(reader, limits) is None, "bytes left over after the last frame"
    except WorkerError as e:
        return frames, e.code
    return frames, None


@pytest.mark.parametrize("case", FRAMES["decode"], ids=lambda c: c["name"])
def test_decode(case):
    frames, error = asyncio.run(read_frames(case))
    assert frames == [f["json"] if "json" in f else bytes.fromhex(f["audio_hex"]) for f in case["frames"]]
    assert error == case["error"]


@pytest.mark.parametrize("case", MESSAGES["requests"], ids=lambda c: c["name"])
def test_request(case):
    try:
        validate_request(case["message"])
        code, message = None, None
    except WorkerError as e:
        code, message = e.code, e.message
    assert code == case["error"], message
    if case["error"] is not None:
        assert f"'{case['field']}'" in message, message


@pytest.mark.parametrize("case", MESSAGES["replies"], ids=lambda c: c["name"])
def test_reply(case):
    definition = reply_definition(case["command"], case["reply"])
    valid = definition is not None and messages.problem(definition, case["reply"]) is None
    assert valid == case["valid"], definition and messages.problem(definition, case["reply"])
