"""The worker over TCP against faster-whisper in-process: same audio, model and settings.

    .venv/bin/python bench/worker/run.py [--model base] [--long-seconds 300]

Both sides run in their own process so that peak memory is each one's own.
Results go to the Worker section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "worker"), str(ROOT / "worker" / "tests"), str(ROOT / "bench")]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
OPTIONS = {"language": "en", "beam_size": 5}


def make_audio(folder: Path, long_seconds: int) -> dict[str, Path]:
    clips = sorted(LIBRIVOX.glob("*.wav"))
    short = folder / "clip-10s.wav"
    subprocess.run(["sox", str(clips[0]), str(clips[1]), str(short)], check=True)
    long = folder / f"file-{long_seconds}s.wav"
    repeats = long_seconds // 25 + 1
    subprocess.run(["sox", *[str(c) for c in clips * repeats], str(long), "trim", "0", str(long_seconds)], check=True)
    return {"10 s clip": short, f"{long_seconds // 60}-minute file": long}


def timed_batch(run_one, audio: bytes, concurrency: int, rounds: int) -> list[float]:
    """`rounds` times, `concurrency` requests at once; the latency of each request."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        started = time.perf_counter()
        run_one(audio)
        with lock:
            latencies.append(time.perf_counter() - started)

    for _ in range(rounds):
        threads = [threading.Thread(target=one) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return latencies


def inprocess_main(model: str, path: str, concurrency: int, rounds: int) -> None:
    """Child mode: faster-whisper in this process, threads sharing one model."""
    import resource

    from faster_whisper import WhisperModel
    from whisper_worker.engine.loader import pick_device
    from whisper_worker.settings import Settings

    # The worker's own choices for this many slots: CPU threads per transcription, one replica per slot.
    device = pick_device(Settings(device="cpu", slots=concurrency))
    whisper = WhisperModel(str(ROOT / "models" / model), device="cpu", compute_type="int8",
                           cpu_threads=device.cpu_threads)
    audio = Path(path).read_bytes()
    tmp = Path(tempfile.mkdtemp()) / "a.wav"
    tmp.write_bytes(audio)

    def run_one(_: bytes) -> None:
        segments, _info = whisper.transcribe(str(tmp), vad_filter=True, **OPTIONS)
        list(segments)

    run_one(audio)  # warm-up, as the worker's model is warm
    latencies = timed_batch(run_one, audio, concurrency, rounds)
    print(json.dumps({"latencies": latencies, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def inprocess(model: str, path: Path, concurrency: int, rounds: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", model, str(path), str(concurrency), str(rounds)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def over_tcp(model: str, path: Path, concurrency: int, rounds: int) -> dict:
    from client import Client
    from conftest import RunningWorker

    with tempfile.TemporaryDirectory() as tmp:
        worker = RunningWorker(Path(tmp), WHISPER_SLOTS=str(concurrency), WHISPER_PRELOAD=model, WHISPER_QUEUE_LIMIT="64")
        try:
            audio = path.read_bytes()

            inside: list[float] = []

            def run_one(data: bytes) -> None:
                with Client(worker.port) as client:
                    reply = client.call({"command": "transcribe", "model": model, "options": OPTIONS}, data)
                    assert reply["type"] == "result", reply
                    timing = reply["result"]["timing"]
                    inside.append(timing["queued_seconds"] + timing["load_seconds"] + timing["decode_seconds"])

            run_one(audio)
            inside.clear()
            latencies = timed_batch(run_one, audio, concurrency, rounds)
            status = Path(f"/proc/{worker.proc.pid}/status").read_text()
            peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) * 1024
        finally:
            worker.stop()
    # What the server adds around faster-whisper in the same request: framing, the audio
    # frame to disk and decoding it, scheduling, replies. Immune to run-to-run noise.
    return {"latencies": latencies, "peak_rss": peak, "server_ms": 1000 * statistics.mean(l - i for l, i in zip(sorted(latencies), sorted(inside)))}


def row(label: str, mode: str, n: int, audio_seconds: float, tcp: dict, local: dict) -> str:
    t, l = statistics.mean(tcp["latencies"]), statistics.mean(local["latencies"])
    t50, l50 = statistics.median(tcp["latencies"]), statistics.median(local["latencies"])
    overhead = (f"{(t - l) * 1000:+.0f} ms" if audio_seconds < 60 else f"{(t / l - 1) * 100:+.1f} %")
    return (f"| {label} | {mode} | {n} | {l:.2f} / {l50:.2f} | {t:.2f} / {t50:.2f} | {overhead} | {tcp['server_ms']:.0f} ms "
            f"| {l / audio_seconds:.3f} | {t / audio_seconds:.3f} | {local['peak_rss'] / 2**20:.0f} | {tcp['peak_rss'] / 2**20:.0f} |")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        inprocess_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="base")
    parser.add_argument("--long-seconds", type=int, default=300)
    args, _ = parser.parse_known_args()
    from report import machine, write_section

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in make_audio(Path(tmp), args.long_seconds).items():
            import av
            with av.open(str(path)) as f:
                seconds = float(f.duration / 1_000_000)
            short = seconds < 60  # more rounds where one request is quick and noise is large
            plan = [("sequential", 1, 10 if short else 1), ("concurrent", 2, 3 if short else 1), ("concurrent", 4, 3 if short else 1)]
            for mode, n, rounds in plan:
                local = inprocess(args.model, path, n, rounds)
                tcp = over_tcp(args.model, path, n, rounds)
                rows.append(row(label, mode, n, seconds, tcp, local))
                print(rows[-1], flush=True)
    command = f".venv/bin/python bench/worker/run.py --model {args.model} --long-seconds {args.long_seconds}"
    body = "\n".join([
        "## Worker: server over TCP vs faster-whisper in-process",
        "",
        f"Machine: {machine()}. Model `{args.model}`, int8 on CPU, beam 5, VAD on, language en; both sides warm "
        f"(model loaded, one request before timing). The worker runs with `WHISPER_SLOTS` = the concurrency and its automatic "
        f"`WHISPER_CPU_THREADS` (every core, one CTranslate2 call at a time, concurrent requests sharing calls); in-process, threads "
        f"share one `WhisperModel` built with the same threads. Latency is mean / p50 per request in seconds; RTF (real-time factor) is "
        f"wall seconds per audio second per request (lower is faster); peak RSS in MiB of the process doing the work. *worker − in-process* compares two separate runs, so it "
        f"carries their run-to-run noise; *server's own time* is measured inside the same requests: the client's latency minus "
        f"the worker's own queue + load + decode time (framing, writing the audio frame to disk and decoding it, replies). Command: `{command}`.",
        "",
        "| audio | mode | requests at once | in-process s (mean / p50) | worker s (mean / p50) | worker − in-process | server's own time per request | in-process RTF | worker RTF | in-process peak MiB | worker peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    write_section("worker", body)


if __name__ == "__main__":
    main()
