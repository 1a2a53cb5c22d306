from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("WHISPER_MODELS_DIR", ROOT / "models"))
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
T = TypeVar("T")


def words(text: str) -> list[str]:
    """The words of a transcript, lower case: tests look for one clear word, never a phrase."""
    return re.findall(r"[a-z']+", text.lower())


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Word error rate over all pairs, after Whisper's English normaliser: how the tests and the benchmarks score."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalise = EnglishTextNormalizer()
    return jiwer.wer([normalise(t) for t in references], [normalise(t) for t in hypotheses])


def pcm16(path: Path, rate: int) -> bytes:
    """A file's audio as raw PCM16 little-endian mono at `rate`: what live streams carry."""
    import av

    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)] + resampler.resample(None)
    return b"".join(f.to_ndarray().tobytes() for f in frames)


def wait_until(condition: Callable[[], T | None], timeout: float = 10, what: str = "") -> T:
    """Polls `condition` until it returns something true, and returns that; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what or condition}"
        time.sleep(0.02)
    return value


async def async_wait_until(condition: Callable[[], T | None], timeout: float = 10, what: str = "") -> T:
    """wait_until for coroutines: the event loop keeps running while it polls."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what or condition}"
        await asyncio.sleep(0.01)
    return value


class RunningWorker:
    """The real worker in a subprocess on a free port."""

    def __init__(self, tmp: Path, start_timeout: float = 60, **env: str):
        self.log = tmp / "worker.log"
        full_env = {**os.environ, "PYTHONPATH": str(ROOT / "worker"), "WHISPER_PORT": "0",
                    "WHISPER_MODELS_DIR": str(MODELS), "HF_HUB_OFFLINE": "1", **env}
        self.proc = subprocess.Popen([sys.executable, "-m", "whisper_worker"], env=full_env,
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))
        self.port = self._wait_listening(start_timeout)

    def _wait_listening(self, timeout: float) -> int:
        def port() -> int | None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text()}")
            listening = [line["port"] for line in self.lines() if line.get("event") == "listening"]
            return listening[0] if listening else None

        return wait_until(port, timeout=timeout, what="the worker to listen")

    def lines(self) -> list[dict]:
        """The JSON lines of its log: `listening`, then one per request (a line still being written is left out)."""
        whole = self.log.read_text().split("\n")[:-1]
        return [json.loads(line) for line in whole if line.startswith("{")]

    def requests(self, command: str) -> list[dict]:
        return [line for line in self.lines() if line.get("event") == "request" and line["command"] == command]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def worker(tmp_path_factory):
    w = RunningWorker(tmp_path_factory.mktemp("worker"), WHISPER_SLOTS="2", WHISPER_QUEUE_LIMIT="4")
    yield w
    w.stop()


@pytest.fixture
def make_worker(tmp_path):
    started = []

    def make(**env: str) -> RunningWorker:
        w = RunningWorker(tmp_path, **env)
        started.append(w)
        return w

    yield make
    for w in started:
        w.stop()


@pytest.fixture(scope="session")
def clips() -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted(LIBRIVOX.glob("*.wav"))}


def librivox_references(folder: Path = LIBRIVOX) -> dict[str, str]:
    """Each LibriVox clip's reference transcript, by file name: for the tests and the benchmarks (a copy in `folder`)."""
    refs = {}
    for line in (folder / "transcription").read_text().splitlines():
        text, _, fileid = line.rpartition("(")
        refs[fileid.strip(") ")] = text.replace("<s>", "").replace("</s>", "").strip()
    return refs


@pytest.fixture(scope="session")
def references() -> dict[str, str]:
    return librivox_references()


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory, clips) -> bytes:
    """All five clips in a row (~30 s): long enough to cancel mid-way."""
    out = tmp_path_factory.mktemp("audio") / "long.wav"
    subprocess.run(["sox", *[str(LIBRIVOX / f"{n}.wav") for n in clips], str(out)], check=True)
    return out.read_bytes()


@pytest.fixture(scope="session")
def silence_3h(tmp_path_factory) -> Path:
    """Three hours of silence as FLAC: about 600 KB that decode to 10800 s (2.7 GB of worker memory before the limit)."""
    out = tmp_path_factory.mktemp("audio") / "silence.flac"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(out), "trim", "0", "10800"], check=True)
    return out


def speak(tmp: Path, voice: str, text: str) -> bytes:
    out = tmp / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
    return out.read_bytes()
