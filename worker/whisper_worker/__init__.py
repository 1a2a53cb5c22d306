"""Whisper worker: owns faster-whisper models and serves them over the frame protocol."""

from whisper_worker.settings import Settings

__version__ = "0.1.0"
PROTOCOL_VERSION = 1

__all__ = ["Settings", "__version__", "PROTOCOL_VERSION"]
