"""The live-captions benchmark: LibriVox speech fed to the worker's `stream` at real-time pace.

    .venv/bin/python bench/worker/live.py [--minutes 5] [--sessions base:2,tiny.en:4]

Each session streams the five LibriVox clips, each followed by 1 s of silence, in
100 ms frames of 24 kHz PCM16 (what OpenAI's clients send), over the worker's TCP
protocol. Measured, from the client's clock:

- first confirmed text: the first non-empty delta of an utterance, after the moment
  the audio where the VAD heard its speech begin (audio_start_ms + prefix padding)
  was sent;
- final: the utterance's final after its speech_stopped arrived, and after the audio
  that decides the end (audio_end_ms + the silence duration) was sent;
- WER of the finals against the references, beside the WER of the same audio sent
  as one file (`transcribe`, default options) in the same run;
- capacity: several sessions at once on one worker for --minutes each; lag is each
  final's delay after the deciding audio was sent, per minute: it must not grow.

Writes the "Live captions" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "worker"), str(ROOT / "worker" / "tests"), str(ROOT / "bench")]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
RATE = 24000
FRAME_S = 0.1
GAP_S = 1.0
PADDING_MS, SILENCE_MS = 300, 500


def pass_audio() -> tuple[bytes, list[str]]:
    """One pass: the clips at 24 kHz PCM16, each followed by a second of silence, and their references in order."""
    from conftest import librivox_references, pcm16

    refs = librivox_references(LIBRIVOX)
    pcm, texts = [], []
    for ident in sorted(refs):
        pcm.append(pcm16(LIBRIVOX / f"{ident}.wav", RATE) + bytes(int(GAP_S * RATE) * 2))
        texts.append(refs[ident])
    return b"".join(pcm), texts


class Session(threading.Thread):
    """One live stream: a thread sends audio at real-time pace while this one reads the events."""

    def __init__(self, port: int, model: str, audio: bytes, delay: float, beam: int | None):
        super().__init__(daemon=True)
        from client import Client

        self.client = Client(port, check=False)
        self.model, self.audio, self.delay, self.beam = model, audio, delay, beam
        self.sent: list[tuple[int, float]] = []  # (ms of audio sent so far, when)
        self.events: list[tuple[float, dict]] = []
        self.error: str | None = None

    def run(self) -> None:
        try:
            options = {"language": "en", "sample_rate": RATE, **({"beam_size": self.beam} if self.beam else {})}
            stream = self.client.send({"command": "stream", "model": self.model, "options": options})
            sender = threading.Thread(target=self._send, args=(stream,), daemon=True)
            sender.start()
            while (reply := self.client.recv()) is not None:
                now = time.monotonic()
                if reply["id"] == stream:
                    self.events.append((now, reply))
                    if reply["type"] in ("result", "error"):
                        break
                elif reply["type"] == "error":
                    self.error = str(reply["error"])
            sender.join()
        except Exception as e:  # reported in the results, not a crash of the whole run
            self.error = repr(e)
        finally:
            self.client.close()

    def _send(self, stream: str) -> None:
        time.sleep(self.delay)
        step = int(FRAME_S * RATE) * 2
        start = time.monotonic()
        for n, offset in enumerate(range(0, len(self.audio), step)):
            time.sleep(max(0.0, start + n * FRAME_S - time.monotonic()))
            self.client.send({"command": "stream_audio", "stream": stream}, self.audio[offset : offset + step])
            self.sent.append((min(len(self.audio), offset + step) * 1000 // (2 * RATE), time.monotonic()))
        self.client.send({"command": "stream_close", "stream": stream})

    def sent_at(self, ms: float) -> float:
        """When the audio up to `ms` had been sent."""
        for upto, when in self.sent:
            if upto >= ms:
                return when
        return self.sent[-1][1]

    def items(self) -> list[dict]:
        """Per utterance: its timings and final text."""
        items: dict[int, dict] = {}
        for when, e in self.events:
            if "item" not in e:
                continue
            item = items.setdefault(e["item"], {})
            if e["type"] == "speech_started":
                item["onset"] = self.sent_at(e["audio_start_ms"] + PADDING_MS)
            elif e["type"] == "delta" and e["text"].strip() and "first" not in item:
                item["first"] = when
            elif e["type"] == "speech_stopped":
                item["stopped"], item["decided"] = when, self.sent_at(e["audio_end_ms"] + SILENCE_MS)
            elif e["type"] == "final":
                item.update(final=when, text=e["text"], end_ms=e["audio_end_ms"])
        return [items[k] for k in sorted(items)]


def run_sessions(port: int, model: str, audio: bytes, count: int, stagger: float, beam: int | None) -> list[Session]:
    sessions = [Session(port, model, audio, i * stagger, beam) for i in range(count)]
    for s in sessions:
        s.start()
    for s in sessions:
        s.join()
    return sessions


def file_wer(port: int, model: str, audio: bytes, references: list[str]) -> float:
    from client import Client
    from wer import wer

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE), w.writeframes(audio)
    with Client(port, check=False) as c:
        reply = c.call({"command": "transcribe", "model": model, "options": {"language": "en"}}, buffer.getvalue())
    return wer([" ".join(references)], [reply["result"]["text"]])


def latency_row(model: str, sessions: list[Session], references: list[str], passes: int, file: float) -> dict:
    from wer import wer

    items = [i for s in sessions for i in s.items()]
    first = [i["first"] - i["onset"] for i in items if "first" in i and "onset" in i]
    after_stop = [i["final"] - i["stopped"] for i in items if "final" in i and "stopped" in i]
    after_audio = [i["final"] - i["decided"] for i in items if "final" in i and "decided" in i]
    finals = [" ".join(i.get("text", "") for i in s.items()) for s in sessions]
    live = wer([" ".join(references * passes)] * len(sessions), finals)
    return {"model": model, "items": len(items), "first": first, "after_stop": after_stop, "after_audio": after_audio,
            "wer": live, "file_wer": file, "errors": [s.error for s in sessions if s.error]}


def lag_curve(sessions: list[Session]) -> list[tuple[float, float]]:
    """Per minute of the stream: the mean and worst delay of finals after their deciding audio was sent."""
    per_minute: dict[int, list[float]] = {}
    for s in sessions:
        for i in s.items():
            if "final" in i and "decided" in i:
                per_minute.setdefault(int(i["end_ms"] // 60000), []).append(i["final"] - i["decided"])
    return [(statistics.mean(v), max(v)) for _, v in sorted(per_minute.items())]


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def main() -> None:
    from conftest import RunningWorker
    from report import machine, write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--sessions", default="base:2,tiny.en:4", help="model:sessions for the capacity runs")
    parser.add_argument("--passes", type=int, default=2, help="of the clips, for the single-session latency run")
    parser.add_argument("--beam", type=int, default=None, help="beam_size of the finals (the worker's default when left out)")
    args = parser.parse_args()
    audio, references = pass_audio()
    pass_seconds = len(audio) / 2 / RATE
    lines, latency, capacity = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.sessions.split(","):
            model, count = spec.split(":")
            worker = RunningWorker(Path(tmp), start_timeout=600, WHISPER_PRELOAD=model)
            try:
                file = file_wer(worker.port, model, audio, references)
                alone = run_sessions(worker.port, model, audio * args.passes, 1, 0, args.beam)
                latency.append(latency_row(model, alone, references, args.passes, file))
                passes = max(1, round(args.minutes * 60 / pass_seconds))
                many = run_sessions(worker.port, model, audio * passes, int(count), pass_seconds / int(count), args.beam)
                row = latency_row(model, many, references, passes, file)
                capacity.append((int(count), row, lag_curve(many)))
                print(model, latency[-1]["wer"], row["wer"], flush=True)
            finally:
                worker.stop()
    beam = f" --beam {args.beam}" if args.beam else ""
    lines += [f"Machine: {machine()}. Command: `.venv/bin/python bench/worker/live.py --minutes {args.minutes:g} --sessions {args.sessions}{beam}`.", ""]
    lines += ["One session, the clips fed at real-time pace in 100 ms frames of 24 kHz PCM16 "
              f"({args.passes} passes of the 5 clips, {pass_seconds:.0f} s each); seconds, p50 / p90 / worst:", "",
              "| model | utterances | first confirmed text after speech start | final after speech_stopped | final after the deciding audio was sent | WER live | WER as a file |",
              "|---|---|---|---|---|---|---|"]
    for r in latency:
        trio = lambda xs: f"{pct(xs, 50):.2f} / {pct(xs, 90):.2f} / {max(xs, default=float('nan')):.2f}"
        lines.append(f"| {r['model']} | {r['items']} | {trio(r['first'])} | {trio(r['after_stop'])} | {trio(r['after_audio'])} | "
                     f"{100 * r['wer']:.2f} % | {100 * r['file_wer']:.2f} % |")
    lines += ["", f"Sessions at once on one worker, {args.minutes:g} minutes of audio each (starts staggered): "
              "lag = a final's delay after its deciding audio was sent, mean / worst per minute of audio:", "",
              "| model | sessions | WER live | errors | lag per minute (s) |", "|---|---|---|---|---|"]
    for count, r, curve in capacity:
        shown = ", ".join(f"{m:.1f}/{w:.1f}" for m, w in curve)
        lines.append(f"| {r['model']} | {count} | {100 * r['wer']:.2f} % | {len(r['errors'])} | {shown} |")
    write_section("live", "## Live captions\n\n" + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
