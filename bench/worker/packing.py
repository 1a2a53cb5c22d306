"""An experiment, not built: short requests packed into one window.

    .venv/bin/python bench/worker/packing.py [--model base] [--rounds 2] [--gap 1.0]

On a CPU the encoder's cost is per 30 s window, whatever the speech in it, and a
batch of windows costs about as many times one (docs/benchmarks.md, Batching).
This packs the five LibriVox clips (3 to 7 s each, as five requests would send
them) into one window with `--gap` seconds of silence between them, decodes it
once with word timestamps, and gives each clip the words whose midpoint falls in
its span; against each clip decoded alone, in-process. Then the same with four
clips as concurrent requests could send them, one of them twice (the 5-7 s clips
of the batching benchmark): Whisper's timing breaks down on repeated audio, which
is why the worker does not pack. Results go to the Packing section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel, decode_audio

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "worker"), str(ROOT / "worker" / "tests")]
SAMPLE_RATE = 16000


def alone(model: WhisperModel, clips: list[np.ndarray]) -> list[str]:
    return ["".join(s.text for s in model.transcribe(clip, language="en", beam_size=5)[0]) for clip in clips]


def packed(model: WhisperModel, clips: list[np.ndarray], gap: float) -> list[str]:
    silence = np.zeros(int(SAMPLE_RATE * gap), np.float32)
    spans, at = [], 0.0
    for clip in clips:
        spans.append((at, at + len(clip) / SAMPLE_RATE))
        at += (len(clip) + len(silence)) / SAMPLE_RATE
    audio = np.concatenate([part for clip in clips for part in (clip, silence)])
    segments, _ = model.transcribe(audio, language="en", beam_size=5, word_timestamps=True, vad_filter=False,
                                   condition_on_previous_text=False)
    texts = [""] * len(clips)
    for word in (w for s in segments for w in s.words or []):
        middle = (word.start + word.end) / 2
        nearest = min(range(len(spans)), key=lambda i: max(spans[i][0] - middle, middle - spans[i][1], 0))
        texts[nearest] += word.word
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="base")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gap", type=float, default=1.0)
    args = parser.parse_args()
    from report import machine, write_section
    from wer import wer

    from conftest import LIBRIVOX, librivox_references

    refs = librivox_references()
    ids = sorted(refs)
    clips = [decode_audio(str(LIBRIVOX / f"{i}.wav")) for i in ids]
    model = WhisperModel(str(ROOT / "models" / args.model), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1)
    alone(model, clips[:1])  # warm-up
    # The batching benchmark's 5-7 s clips as four requests could send them: one clip twice.
    short = [i for i in ids if len(clips[ids.index(i)]) >= 5 * SAMPLE_RATE]
    repeated = [short[0], short[1], short[0], short[2]]
    rows = []
    for r in range(args.rounds):
        for which, chosen in (("the five clips", ids), ("four, one twice", repeated)):
            audio_of = [clips[ids.index(i)] for i in chosen]
            for name, pack in (("each clip alone", False), ("packed in one window", True)):
                started = time.perf_counter()
                texts = packed(model, audio_of, args.gap) if pack else alone(model, audio_of)
                seconds = time.perf_counter() - started
                score = wer([refs[i] for i in chosen], texts)
                rows.append(f"| {r + 1} | {which} | {name} | {seconds:.2f} | {score:.2%} |")
                print(rows[-1], flush=True)
    audio = sum(len(c) for c in clips) / SAMPLE_RATE
    write_section("packing", "\n".join([
        "## Packing (an experiment, not built): short requests in one window",
        "",
        (f"Machine: {machine()}. Model `{args.model}`, int8, beam 5, language en, in-process. The five LibriVox clips ({audio:.1f} s "
        f"of speech) decoded one by one, against packed into one {audio + len(clips) * args.gap:.1f} s window with {args.gap} s of "
        "silence between them, decoded once with word timestamps and split back by each word's midpoint; then four of the 5-7 s "
        "clips, one of them twice, as concurrent requests could send them (the same audio twice in a window derails Whisper's "
        "timestamps, and words land in the wrong clip: why the worker does not pack). "
         f"Command: `.venv/bin/python bench/worker/packing.py --model {args.model} --rounds {args.rounds} --gap {args.gap}`."),
        "",
        "| round | clips | how | seconds | WER over the clips |",
        "|---|---|---|---|---|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
