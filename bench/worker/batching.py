"""The batching benchmark without the gateway: the worker over TCP, today's way and batched, against
faster-whisper in-process, on the device the worker picks (a GPU where CTranslate2 sees one).

    .venv/bin/python bench/worker/batching.py [--model base] [--rounds 2] [--clients 1,4,8]

bench/gateway/batching.ts measures the same rows through the whole stack. This one is for machines
where only Python travels (the lent GPU: no Node, no sox, none of the scoring packages), so it
also runs in two steps, the measuring there and the scoring here:

    python3 bench/worker/batching.py measure --model base --audio DIR --out results.json
    .venv/bin/python bench/worker/batching.py report results.json...

DIR holds WAV clips and a `transcription` file in LibriVox's layout (default: pocketsphinx's).
The report goes to the "Batching on the worker" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "worker"), str(ROOT / "worker" / "tests"), str(ROOT / "bench")]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
SHORT_REQUESTS = 24  # per row, shared out between the clients, as in bench/gateway/batching.ts
LONG_REPEATS = 12  # the clips twelve times over: about 5 minutes


def read_audio(folder: Path, scratch: Path) -> dict:
    """Five different 5–10 s clips, and all clips twelve times over as one file, each with its reference."""
    from conftest import librivox_references

    refs = librivox_references(folder)
    clips, frames, params = [], [], None
    for ident in sorted(refs):
        with wave.open(str(folder / f"{ident}.wav")) as w:
            params = w.getparams()
            frames.append(w.readframes(w.getnframes()))
            clips.append({"file": str(folder / f"{ident}.wav"), "seconds": w.getnframes() / w.getframerate(), "reference": refs[ident]})
    long = scratch / "long.wav"
    with wave.open(str(long), "wb") as w:
        w.setparams(params)
        w.writeframes(b"".join(frames * LONG_REPEATS))
    pairs = []  # the two clips under 5 s, each joined to its neighbour: 8.3 and 9.3 s
    for i in (1, 3):
        pair = scratch / f"pair-{i}.wav"
        with wave.open(str(pair), "wb") as w:
            w.setparams(params)
            w.writeframes(frames[i] + frames[i + 1])
        pairs.append({"file": str(pair), "seconds": clips[i]["seconds"] + clips[i + 1]["seconds"],
                      "reference": f"{clips[i]['reference']} {clips[i + 1]['reference']}"})
    return {
        "short": [c for c in clips if c["seconds"] >= 5] + pairs,
        "long": {"file": str(long), "seconds": sum(c["seconds"] for c in clips) * LONG_REPEATS,
                 "reference": " ".join(c["reference"] for c in clips * LONG_REPEATS)},
    }


def in_process(model: str, batch: int, files: list[str]) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "bench/worker/inprocess.py"), model, str(batch), *files],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class GpuMemory:
    """Peak GPU memory of one process, sampled; None where NVML is missing or sees no GPU."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, None, threading.Event()
        try:
            import pynvml
            pynvml.nvmlInit()
            self._nvml, self._handle = pynvml, pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:
            return
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            used = [p.usedGpuMemory for p in self._nvml.nvmlDeviceGetComputeRunningProcesses(self._handle) if p.pid == self.pid]
            if used and used[0]:
                self.peak = max(self.peak or 0, used[0] / 2**20)

    def stop(self) -> float | None:
        self._stop.set()
        return self.peak


