"""The TCP server: reads frames, runs each request as its own task, writes replies.

One reader loop per connection keeps reading while requests run, so several
requests are in flight on one connection; one lock serialises writes so
frames never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from typing import Any

from whisper_worker.errors import WorkerError
from whisper_worker.protocol import FrameError, Limits, encode_json, read_audio_into, read_json
from whisper_worker.service import Job, Worker
from whisper_worker.transcriber import Cancelled

log = logging.getLogger("whisper_worker")
AUDIO_COMMANDS = {"transcribe", "detect_language"}
COMMANDS = AUDIO_COMMANDS | {"list_models", "status", "load_model", "unload_model", "cancel"}
ALLOWED_FIELDS = {
    "transcribe": {"model", "options"},
    "detect_language": {"model"},
    "list_models": set(),
    "status": set(),
    "load_model": {"model"},
    "unload_model": {"model"},
    "cancel": {"target"},
}


class Connection:
    def __init__(self, worker: Worker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.worker = worker
        self.reader = reader
        self.writer = writer
        self.limits = Limits(worker.settings.max_json_frame, worker.settings.max_audio_frame)
        self.jobs: dict[str, Job] = {}
        self._write_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._write_lock:
            if self.writer.is_closing():
                raise ConnectionError("connection closed")
            self.writer.write(encode_json(message))
            await self.writer.drain()

    async def serve(self) -> None:
        try:
            while True:
                message = await read_json(self.reader, self.limits)
                if message is None:
                    break
                await self._accept(message)
        except FrameError as e:
            with contextlib.suppress(Exception):
                await self.send(WorkerError(e.code, e.message).reply(getattr(e, "request_id", None)))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for job in list(self.jobs.values()):
                job.cancel()
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _accept(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        command = message.get("command")
        audio_path = await self._receive_audio(request_id) if command in AUDIO_COMMANDS else None
        try:
            self._validate(request_id, command, message)
        except WorkerError as e:
            _remove(audio_path)
            valid_id = request_id if isinstance(request_id, str) else None
            await self.send(e.reply(valid_id))
            return
        job = Job(request_id)
        self.jobs[request_id] = job
        job.task = asyncio.create_task(self._run(job, command, message, audio_path))

    async def _receive_audio(self, request_id: Any) -> str:
        fd, path = tempfile.mkstemp(prefix="whisper-audio-")
        try:
            with os.fdopen(fd, "wb") as sink:
                await read_audio_into(self.reader, self.limits, sink)
        except FrameError as e:
            _remove(path)
            e.request_id = request_id if isinstance(request_id, str) else None
            raise
        except BaseException:
            _remove(path)
            raise
        return path

    def _validate(self, request_id: Any, command: Any, message: dict[str, Any]) -> None:
        if not isinstance(request_id, str) or not 1 <= len(request_id) <= 128:
            raise WorkerError("bad_request", "'id' must be a string of 1 to 128 characters")
        if request_id in self.jobs:
            raise WorkerError("bad_request", f"id '{request_id}' is already in flight on this connection")
        if not isinstance(command, str):
            raise WorkerError("bad_request", "'command' is missing")
        if command not in COMMANDS:
            raise WorkerError("unknown_command", f"unknown command '{command}'; commands: {', '.join(sorted(COMMANDS))}")
        extra = set(message) - {"id", "command"} - ALLOWED_FIELDS[command]
        if extra:
            raise WorkerError("bad_request", f"unknown field(s) for {command}: {', '.join(sorted(extra))}")
        needs = {"transcribe": "model", "load_model": "model", "unload_model": "model", "cancel": "target"}.get(command)
        if needs and not isinstance(message.get(needs), str):
            raise WorkerError("bad_request", f"'{needs}' (a string) is required for {command}")
        if command == "detect_language" and not isinstance(message.get("model", ""), str):
            raise WorkerError("bad_request", "'model' must be a string")

    async def _run(self, job: Job, command: str, message: dict[str, Any], audio_path: str | None) -> None:
        started = time.monotonic()
        outcome = "ok"
        try:
            result = await self._execute(job, command, message, audio_path)
            await self.send({"id": job.id, "type": "result", "result": result})
        except (Cancelled, asyncio.CancelledError):
            outcome = "cancelled"
            await self._reply_quietly(WorkerError("cancelled", "the request was cancelled").reply(job.id))
        except WorkerError as e:
            outcome = e.code
            await self._reply_quietly(e.reply(job.id))
        except ConnectionError:
            outcome = "cancelled" if job.cancelled.is_set() else "disconnected"
        except Exception:
            outcome = "internal"
            log.exception("request %s (%s) failed", job.id, command)
            await self._reply_quietly(WorkerError("internal", "the worker failed on this request; its log has the details").reply(job.id))
        finally:
            self.jobs.pop(job.id, None)
            _remove(audio_path)
            _log_request(job, command, time.monotonic() - started, outcome)

    async def _execute(self, job: Job, command: str, message: dict[str, Any], audio_path: str | None) -> dict[str, Any]:
        worker = self.worker
        if command == "transcribe":
            return await worker.transcribe(job, message["model"], message.get("options"), audio_path, self.send)
        if command == "detect_language":
            return await worker.detect_language(job, message.get("model") or worker.settings.default_model, audio_path)
        if command == "status":
            return worker.status()
        if command == "list_models":
            return await worker.list_models()
        if command == "load_model":
            return await worker.load_model(message["model"])
        if command == "unload_model":
            return worker.unload_model(message["model"])
        target = self.jobs.get(message["target"])
        if target is not None and target is not job:
            target.cancel()
        return {"cancelled": target is not None and target is not job}

    async def _reply_quietly(self, reply: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.send(reply)


def _remove(path: str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _log_request(job: Job, command: str, wall: float, outcome: str) -> None:
    audio = job.audio_seconds
    line = {
        "event": "request", "id": job.id, "command": command, "model": job.model,
        "audio_seconds": round(audio, 3) if audio else None, "wall_seconds": round(wall, 3),
        "rtf": round(wall / audio, 4) if audio else None, "outcome": outcome,
    }
    print(json.dumps(line), file=sys.stderr, flush=True)


async def serve(worker: Worker, ready: asyncio.Event | None = None) -> None:
    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await Connection(worker, reader, writer).serve()

    server = await asyncio.start_server(on_connect, worker.settings.host, worker.settings.port, limit=1 << 20)
    for name in worker.settings.preload:
        await worker.cache.load(name)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"event": "listening", "host": worker.settings.host, "port": port,
                      "device": worker.device.name, "compute_type": worker.device.compute_type}), file=sys.stderr, flush=True)
    sweeper = asyncio.create_task(worker.cache.run_idle_sweeper())
    try:
        async with server:
            if ready is not None:
                ready.set()
            await server.serve_forever()
    finally:
        sweeper.cancel()
