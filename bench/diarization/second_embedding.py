#!/usr/bin/env python3
"""Would a second voice embedding help the clustering? The worker's windows embedded by CAM++ (the worker's), by
Resemblyzer (a GE2E LSTM whose weights ship inside its PyPI wheel: the only other speaker embedding this machine can
install, the Hugging Face hub being out of reach), and by both joined; each clustered as the worker clusters, with the
count found and given, and scored as bounds.py scores.

    python3 -m venv .cache/rz-venv && .cache/rz-venv/bin/pip install torch==2.13.0 resemblyzer==0.1.4 'setuptools<81'
    .venv/bin/python bench/diarization/second_embedding.py [--set .cache/diarization-set]

Resemblyzer needs torch, so it runs in its own venv (the worker's has none), fed the windows' samples through a file.
Bench only: nothing of it is in the worker.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bounds import ROOT, hypothesis, row, scored  # noqa: E402

from whisper_worker.engine.audio import decode  # noqa: E402
from whisper_worker.engine.diarize import cluster as clustering  # noqa: E402
from whisper_worker.engine.diarize.pipeline import MIN_SPEAKER, Diarizer, _sample  # noqa: E402
from whisper_worker.engine.diarize.sliding import HOP, WINDOW, speech_windows  # noqa: E402
from whisper_worker.engine.diarize.turns import frame_counts  # noqa: E402

RZ_PYTHON = ROOT / ".cache" / "rz-venv" / "bin" / "python"
# Each window's samples, peak-normalised (Resemblyzer's own preprocessing would cut silences the segmentation kept).
RZ_EMBED = """
import sys, numpy as np
from resemblyzer import VoiceEncoder
z = np.load(sys.argv[1]); encoder = VoiceEncoder('cpu'); edges = np.concatenate([[0], np.cumsum(z['lengths'])])
clips = [z['samples'][a:b] for a, b in zip(edges[:-1], edges[1:])]
np.save(sys.argv[2], np.array([encoder.embed_utterance(c / (np.abs(c).max() + 1e-9) * 0.5, rate=1.3, min_coverage=0.5) for c in clips]))
"""


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def variants(cam: np.ndarray, rz: np.ndarray) -> dict[str, np.ndarray]:
    """Resemblyzer's vectors are all positive (a ReLU before the norm): centred on the file's mean they compare by cosine."""
    centred = rz - rz.mean(axis=0)
    joined = lambda share: np.hstack([np.sqrt(1 - share) * unit(cam), np.sqrt(share) * unit(centred)])  # noqa: E731
    return {"CAM++ (the worker's)": cam, "Resemblyzer": centred, "both, Resemblyzer 30 %": joined(0.3), "both, 50 %": joined(0.5)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=ROOT / ".cache" / "diarization-set")
    args = parser.parse_args()
    diarizer = Diarizer(ROOT / "models" / "diarization")
    with tempfile.TemporaryDirectory() as tmp:
        folders: dict[tuple[str, bool], Path] = {}
        for entry in json.loads((args.set / "manifest.json").read_text())["files"]:
            audio = decode(str(args.set / "audio" / f"{entry['id']}.wav"), 100000)
            activity = diarizer.segmentation.activity(audio, step=diarizer.step)
            counts = frame_counts(activity)
            windows = speech_windows(counts >= 1, activity.frame_step)
            clips = [audio[_sample(a, activity) : _sample(b, activity)] for a, b in windows]
            samples, embedded = Path(tmp) / "clips.npz", Path(tmp) / "rz.npy"
            np.savez(samples, samples=np.concatenate(clips), lengths=np.array([c.size for c in clips]))
            subprocess.run([str(RZ_PYTHON), "-c", RZ_EMBED, str(samples), str(embedded)], check=True, capture_output=True)
            weights = np.array([(b - a) * activity.frame_step for a, b in windows])
            for name, x in variants(diarizer.embedding.embed(clips), np.load(embedded)).items():
                for given in (False, True):
                    folder = folders.setdefault((name, given), Path(tmp) / f"{len(folders)}")
                    folder.mkdir(exist_ok=True)
                    count = {"num_speakers": len(entry["speakers"])} if given else {}
                    labels = clustering.cluster(x, weights, min_size=MIN_SPEAKER * WINDOW / HOP, **count)
                    made = hypothesis(windows, labels, counts, activity.frame_step, activity.frame_duration, audio.size / 16000)
                    (folder / f"{entry['id']}.json").write_text(json.dumps(made))
        table = ["| windows embedded by | count | DER collar 0 | DER ±0.25 s | missed | false alarm | confusion | right count |",
                 "|---|---|---|---|---|---|---|---|"]
        for (name, given), folder in folders.items():
            table.append(row(f"{name} | {'given' if given else 'found'}", scored(folder, args.set)))
    print("\n".join(table))
    sys.path.insert(0, str(ROOT / "bench"))
    from report import machine, write_section

    write_section("diarization-second-embedding", "\n".join([
        "### A second voice embedding",
        "",
        f"Machine: {machine()}. The evaluation set above, the worker's segmentation, windows, clustering and frame assignment; "
        "only the windows' embeddings change: CAM++ (the worker's), Resemblyzer 0.1.4 (GE2E, weights in its PyPI wheel, "
        "centred per file), and both joined (unit vectors, Resemblyzer's share of the squared length as named). "
        "Command: `.venv/bin/python bench/diarization/second_embedding.py` (its docstring sets up Resemblyzer's venv).",
        "",
        *table,
    ]))


if __name__ == "__main__":
    main()