class Stack:
    """One worker process, started with `env` on top of the benchmark's own settings."""

    def __init__(self, mode: str, model: str, env: dict[str, str]):
        from conftest import RunningWorker

        self.mode, self.model = mode, model
        self._tmp = tempfile.TemporaryDirectory()
        path = os.pathsep.join(filter(None, [str(ROOT / "worker"), os.environ.get("PYTHONPATH")]))
        # A GPU's first model load compiles CTranslate2's kernels for the chip: minutes, not seconds.
        self.worker = RunningWorker(Path(self._tmp.name), start_timeout=600, PYTHONPATH=path, WHISPER_PRELOAD=model,
                                    WHISPER_QUEUE_LIMIT="64", **env)

    def transcribe(self, file: str) -> str:
        from client import Client

        with Client(self.worker.port, timeout=1800, check=False) as client:
            reply = client.call({"command": "transcribe", "model": self.model, "options": {"language": "en"}}, Path(file).read_bytes())
        if reply["type"] != "result":
            raise RuntimeError(reply["error"]["message"])
        return reply["result"]["text"]

    def peak_rss_mib(self) -> float:
        status = Path(f"/proc/{self.worker.proc.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024

    def stop(self) -> None:
        self.worker.stop()
        self._tmp.cleanup()


def load(stack: Stack, label: str, plan: list[dict], clients: int) -> dict:
    """`clients` clients at once, each sending its share of `plan` one after another."""
    latencies, pairs, errors = [], [], []
    gpu = GpuMemory(stack.worker.proc.pid)

    def client(c: int) -> None:
        for item in plan[c::clients]:
            started = time.perf_counter()
            try:
                pairs.append((item["reference"], stack.transcribe(item["file"])))
                latencies.append(time.perf_counter() - started)
            except Exception as e:  # counted and shown, as a user would see it
                errors.append(str(e))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    row = {"mode": stack.mode, "audio": label, "clients": clients, "wall": time.perf_counter() - started,
           "audio_seconds": sum(a["seconds"] for a in plan), "latencies": latencies, "errors": errors,
           "pairs": pairs, "peak_rss_mib": stack.peak_rss_mib(), "peak_gpu_mib": gpu.stop()}
    print(json.dumps({k: v for k, v in row.items() if k not in ("latencies", "pairs")}), flush=True)
    return row


def measure(model: str, folder: Path, rounds: int, clients: list[int]) -> dict:
    from report import machine

    from whisper_worker.engine.loader import pick_device
    from whisper_worker.settings import Settings

    device = pick_device(Settings())
    scratch = Path(tempfile.mkdtemp())
    audio = read_audio(folder, scratch)
    short = [audio["short"][i % len(audio["short"])] for i in range(SHORT_REQUESTS)]
    long = audio["long"]
    in_process(model, 0, [short[0]["file"]])  # the first load on a GPU compiles kernels; time none of it
    stacks = [Stack("today", model, {"WHISPER_SLOTS": "1", "WHISPER_BATCH_SIZE": "1", "WHISPER_SHORT_WINDOWS": "false"}), Stack("batched", model, {})]
    result = {"model": model, "machine": machine(), "device": device.name, "compute_type": device.compute_type,
              "batch": device.batch_size, "slots": device.slots, "long_seconds": long["seconds"], "long_reference": long["reference"],
              "paired": {"in-process sequential": [], "today": [], "in-process batched": [], "batched": []}, "texts": {}}
    try:
        for s in stacks:
            s.transcribe(short[0]["file"])  # warm-up
        # One client on the long file, each decoding mode against its in-process twin, alternated round by round.
        for _ in range(rounds):
            for name, batch, stack in (("in-process sequential", 0, stacks[0]), ("in-process batched", device.batch_size, stacks[1])):
                local = in_process(model, batch, [long["file"]])
                started = time.perf_counter()
                text = stack.transcribe(long["file"])
                result["paired"][name].append(local["seconds"][0])
                result["paired"][stack.mode].append(time.perf_counter() - started)
                result["texts"][name], result["texts"][stack.mode] = local["texts"][0], text
                print(name, result["paired"][name][-1], stack.mode, result["paired"][stack.mode][-1], flush=True)
        local = in_process(model, 0, [a["file"] for a in short])
        result["short_in_process"] = {"seconds": local["seconds"], "pairs": [(a["reference"], t) for a, t in zip(short, local["texts"], strict=True)],
                                      "audio_seconds": sum(a["seconds"] for a in short)}
        result["rows"] = [load(s, label, plan or [long] * n, n)
                          for label, plan in (("5–10 s clips", short), ("5-minute file", None)) for n in clients for s in stacks]
    finally:
        for s in stacks:
            s.stop()
    return result


def wer(pairs: list) -> float:
    from wer import wer as scored  # bench/wer.py: the scoring packages are here, not on the GPU machine

    return scored([r for r, _ in pairs], [h for _, h in pairs])


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


def report_model(r: dict) -> list[str]:
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    spread = lambda xs: " / ".join(f"{x:.1f}" for x in xs)  # noqa: E731
    paired, long_ref = r["paired"], r["long_reference"]
    row = lambda label, inproc, stack: (  # noqa: E731
        f"| {label} | {spread(paired[inproc])} | {spread(paired[stack])} | {mean(paired[inproc]) / mean(paired[stack]):.2f}× "
        f"| {wer([(long_ref, r['texts'][inproc])]) * 100:.2f} % | {wer([(long_ref, r['texts'][stack])]) * 100:.2f} % |")
    short = r["short_in_process"]
    find = {(x["mode"], x["audio"], x["clients"]): x for x in r["rows"]}
    gains = []
    for n in sorted({x["clients"] for x in r["rows"]}):
        parts = []
        for label in ("5–10 s clips", "5-minute file"):
            a, b = find.get(("today", label, n)), find.get(("batched", label, n))
            if a and b:
                parts.append(f"{label} {(a['wall'] / a['audio_seconds']) / (b['wall'] / b['audio_seconds']):.2f}×")
        gains.append(f"{n} client(s): {', '.join(parts)}")
    gpu = lambda x: f"{x['peak_gpu_mib']:.0f}" if x.get("peak_gpu_mib") else "n/a"  # noqa: E731
    return [
        f"### `{r['model']}`, {r['compute_type']} on {r['device']}: one client, the {r['long_seconds']:.0f} s file",
        "",
        f"{len(paired['today'])} rounds, alternated: in-process sequential, today, in-process batched ({r['batch']} windows), batched. Seconds per round.",
        "",
        "| decoding | in-process s | worker s | worker speed / in-process | in-process WER | worker WER |",
        "|---|---|---|---|---|---|",
        row("sequential", "in-process sequential", "today"),
        row(f"batched, {r['batch']} windows", "in-process batched", "batched"),
        "",
        f"In-process, sequential, the same {len(short['seconds'])} clips one after another: aggregate RTFx "
        f"{short['audio_seconds'] / sum(short['seconds']):.1f}, p50 {pct(short['seconds'], 0.5):.2f} s, WER {wer(short['pairs']) * 100:.2f} %.",
        "",
        f"#### `{r['model']}`: concurrent clients, {SHORT_REQUESTS} clips a row shared out between them, or one 5-minute file a client",
        "",
        "| audio | clients | mode | aggregate RTFx | p50 s | p95 s | errors | WER | worker peak RSS MiB | worker peak GPU MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(f"| {x['audio']} | {x['clients']} | {x['mode']} | {x['audio_seconds'] / x['wall']:.1f} | {pct(x['latencies'], 0.5):.2f} "
          f"| {pct(x['latencies'], 0.95):.2f} | {len(x['errors'])} | {wer(x['pairs']) * 100:.2f} % | {x['peak_rss_mib']:.0f} | {gpu(x)} |"
          for x in r["rows"]),
        "",
        f"Batched over today, aggregate throughput: {'; '.join(gains)}.",
        "",
    ]


