#!/usr/bin/env python3
"""Who said what, measured: the evaluation set through the real worker over TCP, scored with the field's tools.

    .venv/bin/python bench/diarization/run.py [--model base] [--set .cache/diarization-set]

One command: builds the set and the scoring venv if missing (build_set.py, requirements.txt), then for every file
transcribes with diarization and word timestamps (the worker's own output, its raw turns too), and scores
(score.py: DER with pyannote.metrics at collar 0 and ±0.25 s, speaker count, cpWER with meeteval against the plain
WER of the same words), automatic and with num_speakers given. In the same run, the 5-minute file: the request
with and without diarization (the share of the wall time the speakers cost), diarization alone in-process (its
speed against real time), and the worker's peak RSS each way. Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT / "worker"), str(ROOT / "worker" / "tests"), str(ROOT / "bench")]
BENCH_VENV = ROOT / ".cache" / "bench-venv"
DEFAULT_SET = ROOT / ".cache" / "diarization-set"


def ensure(set_dir: Path) -> None:
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(HERE / "requirements.txt")], check=True)
    if not (set_dir / "manifest.json").exists():
        subprocess.run([str(python), str(HERE / "build_set.py"), "--out", str(set_dir)], check=True)


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) * 1024


def transcribe(port: int, model: str, audio: bytes, diarization: dict | None) -> tuple[dict, float]:
    from client import Client

    options = {"word_timestamps": True, **({"diarization": diarization} if diarization is not None else {})}
    started = time.monotonic()
    with Client(port) as client:
        reply = client.call({"command": "transcribe", "model": model, "options": options}, audio)
    assert reply["type"] == "result", reply
    return reply["result"], time.monotonic() - started


def hypotheses(model: str, set_dir: Path, out: Path, given: bool) -> None:
    """Every evaluation file through one worker: its result as score.py reads it."""
    from conftest import RunningWorker

    manifest = json.loads((set_dir / "manifest.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        worker = RunningWorker(Path(tmp), WHISPER_PRELOAD=model)
        try:
            for entry in manifest["files"]:
                audio = (set_dir / "audio" / f"{entry['id']}.wav").read_bytes()
                asked = {"num_speakers": len(entry["speakers"])} if given else {}
                result, _ = transcribe(worker.port, model, audio, asked)
                (out / f"{entry['id']}.json").write_text(json.dumps(result))
                print(entry["id"], len(entry["speakers"]), "->", len(result["speakers"]), flush=True)
        finally:
            worker.stop()


def own_turns(set_dir: Path, out: Path) -> None:
    """Every evaluation file through the Diarizer in-process: its own turns, the timeline the words are labelled from,
    scored without the transcription's gaps (speech Whisper did not transcribe counts as missed in the word-timed rows)."""
    from whisper_worker.engine.audio import decode
    from whisper_worker.engine.diarize.pipeline import Diarizer

    diarizer = Diarizer(ROOT / "models" / "diarization")
    out.mkdir(parents=True, exist_ok=True)
    for entry in json.loads((set_dir / "manifest.json").read_text())["files"]:
        found = diarizer.run(decode(str(set_dir / "audio" / f"{entry['id']}.wav"), 100000))
        turns = [{"start": t.start, "end": t.end, "speaker": str(t.speaker)} for t in found.turns]
        speakers = sorted({t["speaker"] for t in turns})
        hypothesis = {"segments": [], "speakers": [{"id": x, "name": x, "seconds": 0} for x in speakers], "diarization": turns}
        (out / f"{entry['id']}.json").write_text(json.dumps(hypothesis))


