"""The one error type of the worker: every failure the client hears of is a WorkerError (protocol §6)."""

from __future__ import annotations

import re
from typing import Any

# After these the byte stream can no longer be trusted to be in step, so the connection ends.
# After `unauthorized` nothing more is read from a client that has not shown the token.
CLOSING_CODES = frozenset({"bad_frame", "too_large", "truncated", "unauthorized"})
# `truncated` is the frame readers' verdict (protocol §7), not a code of §6: on the wire it is a bad frame.
WIRE_CODES = {"truncated": "bad_frame"}
# An absolute path, quoted or bare, but not the path of a URL (preceded by ':', '/' or a name).
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/[^\s'\",;()]+")


class WorkerError(Exception):
    def __init__(self, code: str, message: str, request_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id

    @property
    def closes_connection(self) -> bool:
        return self.code in CLOSING_CODES

    def reply(self, request_id: str | None = None) -> dict[str, Any]:
        """The `error` reply; `request_id` is the request's, or the one this error was raised with."""
        code = WIRE_CODES.get(self.code, self.code)
        return {"id": request_id or self.request_id, "type": "error", "error": {"code": code, "message": self.message}}


def without_paths(text: str) -> str:
    """`text` with every absolute path left out: messages reach clients, who need not know the worker's disks."""
    return ABSOLUTE_PATH.sub("<path>", text)
