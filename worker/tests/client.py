"""A small blocking client for the tests: frames over a real socket."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

from whisper_worker.protocol import encode_frame, encode_json


class Client:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 300):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._n = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, message: dict[str, Any], audio: bytes | None = None) -> str:
        if "id" not in message:
            self._n += 1
            message = {"id": f"r{self._n}", **message}
        data = encode_json(message) + (encode_frame(audio) if audio is not None else b"")
        self.sock.sendall(data)
        return message["id"]

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> dict[str, Any] | None:
        header = self._exact(8)
        if header is None:
            return None
        (length,) = struct.unpack(">Q", header)
        body = self._exact(length)
        return json.loads(body) if body is not None else None

    def _exact(self, n: int) -> bytes | None:
        chunks = b""
        while len(chunks) < n:
            part = self.sock.recv(n - len(chunks))
            if not part:
                return None
            chunks += part
        return chunks

    def until_final(self, request_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Reads until the final reply of `request_id`; returns it and every event before it."""
        events = []
        while True:
            reply = self.recv()
            assert reply is not None, "connection closed before the final reply"
            if reply["id"] == request_id and reply["type"] in ("result", "error"):
                return reply, events
            events.append(reply)

    def call(self, message: dict[str, Any], audio: bytes | None = None) -> dict[str, Any]:
        return self.until_final(self.send(message, audio))[0]