def five_minutes(model: str, set_dir: Path) -> dict:
    """The speed file: the request with and without speakers (each in a fresh worker, for its peak RSS), and the
    diarization alone in-process."""
    from whisper_worker.engine.audio import decode
    from whisper_worker.engine.diarize.pipeline import Diarizer

    from conftest import RunningWorker

    path = set_dir / "audio" / "speed-2spk-5min.wav"
    out: dict = {}
    for label, diarization in (("plain", None), ("speakers", {})):
        with tempfile.TemporaryDirectory() as tmp:
            worker = RunningWorker(Path(tmp), WHISPER_PRELOAD=model)
            try:
                transcribe(worker.port, model, (set_dir / "audio" / "en-2spk-01.wav").read_bytes(), diarization)  # warm
                result, wall = transcribe(worker.port, model, path.read_bytes(), diarization)
                out[label] = {"wall": wall, "rss": peak_rss(worker.proc.pid), "timing": result["timing"]}
            finally:
                worker.stop()
    diarizer = Diarizer(Path(ROOT / "models" / "diarization"))
    audio = decode(str(path), 100000)
    diarizer.run(audio[: 16000 * 20])  # warm
    started = time.monotonic()
    diarizer.run(audio)
    out["alone"] = {"seconds": time.monotonic() - started, "audio": audio.size / 16000}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="base")
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    args = parser.parse_args()
    ensure(args.set)
    from report import machine, write_section

    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, given in (("turns", None), ("found", False), ("given", True)):
            hyp = Path(tmp) / label
            if given is None:
                own_turns(args.set, hyp)
            else:
                hypotheses(args.model, args.set, hyp, given)
            scored = subprocess.run(
                [str(BENCH_VENV / "bin" / "python"), str(HERE / "score.py"), str(hyp), "--set", str(args.set), "--json", str(hyp / "report.json")],
                check=True, capture_output=True, text=True,
            )
            print(scored.stdout, flush=True)
            reports[label] = json.loads((hyp / "report.json").read_text())
    speed = five_minutes(args.model, args.set)
    write_section("diarization", render(reports, speed, args.model, machine()))


def render(reports: dict, speed: dict, model: str, machine: str) -> str:
    def der(r: dict, collar: str) -> str:
        return f"{100 * r['all']['der'][collar]['der']:.1f} %"

    rows = []
    for label, r in reports.items():
        a = r["all"]
        words = label != "turns"
        name = {"turns": "the diarization's own turns (in-process)", "found": "words, speakers found by itself", "given": "words, num_speakers given"}[label]
        cpwer = f"{100 * r['monolingual']['cpwer']:.1f} % | {100 * r['monolingual']['wer']:.1f} %" if words else "— | —"
        rows.append(
            f"| {name} | {der(r, 'collar_0')} | {der(r, 'collar_0.25')} | {100 * a['speaker_count']['accuracy']:.0f} % | {cpwer} |"
        )
    plain, spk, alone = speed["plain"], speed["speakers"], speed["alone"]
    share = spk["timing"].get("diarize_seconds", 0) / spk["wall"]
    return "\n".join([
        "## Speakers (diarization)",
        "",
        f"Machine: {machine}. Model `{model}`; the evaluation set of bench/diarization (real voices of 9 people, "
        "20 files, 2-5 speakers, 23 min, 5.9 % overlapped speech; its README) through the real worker over TCP, word timestamps on. "
        "DER by pyannote.metrics with overlap scored, at collar 0 and ±0.25 s; cpWER by meeteval against the plain WER of the "
        "same words (single-language files). Command: `.venv/bin/python bench/diarization/run.py`.",
        "",
        "DER is scored from the diarization's own turns (first row), and from the words' times of the worker's answers "
        "(the other rows: there, speech Whisper left untranscribed counts as missed).",
        "",
        "| scored from | DER collar 0 | DER ±0.25 s | right count | cpWER | WER |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"The 5-minute two-speaker file: diarization alone {alone['seconds']:.1f} s for {alone['audio']:.0f} s "
        f"({alone['audio'] / alone['seconds']:.0f}x real time); the whole request {plain['wall']:.1f} s without speakers, "
        f"{spk['wall']:.1f} s with them (diarization {100 * share:.0f} % of it). Worker peak RSS {plain['rss'] / 2**20:.0f} MiB without, "
        f"{spk['rss'] / 2**20:.0f} MiB with. The peer figure: pyannote 3.1 on CPU took 559 s for a 2-minute clip (pyannote-audio#1621).",
    ])


if __name__ == "__main__":
    main()
