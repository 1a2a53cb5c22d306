"""One client connection: reads frames, runs each request as its own task, writes replies.

One reader loop per connection keeps reading while requests run, so several
requests are in flight on one connection; one lock serialises writes so
frames never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import json
import logging
import os
import tempfile
import time
from typing import Any

from whisper_worker.engine import transcriber
from whisper_worker.engine.options import reference_frames
from whisper_worker.engine.transcriber import Cancelled
from whisper_worker.errors import WorkerError
from whisper_worker.job import Job
from whisper_worker.live.stream import Stream
from whisper_worker.protocol.frames import Discard, Limits, Sink, encode_json, read_audio_into, read_json
from whisper_worker.server.commands import Call, Command, audio_follows, find_stream, reply_id, validate_request
from whisper_worker.server.worker import Worker
from whisper_worker.tasks import owned

log = logging.getLogger("whisper_worker")
# One JSON line per request; __main__ gives it a bare format so that tools can parse it.
request_log = logging.getLogger("whisper_worker.requests")


class Connection:
    def __init__(self, worker: Worker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.worker = worker
        self.reader = reader
        self.writer = writer
        self.limits = Limits(worker.settings.max_json_frame, worker.settings.max_audio_frame)
        self.live_limits = Limits(worker.settings.max_json_frame, worker.settings.max_json_frame)  # a stream_audio frame (§3)
        self.jobs: dict[str, Job] = {}
        self.streams: dict[str, Stream] = {}  # of the jobs above that are live streams
        self._write_lock = asyncio.Lock()
        self.authenticated = not worker.settings.token

    async def send(self, message: dict[str, Any]) -> None:
        async with self._write_lock:
            if self.writer.is_closing():
                raise ConnectionError("connection closed")
            self.writer.write(encode_json(message))
            await self.writer.drain()

    async def serve(self) -> None:
        try:
            while (message := await read_json(self.reader, self.limits)) is not None:
                try:
                    await self._accept(message)
                except WorkerError as refused:
                    if refused.closes_connection:
                        raise
                    await self.send(refused.reply())
        except WorkerError as e:  # the stream is out of step: say why, then close
            with contextlib.suppress(Exception):
                await self.send(e.reply())
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            # A fault of ours, not the client's: whether the byte stream is still in step is unknown, so the
            # connection ends (its requests cancelled, as on a disconnect) and the server goes on.
            log.exception("a connection failed; closing it")
            with contextlib.suppress(Exception):
                await self.send(WorkerError("internal", "the worker failed on this connection; its log has the details").reply())
        finally:
            await asyncio.sleep(0)  # lets requests accepted just now start, so each ends (and logs) as cancelled
            for job in list(self.jobs.values()):
                job.cancel()
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _accept(self, message: dict[str, Any]) -> None:
        request_id = reply_id(message)
        if not self.authenticated:
            # Checked here, in the reader loop, so that no later frame is read before the verdict.
            self._authenticate(message, request_id)
        try:
            command = validate_request(message, self.jobs)
        except WorkerError as refused:
            # Its audio frame is read all the same, so the connection stays in step, but never stored.
            if audio_follows(message):
                for _ in range(1 + reference_frames(message)):
                    await self._read_audio(request_id, Discard())
            refused.request_id = request_id
            raise
        if command.name == "stream_audio":
            await self._accept_stream_audio(message, request_id)
            return
        paths = await self._spool_frames(request_id, 1 + reference_frames(message)) if command.audio else []
        refusal = await self._check_audio(paths[0]) if paths else None
        job = Job(message["id"])
        self.jobs[job.id] = job
        if command.name == "stream":
            refusal = self._open_stream(job, message)
        job.task = owned(self._run(job, command, message, paths, refusal), f"request {job.id!r} ({command.name})")
        # A task cancelled before its first step never enters _run's `finally` (a connection
        # closed right after its request): the audio files must go all the same.
        job.task.add_done_callback(lambda _: _remove(*paths))

    def _open_stream(self, job: Job, message: dict[str, Any]) -> WorkerError | None:
        """Before the next frame is read: its audio may follow the request at once."""
        try:
            self.streams[job.id] = self.worker.open_stream(job, message["model"], message.get("options", {}), self.send)
        except WorkerError as refused:
            return refused
        return None

    async def _accept_stream_audio(self, message: dict[str, Any], request_id: str | None) -> None:
        """Live audio is small and frequent: read into memory, under the JSON frame limit, and buffered before the
        next frame is read, so a stream's audio keeps its order without a task per frame."""
        sink = io.BytesIO()
        await self._read_audio(request_id, sink, self.live_limits)
        try:
            result = await find_stream(self.streams, message["stream"]).audio(sink.getvalue())
        except WorkerError as refused:
            refused.request_id = request_id
            raise
        await self.send({"id": message["id"], "type": "result", "result": result})

    def _authenticate(self, message: dict[str, Any], request_id: str | None) -> None:
        token = message.get("token")
        if message.get("command") != "hello":
            reason = "this worker requires a 'hello' request carrying its WORKER_TOKEN first"
        elif not isinstance(token, str) or not hmac.compare_digest(_utf8(token), _utf8(self.worker.settings.token)):
            reason = "the token of 'hello' is not this worker's WORKER_TOKEN"
        else:
            self.authenticated = True
            return
        peer = self.writer.get_extra_info("peername")
        log.warning("refused a connection from %s: %s", peer[0] if peer else "?", reason)
        raise WorkerError("unauthorized", reason, request_id)

    async def _read_audio(self, request_id: str | None, sink: Sink, limits: Limits | None = None) -> None:
        try:
            await read_audio_into(self.reader, limits or self.limits, sink)
        except WorkerError as e:
            e.request_id = request_id
            raise

    async def _spool_audio(self, request_id: str | None) -> str:
        fd, path = tempfile.mkstemp(prefix="whisper-audio-")
        try:
            with os.fdopen(fd, "wb") as sink:
                await self._read_audio(request_id, sink)
        except BaseException:
            _remove(path)
            raise
        return path

    async def _spool_frames(self, request_id: str | None, count: int) -> list[str]:
        """The request's audio frame, then a known speaker's reference clip in each further one (protocol §3)."""
        paths: list[str] = []
        try:
            for _ in range(count):
                paths.append(await self._spool_audio(request_id))
        except BaseException:
            _remove(*paths)
            raise
        return paths

    async def _check_audio(self, path: str) -> WorkerError | None:
        """Audio too long by what it declares, or no audio at all: known as soon as it is spooled, so refused
        at once, never after a wait for a slot. Checked before the next frame is read, so requests keep their order."""
        try:
            await asyncio.to_thread(transcriber.check_audio, path, self.worker.settings.max_audio_seconds)
        except WorkerError as refused:
            return refused
        return None

    async def _run(
        self, job: Job, command: Command, message: dict[str, Any], paths: list[str], refusal: WorkerError | None = None,
    ) -> None:
        started = time.monotonic()
        outcome = "ok"
        try:
            if refusal is not None:
                job.model = message.get("model")
                raise refusal  # answered and logged as any failed request
            call = Call(self.worker, job, message, paths[0] if paths else None, self.send, self.jobs, self.streams, paths[1:])
            result = await command.handler(call)
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
            log.exception("request %s (%s) failed", job.id, command.name)
            await self._reply_quietly(WorkerError("internal", "the worker failed on this request; its log has the details").reply(job.id))
        finally:
            job.finish()
            self.jobs.pop(job.id, None)
            self.streams.pop(job.id, None)
            _remove(*paths)
            log_request(job, command, time.monotonic() - started, outcome)

    async def _reply_quietly(self, reply: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.send(reply)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # JSON may hold lone surrogates: still a comparison, never a crash


def _remove(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def log_request(job: Job, command: Command, wall: float, outcome: str) -> None:
    if not request_log.isEnabledFor(command.log_level):
        return
    audio = job.audio_seconds
    line: dict[str, Any] = {
        "event": "request",
        "id": job.id,
        "command": command.name,
        "model": job.model,
        "audio_seconds": round(audio, 3) if audio else None,
        "wall_seconds": round(wall, 3),
        "rtf": round(wall / audio, 4) if audio else None,
        "outcome": outcome,
    }
    if job.batch_size is not None:
        line["batch_size"] = job.batch_size
    if job.window_seconds is not None:
        line["window_seconds"] = job.window_seconds
    if job.tuned:
        line["options"] = job.tuned
    request_log.log(command.log_level, json.dumps(line))
