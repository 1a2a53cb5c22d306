#!/usr/bin/env python3
"""Where the diarization's error comes from: the same windows and frame assignment as the worker, with the clustering
replaced step by step by the truth.

    .venv/bin/python bench/diarization/bounds.py [--set .cache/diarization-set]

Rows (DER from the diarization's own turns, scored by score.py as run.py scores them):
- found: the worker's pipeline as it is (the count found from the audio);
- given: num_speakers given;
- oracle: every 2 s window labelled with the reference speaker it overlaps most: what is left is the segmentation's
  part (speech it missed, overlap it did not hear) and the frame assignment's, which no clustering can remove.
Per file it prints the speakers found and the DER at ±0.25 s of the first row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "worker"))

from whisper_worker.engine.audio import decode  # noqa: E402
from whisper_worker.engine.diarize import cluster as clustering  # noqa: E402
from whisper_worker.engine.diarize.pipeline import MIN_SPEAKER, Diarizer, _sample  # noqa: E402
from whisper_worker.engine.diarize.sliding import HOP, WINDOW, frame_speakers, speech_windows  # noqa: E402
from whisper_worker.engine.diarize.turns import frame_counts, to_turns  # noqa: E402

BENCH_PYTHON = ROOT / ".cache" / "bench-venv" / "bin" / "python"
ROWS = {"found": "the clustering (count found)", "given": "the clustering, num_speakers given", "oracle": "the reference (oracle)"}


def reference(set_dir: Path, file_id: str) -> list[tuple[float, float, str]]:
    rows = [line.split() for line in (set_dir / "rttm" / f"{file_id}.rttm").read_text().splitlines() if line.startswith("SPEAKER")]
    return [(float(r[3]), float(r[3]) + float(r[4]), r[7]) for r in rows]


def oracle_labels(windows: list[tuple[int, int]], step: float, truth: list[tuple[float, float, str]]) -> np.ndarray:
    speakers = sorted({s for *_, s in truth})
    labels = []
    for first, stop in windows:
        heard = {s: 0.0 for s in speakers}
        for start, end, speaker in truth:
            heard[speaker] += max(0.0, min(stop * step, end) - max(first * step, start))
        labels.append(speakers.index(max(heard, key=lambda s: heard[s])))
    return np.asarray(labels, dtype=np.int64)


def hypotheses(set_dir: Path, out: dict[str, Path]) -> None:
    diarizer = Diarizer(ROOT / "models" / "diarization")
    for entry in json.loads((set_dir / "manifest.json").read_text())["files"]:
        audio = decode(str(set_dir / "audio" / f"{entry['id']}.wav"), 100000)
        activity = diarizer.segmentation.activity(audio, step=diarizer.step)
        counts = frame_counts(activity)
        windows = speech_windows(counts >= 1, activity.frame_step)
        embeddings = diarizer.embedding.embed([audio[_sample(a, activity) : _sample(b, activity)] for a, b in windows])
        weights = np.array([(b - a) * activity.frame_step for a, b in windows])
        size = MIN_SPEAKER * WINDOW / HOP
        labels = {
            "found": clustering.cluster(embeddings, weights, min_size=size),
            "given": clustering.cluster(embeddings, weights, num_speakers=len(entry["speakers"]), min_size=size),
            "oracle": oracle_labels(windows, activity.frame_step, reference(set_dir, entry["id"])),
        }
        for name, found in labels.items():
            (out[name] / f"{entry['id']}.json").write_text(json.dumps(hypothesis(windows, found, counts, activity.frame_step, activity.frame_duration, audio.size / 16000)))


def hypothesis(windows: list[tuple[int, int]], labels: np.ndarray, counts: np.ndarray, step: float, duration: float, seconds: float) -> dict:
    """The worker's answer, as far as score.py reads it, for windows labelled `labels`: the turns the worker would make of them."""
    active = frame_speakers(windows, labels, counts, int(labels.max()) + 1)
    turns = to_turns(active, step, duration, seconds)
    spoken = sorted({str(t.speaker) for t in turns})
    return {
        "segments": [],
        "speakers": [{"id": s, "name": s, "seconds": 0} for s in spoken],
        "diarization": [{"start": t.start, "end": t.end, "speaker": str(t.speaker)} for t in turns],
    }


def scored(folder: Path, set_dir: Path) -> dict:
    """score.py's report (in the bench venv) of the hypotheses in `folder`."""
    report_path = folder / "report.json"
    subprocess.run([str(BENCH_PYTHON), str(ROOT / "bench/diarization/score.py"), str(folder), "--set", str(set_dir), "--json", str(report_path)],
                   check=True, capture_output=True)
    return json.loads(report_path.read_text())


def row(label: str, report: dict) -> str:
    """A table row: DER at collar 0 and ±0.25 s, its parts, and how often the count was right."""
    der = report["all"]["der"]
    wide = der["collar_0.25"]
    return (f"| {label} | {100 * der['collar_0']['der']:.1f} % | {100 * wide['der']:.1f} % | {100 * wide['missed']:.1f} % | "
            f"{100 * wide['false_alarm']:.1f} % | {100 * wide['confusion']:.1f} % | {100 * report['all']['speaker_count']['accuracy']:.0f} % |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=ROOT / ".cache" / "diarization-set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = {name: Path(tmp) / name for name in ("found", "given", "oracle")}
        for folder in out.values():
            folder.mkdir()
        hypotheses(args.set, out)
        table = ["| windows labelled by | DER collar 0 | DER ±0.25 s | missed | false alarm | confusion | right count |", "|---|---|---|---|---|---|---|"]
        for name, folder in out.items():
            report = scored(folder, args.set)
            table.append(row(ROWS[name], report))
            if name == "found":
                for f in report["files"]:
                    d = f["der"]["collar_0.25"]
                    wrong = (d["confusion"] + d["missed detection"] + d["false alarm"]) / d["total"]
                    print(f"  {f['id']}: {f['ref_speakers']} -> {f['hyp_speakers']} speakers, DER ±0.25 s {100 * wrong:.1f} %", file=sys.stderr)
    print("\n".join(table))
    sys.path.insert(0, str(ROOT / "bench"))
    from report import machine, write_section

    write_section("diarization-bounds", "\n".join([
        "### Where the speakers' error comes from",
        "",
        f"Machine: {machine()}. The evaluation set above; the worker's segmentation, 2 s windows and frame assignment, with the "
        "windows' speakers found by the clustering, by the clustering told the count, or taken from the reference (the "
        "window's majority speaker): the last row is what no clustering can remove. DER of the diarization's own turns. "
        "Command: `.venv/bin/python bench/diarization/bounds.py`.",
        "",
        *table,
    ]))


if __name__ == "__main__":
    main()
