"""The commands of protocol §4 as one table: name -> the schema definition of its request
(which also says whether an audio frame follows it) and the handler that runs it.

The table is the server's, not protocol/'s: each row names the handler that runs its command on the
Worker. What a request must look like is the schema's alone (protocol/messages.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from whisper_worker import PROTOCOL_VERSION
from whisper_worker.errors import WorkerError
from whisper_worker.job import Job
from whisper_worker.live.stream import Stream
from whisper_worker.protocol import messages
from whisper_worker.protocol.messages import Send
from whisper_worker.server.worker import Worker


@dataclass(frozen=True)
class Call:
    """One accepted request, as its handler sees it."""

    worker: Worker
    job: Job
    message: dict[str, Any]
    audio_path: str | None  # the audio frame, spooled to disk, for commands that have one
    send: Send
    in_flight: Mapping[str, Job]  # the connection's requests, for cancel
    streams: Mapping[str, Stream]  # the connection's open streams, by the id of their `stream` request
    references: list[str] = field(default_factory=list)  # known speakers' clips, the frames after the audio (§3)


Handler = Callable[[Call], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    name: str
    definition: str  # of the request, in the schema's $defs
    handler: Handler
    events: str | None = None  # the schema definition of the replies it sends before its final one
    log_level: int = logging.INFO  # the per-request log line; polls go at debug

    @property
    def audio(self) -> bool:
        """Whether an audio frame follows the request (the schema's x-audio-frame)."""
        return bool(messages.DEFINITIONS[self.definition]["x-audio-frame"])

    @property
    def reply_definition(self) -> str:
        return self.definition.removesuffix("Request") + "Reply"


def _audio(call: Call) -> str:
    assert call.audio_path is not None, "the server spools the audio frame of every command with one"
    return call.audio_path


async def _transcribe(call: Call) -> dict[str, Any]:
    m = call.message
    return await call.worker.transcribe(call.job, m["model"], m.get("options", {}), _audio(call), call.send, call.references)


async def _detect_language(call: Call) -> dict[str, Any]:
    model = call.message.get("model", call.worker.settings.default_model)
    return await call.worker.detect_language(call.job, model, _audio(call))


async def _list_models(call: Call) -> dict[str, Any]:
    return await call.worker.list_models()


async def _status(call: Call) -> dict[str, Any]:
    return await call.worker.status()


async def _load_model(call: Call) -> dict[str, Any]:
    return await call.worker.load_model(call.message["model"])


async def _unload_model(call: Call) -> dict[str, Any]:
    return call.worker.unload_model(call.message["model"])


async def _hello(call: Call) -> dict[str, Any]:
    # The token, when the worker has one, was checked before this ran (connection.Connection): nothing else may come first.
    return {"protocol": PROTOCOL_VERSION}


async def _cancel(call: Call) -> dict[str, Any]:
    target = call.in_flight.get(call.message["target"])
    if target is None or target is call.job:
        return {"cancelled": False}
    target.cancel()
    return {"cancelled": True}


async def _stream(call: Call) -> dict[str, Any]:
    stream = call.streams.get(call.job.id)
    assert stream is not None, "the server opens the stream as it accepts the request"
    return await stream.run()


def find_stream(streams: Mapping[str, Stream], stream_id: str) -> Stream:
    """The open stream a stream_* request names; bad_request when the connection has none by that id."""
    stream = streams.get(stream_id)
    if stream is None:
        raise WorkerError("bad_request", f"no stream {stream_id!r} is open on this connection")
    return stream


def _open_stream(call: Call) -> Stream:
    return find_stream(call.streams, call.message["stream"])


async def _stream_commit(call: Call) -> dict[str, Any]:
    return await _open_stream(call).commit()


async def _stream_clear(call: Call) -> dict[str, Any]:
    return _open_stream(call).clear()


async def _stream_close(call: Call) -> dict[str, Any]:
    return await _open_stream(call).close()


async def _unreachable(call: Call) -> dict[str, Any]:
    raise AssertionError("the server answers stream_audio itself, in its reader loop")


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("transcribe", "TranscribeRequest", _transcribe, events="EventReply"),
        Command("detect_language", "DetectLanguageRequest", _detect_language),
        Command("list_models", "ListModelsRequest", _list_models, log_level=logging.DEBUG),
        Command("status", "StatusRequest", _status, log_level=logging.DEBUG),
        Command("load_model", "LoadModelRequest", _load_model),
        Command("unload_model", "UnloadModelRequest", _unload_model),
        Command("cancel", "CancelRequest", _cancel),
        Command("hello", "HelloRequest", _hello, log_level=logging.DEBUG),
        Command("stream", "StreamRequest", _stream, events="StreamEventReply"),
        Command("stream_audio", "StreamAudioRequest", _unreachable, log_level=logging.DEBUG),
        Command("stream_commit", "StreamCommitRequest", _stream_commit),
        Command("stream_clear", "StreamClearRequest", _stream_clear),
        Command("stream_close", "StreamCloseRequest", _stream_close),
    )
}


def validate_request(message: dict[str, Any], in_flight: Container[str] = ()) -> Command:
    """The command of a request the schema accepts; else a bad_request or unknown_command WorkerError."""
    name = message.get("command")
    commands = ", ".join(COMMANDS)
    if name is None:
        raise WorkerError("bad_request", f"'command' is required; commands: {commands}")
    if not isinstance(name, str):
        raise WorkerError("bad_request", f"'command' must be a string, one of: {commands} (got {messages.shown(name)})")
    command = COMMANDS.get(name)
    if command is None:
        raise WorkerError("unknown_command", f"unknown command {messages.shown(name)}; 'command' must be one of: {commands}")
    problem = messages.problem(command.definition, message)
    if problem is not None:
        raise WorkerError("bad_request", problem)
    if message["id"] in in_flight:
        raise WorkerError("bad_request", f"'id' {messages.shown(message['id'])} is already in flight on this connection")
    return command


def audio_follows(message: dict[str, Any]) -> bool:
    """Whether an audio frame follows this request, valid or not: decided by its command alone."""
    name = message.get("command")
    return isinstance(name, str) and name in COMMANDS and COMMANDS[name].audio


def reply_id(message: dict[str, Any]) -> str | None:
    """The id an error reply carries: the request's when it is a valid id, else null."""
    request_id = message.get("id")
    return request_id if isinstance(request_id, str) and messages.problem("RequestId", request_id) is None else None


def reply_definition(command: str, reply: Mapping[str, Any]) -> str | None:
    """The schema definition a reply to `command` must match; None when that command never sends such a reply."""
    kind = reply.get("type")
    if kind == "error":
        return "ErrorReply"
    if kind == "result":
        return COMMANDS[command].reply_definition
    return COMMANDS[command].events
