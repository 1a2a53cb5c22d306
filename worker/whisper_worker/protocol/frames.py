"""Frames of protocol/PROTOCOL.md: an 8-byte big-endian length, then the body.

Frames are read straight from an asyncio stream; an audio body goes to a sink
in chunks, so it is never held in memory whole. The shared vectors run through
these same readers (tests/test_vectors.py).
"""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from whisper_worker.errors import WorkerError

HEADER = struct.Struct(">Q")
CHUNK = 1 << 20

Kind = Literal["json", "audio"]


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class Discard:
    """A sink that drops what it is given: the audio frame of a refused request."""

    def write(self, data: bytes, /) -> int:
        return len(data)


@dataclass(frozen=True)
class Limits:
    max_json_frame: int
    max_audio_frame: int

    def check(self, kind: Kind, length: int) -> None:
        limit = self.max_json_frame if kind == "json" else self.max_audio_frame
        if length > limit:
            raise WorkerError("too_large", f"{kind} frame of {length} bytes is over the limit of {limit} bytes")


def encode_json(message: dict[str, Any]) -> bytes:
    return encode_frame(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())


def encode_frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise WorkerError("bad_frame", "frame body is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise WorkerError("bad_frame", f"frame body is not JSON: {e.msg} at byte {e.pos}") from None
    except RecursionError:
        # json.loads recurses once per level: a body of 100,000 '[' would otherwise end the connection.
        raise WorkerError("bad_frame", "frame body is JSON nested too deeply") from None
    if not isinstance(message, dict):
        raise WorkerError("bad_frame", "frame body is not a JSON object")
    return message


async def read_header(reader: asyncio.StreamReader) -> int | None:
    """The next frame's length, or None at a clean end of stream."""
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise WorkerError("truncated", "stream ended inside a frame header (truncated)") from None
    length: int = HEADER.unpack(header)[0]
    return length


async def read_json(reader: asyncio.StreamReader, limits: Limits) -> dict[str, Any] | None:
    """The next (JSON) frame, or None at a clean end of stream."""
    length = await read_header(reader)
    if length is None:
        return None
    limits.check("json", length)
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise WorkerError("truncated", "stream ended inside a frame body (truncated)") from None
    return parse_json(body)


async def read_audio_into(reader: asyncio.StreamReader, limits: Limits, sink: Sink) -> int:
    """Copies the next (audio) frame's body into `sink` in chunks; returns its length."""
    length = await read_header(reader)
    if length is None:
        raise WorkerError("truncated", "stream ended before the audio frame (truncated)")
    limits.check("audio", length)
    left = length
    while left:
        chunk = await reader.read(min(CHUNK, left))
        if not chunk:
            raise WorkerError("truncated", "stream ended inside the audio frame (truncated)")
        sink.write(chunk)
        left -= len(chunk)
    return length
