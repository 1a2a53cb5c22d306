from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("WHISPER_MODELS_DIR", ROOT / "models"))
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


class RunningWorker:
    """The real worker in a subprocess on a free port."""

    def __init__(self, tmp: Path, **env: str):
        self.log = tmp / "worker.log"
        full_env = {**os.environ, "PYTHONPATH": str(ROOT / "worker"), "WHISPER_PORT": "0",
                    "WHISPER_MODELS_DIR": str(MODELS), "HF_HUB_OFFLINE": "1", **env}
        self.proc = subprocess.Popen([sys.executable, "-m", "whisper_worker"], env=full_env,
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))
        self.port = self._wait_listening()

    def _wait_listening(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text()}")
            for line in self.log.read_text().splitlines():
                if line.startswith("{") and '"listening"' in line:
                    return json.loads(line)["port"]
            time.sleep(0.05)
        raise RuntimeError("worker did not start listening")

    def lines(self) -> list[dict]:
        return [json.loads(l) for l in self.log.read_text().splitlines() if l.startswith("{")]

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


@pytest.fixture(scope="session")
def references() -> dict[str, str]:
    refs = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, _, fileid = line.rpartition("(")
        refs[fileid.strip(") ")] = text.replace("<s>", "").replace("</s>", "").strip()
    return refs


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory, clips) -> bytes:
    """All five clips in a row (~30 s): long enough to cancel mid-way."""
    out = tmp_path_factory.mktemp("audio") / "long.wav"
    subprocess.run(["sox", *[str(LIBRIVOX / f"{n}.wav") for n in clips], str(out)], check=True)
    return out.read_bytes()


def speak(tmp: Path, voice: str, text: str) -> bytes:
    out = tmp / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
    return out.read_bytes()
