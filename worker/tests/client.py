"""Clients for the tests, over a real socket: every reply the worker sends is checked against the schema."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

from whisper_worker.protocol import messages
from whisper_worker.protocol.frames import Limits, encode_frame, encode_json, read_json
from whisper_worker.server.commands import COMMANDS, reply_definition

REPLY_LIMITS = Limits(max_json_frame=64 << 20, max_audio_frame=0)


class ReplyCheck:
    """Remembers which command each id was sent with, to check each reply against that command's definition."""

    def __init__(self) -> None:
        self.commands: dict[str, str] = {}
        self._n = 0

    def sent(self, message: dict[str, Any]) -> dict[str, Any]:
        if "id" not in message:
            self._n += 1
            message = {"id": f"r{self._n}", **message}
        if isinstance(message["id"], str) and message.get("command") in COMMANDS:
            self.commands[message["id"]] = message["command"]
        return message

    def check(self, reply: dict[str, Any]) -> dict[str, Any]:
        command = self.commands.get(reply.get("id") or "")
        # A reply to no request this client knows (a bad frame, an unknown command) can only be an error.
        definition = reply_definition(command, reply) if command else "ErrorReply"
        assert definition is not None, f"{command} never sends a {reply.get('type')!r} reply: {reply}"
        problem = messages.problem(definition, reply)
        assert problem is None, f"the worker's reply does not match the schema's {definition}: {problem}\n{reply}"
        return reply


class Client:
    """Blocking, for tests that drive the worker from threads."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 300, check: bool = True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.replies = ReplyCheck()
        self.check = check  # benchmarks turn it off: checking each reply against the schema is the client's time, not the worker's

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, message: dict[str, Any], audio: bytes | None = None) -> str:
        message = self.replies.sent(message)
        self.sock.sendall(encode_json(message) + (encode_frame(audio) if audio is not None else b""))
        return message["id"]

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> dict[str, Any] | None:
        header = self._exact(8)
        if header is None:
            return None
        (length,) = struct.unpack(">Q", header)
        body = self._exact(length)
        if body is None:
            return None
        return self.replies.check(json.loads(body)) if self.check else json.loads(body)

    def _exact(self, n: int) -> bytes | None:
        chunks = b""
        while len(chunks) < n:
            part = self.sock.recv(n - len(chunks))
            if not part:
                return None
            chunks += part
        return chunks

    def until_final(self, request_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Reads until the final reply of `request_id`; returns it and every reply before it."""
        events = []
        while True:
            reply = self.recv()
            assert reply is not None, "connection closed before the final reply"
            if reply["id"] == request_id and reply["type"] in ("result", "error"):
                return reply, events
            events.append(reply)

    def call(self, message: dict[str, Any], audio: bytes | None = None) -> dict[str, Any]:
        return self.until_final(self.send(message, audio))[0]


class AsyncClient:
    """The same over asyncio, for a worker served in the test's own event loop; replies read by the worker's own reader."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.replies = ReplyCheck()

    @classmethod
    async def connect(cls, port: int) -> AsyncClient:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def send(self, message: dict[str, Any], audio: bytes | None = None) -> str:
        message = self.replies.sent(message)
        await self.send_raw(encode_json(message) + (encode_frame(audio) if audio is not None else b""))
        return message["id"]

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self) -> dict[str, Any] | None:
        reply = await read_json(self.reader, REPLY_LIMITS)
        return None if reply is None else self.replies.check(reply)

    async def until_final(self, request_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        events = []
        while True:
            reply = await self.recv()
            assert reply is not None, "connection closed before the final reply"
            if reply["id"] == request_id and reply["type"] in ("result", "error"):
                return reply, events
            events.append(reply)

    async def call(self, message: dict[str, Any], audio: bytes | None = None) -> dict[str, Any]:
        return (await self.until_final(await self.send(message, audio)))[0]
