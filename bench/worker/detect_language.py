"""What a language detection costs (POST /api/detect-language: the worker's detect_language), against transcribing the
same file, and against faster-whisper's own detect_language called in-process on the same audio and model.

    .venv/bin/python bench/worker/detect_language.py [--model base] [--seconds 120] [--rounds 3]

The audio is the five LibriVox clips joined and repeated to `--seconds`. Each figure is the median of `--rounds`
(after one warm-up). Written to the Language detection section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "worker"), str(ROOT / "worker" / "tests")]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def speech(seconds: float, folder: Path) -> Path:
    clips = sorted(str(p) for p in LIBRIVOX.glob("*.wav"))
    joined, out = folder / "joined.wav", folder / "speech.wav"
    subprocess.run(["sox", *clips, str(joined)], check=True)
    subprocess.run(["sox", str(joined), str(out), "repeat", "30", "trim", "0", str(seconds)], check=True)
    return out


def median(rounds: int, run: Callable[[], object]) -> float:
    run()  # warm: the model loaded, the caches filled
    times = []
    for _ in range(rounds):
        started = time.monotonic()
        run()
        times.append(time.monotonic() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="base")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from client import Client
    from conftest import RunningWorker
    from faster_whisper import WhisperModel, decode_audio
    from report import machine, write_section

    with tempfile.TemporaryDirectory() as tmp:
        path = speech(args.seconds, Path(tmp))
        audio = path.read_bytes()
        worker = RunningWorker(Path(tmp), WHISPER_PRELOAD=args.model)
        try:
            def call(command: str) -> dict:
                with Client(worker.port) as client:
                    reply = client.call({"command": command, "model": args.model}, audio)
                assert reply["type"] == "result", reply
                return reply["result"]

            detected = call("detect_language")
            detect = median(args.rounds, lambda: call("detect_language"))
            transcribe = median(args.rounds, lambda: call("transcribe"))
        finally:
            worker.stop()
        model = WhisperModel(str(ROOT / "models" / args.model), device="cpu", compute_type="int8")
        samples = decode_audio(str(path))
        baseline = median(args.rounds, lambda: model.detect_language(samples))
    rows = [
        "## Language detection",
        "",
        f"Machine: {machine()}. Model `{args.model}`, {args.seconds:.0f} s of LibriVox speech; medians of {args.rounds} after a warm-up. "
        "Command: `.venv/bin/python bench/worker/detect_language.py`.",
        "",
        "| what | seconds |",
        "|---|---|",
        f"| the worker's `detect_language` over TCP (what POST /api/detect-language asks) | {detect:.2f} |",
        f"| faster-whisper's `detect_language` in-process, same audio and model (baseline) | {baseline:.2f} |",
        f"| the worker's `transcribe` of the same file | {transcribe:.2f} |",
        "",
        f"Detected: `{detected['language']}` ({detected['language_probability']:.2f}). A detection costs "
        f"{100 * detect / transcribe:.0f} % of the transcription: one 30 s window, whatever the file's length "
        "(the rest is decoding the file's audio).",
    ]
    print("\n".join(rows))
    write_section("language-detection", "\n".join(rows))


if __name__ == "__main__":
    main()
