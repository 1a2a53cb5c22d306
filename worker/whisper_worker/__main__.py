"""python -m whisper_worker: serve on WHISPER_HOST:WHISPER_PORT until stopped."""

import asyncio
import logging
import sys

from whisper_worker.server import serve
from whisper_worker.service import Worker
from whisper_worker.settings import Settings, SettingsError


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        sys.exit(f"whisper_worker: {e}")
    try:
        asyncio.run(serve(Worker(settings)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
