"""The TCP server: listens on the worker's host and port, and serves each client on its own Connection."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from whisper_worker.server.connection import Connection
from whisper_worker.server.worker import Worker
from whisper_worker.settings import Settings
from whisper_worker.tasks import owned

log = logging.getLogger("whisper_worker")


def unprotected(settings: Settings) -> bool:
    """Whether the worker listens beyond this machine with no token."""
    if settings.token or settings.host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(settings.host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return True


async def listen(worker: Worker) -> asyncio.Server:
    """Starts accepting connections on the worker's host and port."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await Connection(worker, reader, writer).serve()

    # Every slot holds a thread for its whole transcription; the rest is for loads, decoding
    # audio and listing models, so those never wait behind running transcriptions.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(worker.slots.slots + 8, thread_name_prefix="whisper"))
    return await asyncio.start_server(on_connect, worker.settings.host, worker.settings.port, limit=1 << 20)


async def serve(worker: Worker) -> None:
    server = await listen(worker)
    for name in worker.settings.preload:
        await worker.cache.load(name)
    port = server.sockets[0].getsockname()[1]
    device, host = worker.device, worker.settings.host
    if unprotected(worker.settings):
        log.warning(
            "listening on %s without WORKER_TOKEN: anyone who can reach port %s can use this worker; "
            "set the same WORKER_TOKEN on the worker and the gateway, or listen on 127.0.0.1", host, port,
        )
    listening = {"event": "listening", "host": host, "port": port, "device": device.name, "compute_type": device.compute_type}
    # Printed whatever the log level: the tests and tools that start a worker wait for this line.
    print(json.dumps(listening), file=sys.stderr, flush=True)
    sweeper = owned(worker.cache.run_idle_sweeper(), "the idle model sweeper")
    try:
        async with server:
            await server.serve_forever()
    finally:
        sweeper.cancel()