def report(files: list[str], command: str, note: str | None) -> None:
    from report import write_section

    results = [json.loads(Path(f).read_text()) for f in files]
    first = results[0]
    lines = [
        "## Batching on the worker: today and batched, against faster-whisper in-process",
        "",
        f"Machine: {first['machine']}. Beam 5, VAD, language en, through the worker's TCP protocol (no gateway: "
        "bench/gateway/batching.ts measures the whole stack where Node runs). *today*: the worker as it was before batching "
        "(`WHISPER_SLOTS=1 WHISPER_BATCH_SIZE=1 WHISPER_SHORT_WINDOWS=false`); *batched*: the worker's defaults on this device "
        f"({first['slots']} slots, {first['batch']} windows a batch). WER with Whisper's English normaliser over every answer in the row. "
        f"Command: `{command}`.",
        "",
        *([note, ""] if note else []),
    ]
    for r in results:
        lines += report_model(r)
    write_section(f"batching-{first['device']}", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", nargs="?", choices=("all", "measure", "report"), default="all")
    parser.add_argument("results", nargs="*", help="report: the measure step's JSON files")
    parser.add_argument("--model", default="base")
    parser.add_argument("--audio", type=Path, default=LIBRIVOX)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--command", help="report: the command to name in the section")
    parser.add_argument("--note", help="report: a paragraph on how this machine was set up")
    args = parser.parse_args()
    if args.step == "report":
        report(args.results, args.command or "bench/worker/batching.py", args.note)
        return
    result = measure(args.model, args.audio, args.rounds, [int(n) for n in args.clients.split(",")])
    out = args.out or Path(tempfile.mkdtemp()) / "results.json"
    out.write_text(json.dumps(result))
    if args.step == "all":
        report([str(out)], f".venv/bin/python bench/worker/batching.py --model {args.model} --rounds {args.rounds} --clients {args.clients}", None)


if __name__ == "__main__":
    main()
