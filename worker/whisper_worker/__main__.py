"""python -m whisper_worker: serve on WHISPER_HOST:WHISPER_PORT until stopped."""

import asyncio
import contextlib
import logging
import sys

from whisper_worker.server.connection import request_log
from whisper_worker.server.tcp import serve
from whisper_worker.server.worker import Worker
from whisper_worker.settings import Settings, SettingsError


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Request lines are JSON, one per line, so that they stay machine-readable.
    bare = logging.StreamHandler(sys.stderr)
    bare.setFormatter(logging.Formatter("%(message)s"))
    request_log.addHandler(bare)
    request_log.propagate = False


def main() -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        sys.exit(f"whisper_worker: {e}")
    configure_logging(settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(Worker(settings)))


if __name__ == "__main__":
    main()
