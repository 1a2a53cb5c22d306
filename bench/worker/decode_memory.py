"""Peak memory of decoding long audio: the worker's decoder (whisper_worker/engine/audio.py) against
faster-whisper's decode_audio, on three hours of silence (FLAC) and a 5-minute LibriVox file.

    .venv/bin/python bench/worker/decode_memory.py [--hours 3] [--minutes 5]

Each decode runs in a fresh process: its peak RSS is reset once the imports are done, so the
growth is the decoding's alone. The 16 kHz float32 result itself is 3.84 MB a minute.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
DECODERS = ("whisper_worker.engine.audio.decode", "faster_whisper.decode_audio")


def status_kb(field: str) -> int:
    match = re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text())
    assert match, field
    return int(match.group(1))


def child(decoder: str, path: str) -> None:
    sys.path.insert(0, str(ROOT / "worker"))
    from faster_whisper import decode_audio

    from whisper_worker.engine import audio

    decode = (lambda p: audio.decode(p, 10**9)) if decoder == DECODERS[0] else (lambda p: decode_audio(p, sampling_rate=16000))
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := RSS now
    before = status_kb("VmRSS")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    samples = decode(path)
    wall = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "before_mb": before / 1024, "peak_mb": status_kb("VmHWM") / 1024, "result_mb": samples.nbytes / 2**20,
        "wall_s": wall, "cpu_s": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime,
    }))


def make_files(folder: Path, hours: float, minutes: float) -> dict[str, Path]:
    silence = folder / "silence.flac"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(silence), "trim", "0", str(hours * 3600)], check=True)
    clips = sorted(LIBRIVOX.glob("*.wav"))
    long = folder / "librivox.wav"
    repeats = int(minutes * 60 // 25) + 1
    subprocess.run(["sox", *map(str, clips * repeats), str(long), "trim", "0", str(minutes * 60)], check=True)
    return {f"{hours:g} h of silence, FLAC ({silence.stat().st_size >> 10} KB)": silence,
            f"{minutes:g}-minute LibriVox WAV ({long.stat().st_size >> 20} MB)": long}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=3)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--child", nargs=2, metavar=("DECODER", "PATH"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = ["| audio | decoder | RSS before | peak RSS | peak growth | result | wall | CPU |", "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        for name, path in make_files(Path(folder), args.hours, args.minutes).items():
            for decoder in DECODERS:
                out = subprocess.run([sys.executable, __file__, "--child", decoder, str(path)], check=True, capture_output=True, text=True)
                r = json.loads(out.stdout)
                growth = r["peak_mb"] - r["before_mb"]
                memory = f"{r['before_mb']:.0f} MB | {r['peak_mb']:.0f} MB | +{growth:.0f} MB | {r['result_mb']:.0f} MB"
                rows.append(f"| {name} | `{decoder}` | {memory} | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s |")
                print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
