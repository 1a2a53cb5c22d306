"""Frames of protocol/PROTOCOL.md: an 8-byte big-endian length, then the body.

The pure part (encode, FrameDecoder) is what the shared test vectors check;
the async part reads frames from an asyncio stream without holding audio in
memory.
"""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import dataclass
from typing import IO, Any, Iterator, Literal

HEADER = struct.Struct(">Q")
CHUNK = 1 << 20

Kind = Literal["json", "audio"]


class FrameError(Exception):
    """A frame that cannot be read; the connection cannot continue."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_json_frame: int
    max_audio_frame: int

    def check(self, kind: Kind, length: int) -> None:
        limit = self.max_json_frame if kind == "json" else self.max_audio_frame
        if length > limit:
            raise FrameError("too_large", f"{kind} frame of {length} bytes is over the limit of {limit} bytes")


def encode_json(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return HEADER.pack(len(body)) + body


def encode_frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise FrameError("bad_frame", "frame body is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise FrameError("bad_frame", f"frame body is not JSON: {e.msg} at byte {e.pos}") from None
    if not isinstance(message, dict):
        raise FrameError("bad_frame", "frame body is not a JSON object")
    return message


class FrameDecoder:
    """Fed bytes as they arrive; returns whole frames. Checks the length before it allocates."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._buffer = bytearray()

    def feed(self, data: bytes, kinds: list[Kind]) -> Iterator[dict[str, Any] | bytes]:
        """Yields each whole frame; `kinds` says what the next frames are and is consumed."""
        self._buffer += data
        while kinds and len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            self.limits.check(kinds[0], length)
            if len(self._buffer) < HEADER.size + length:
                break
            body = bytes(self._buffer[HEADER.size : HEADER.size + length])
            del self._buffer[: HEADER.size + length]
            kind = kinds.pop(0)
            yield parse_json(body) if kind == "json" else body

    def end(self) -> None:
        """The stream ended: anything left over is a truncated frame."""
        if self._buffer:
            raise FrameError("truncated", f"stream ended inside a frame ({len(self._buffer)} bytes left over)")


async def read_header(reader: asyncio.StreamReader) -> int | None:
    """The next frame's length, or None at a clean end of stream."""
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise FrameError("truncated", "stream ended inside a frame header") from None
    return HEADER.unpack(header)[0]


async def read_json(reader: asyncio.StreamReader, limits: Limits) -> dict[str, Any] | None:
    length = await read_header(reader)
    if length is None:
        return None
    limits.check("json", length)
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise FrameError("truncated", "stream ended inside a frame body") from None
    return parse_json(body)


async def read_audio_into(reader: asyncio.StreamReader, limits: Limits, sink: IO[bytes]) -> int:
    """Copies the next (audio) frame's body into `sink` in chunks; returns its length."""
    length = await read_header(reader)
    if length is None:
        raise FrameError("truncated", "stream ended before the audio frame")
    limits.check("audio", length)
    left = length
    while left:
        chunk = await reader.read(min(CHUNK, left))
        if not chunk:
            raise FrameError("truncated", "stream ended inside the audio frame")
        sink.write(chunk)
        left -= len(chunk)
    return length
