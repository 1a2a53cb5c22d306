"""Short windows (worker/whisper_worker/engine/windows.py) against Whisper's whole 30 s window: accuracy and time.

    .venv/bin/python bench/worker/windows.py [--model base] [--padding 500] [--rounds 1]

In-process, with the worker's decoding options (beam 5, VAD, temperature fallback,
language detected unless said) and its windows.fitted view, on:
- real speech: the five LibriVox clips alone and joined in twos, threes and fours
  (3 to 22 s), scored against their references, with word timestamps compared;
- espeak-ng speech in six languages, one, two and all three sentences of each
  (2 to 20 s, 130 words a minute): detected language, WER against the text
  spoken, and translated to English, scored against the English sentences.

`--padding` (frames, 10 ms each) overrides the worker's 5 s to show where it stops
being safe. Results go to the Short windows section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel, decode_audio

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "worker"), str(ROOT / "worker" / "tests")]

# Three sentences a language, each 2-7 s as espeak-ng speaks them: the same three in each, so that a
# translation can be scored against the English. Not Portuguese, Russian or Polish: base makes 90-120 %
# WER of espeak-ng's voice in them in either window, and compares nothing but noise.
SPOKEN = {
    "de": ["Guten Morgen, wie geht es Ihnen heute?", "Ich trinke jeden Morgen eine Tasse Kaffee und lese die Zeitung.",
           "Am Abend gehe ich mit meinem Hund im Park spazieren, wenn das Wetter schön ist."],
    "es": ["Buenos días, ¿cómo está usted hoy?", "Todas las mañanas tomo una taza de café y leo el periódico.",
           "Por la tarde paseo con mi perro por el parque cuando hace buen tiempo."],
    "fr": ["Bonjour, comment allez-vous aujourd'hui ?", "Chaque matin, je bois une tasse de café et je lis le journal.",
           "Le soir, je promène mon chien dans le parc quand il fait beau."],
    "it": ["Buongiorno, come sta oggi?", "Ogni mattina bevo una tazza di caffè e leggo il giornale.",
           "La sera porto il mio cane a passeggiare nel parco quando fa bel tempo."],
    "nl": ["Goedemorgen, hoe gaat het vandaag met u?", "Elke ochtend drink ik een kopje koffie en lees ik de krant.",
           "'s Avonds wandel ik met mijn hond in het park als het mooi weer is."],
    "en": ["Good morning, how are you today?", "Every morning I drink a cup of coffee and read the newspaper.",
           "In the evening I walk my dog in the park when the weather is nice."],
}
OPTIONS: dict[str, Any] = {"beam_size": 5, "vad_filter": True}


def items(tmp: Path) -> list[dict[str, Any]]:
    from conftest import LIBRIVOX, librivox_references

    refs = librivox_references()
    ids = sorted(refs)
    out = []
    for size in (1, 2, 3, 4):
        for first in range(len(ids) - size + 1):
            chosen = ids[first : first + size]
            wav = tmp / f"librivox-{first}-{size}.wav"
            subprocess.run(["sox", *[str(LIBRIVOX / f"{i}.wav") for i in chosen], str(wav)], check=True)
            out.append({"kind": "librivox", "language": "en", "audio": decode_audio(str(wav)),
                        "text": " ".join(refs[i] for i in chosen)})
    for language, sentences in SPOKEN.items():
        for size in (1, 2, 3):
            wav = tmp / f"{language}-{size}.wav"
            # 130 words a minute, not espeak's 175: base understands its robotic voice a little better slowed down.
            subprocess.run(["espeak-ng", "-v", language, "-s", "130", "-w", str(wav), " ".join(sentences[:size])], check=True)
            out.append({"kind": "espeak", "language": language, "audio": decode_audio(str(wav)), "text": " ".join(sentences[:size]),
                        "sentences": size})
    return out


def decode(model: Any, audio: np.ndarray, **options: Any) -> tuple[str, str, list[Any], float]:
    started = time.perf_counter()
    segments, info = model.transcribe(audio, **OPTIONS, **options)
    listed = list(segments)
    return "".join(s.text for s in listed).strip(), info.language, listed, time.perf_counter() - started


def word_shift(full: list[Any], short: list[Any]) -> list[float]:
    """How far each word's start and end moved, where both windows found the same words."""
    a = [w for s in full for w in s.words or []]
    b = [w for s in short for w in s.words or []]
    if [w.word for w in a] != [w.word for w in b]:
        return []
    return [abs(x.start - y.start) for x, y in zip(a, b, strict=True)] + [abs(x.end - y.end) for x, y in zip(a, b, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="base")
    parser.add_argument("--padding", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    from report import machine, write_section
    from wer import wer
    from whisper_normalizer.basic import BasicTextNormalizer

    from whisper_worker.engine import windows

    if args.padding is not None:
        windows.PADDING = args.padding
    basic = BasicTextNormalizer()
    model = WhisperModel(str(ROOT / "models" / args.model), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as folder:
        corpus = items(Path(folder))
    decode(model, corpus[0]["audio"])  # warm-up
    seconds = {(name, kind): 0.0 for name in ("whole", "short") for kind in ("librivox", "espeak")}
    hyps: dict[str, dict[str, list[str]]] = {"whole": {}, "short": {}}
    refs: dict[str, list[str]] = {}
    wrong_language = {"whole": 0, "short": 0}
    short_language_wrong = 0
    shifts: list[float] = []
    translations: dict[str, list[str]] = {"whole": [], "short": []}
    english: list[str] = []
    for _ in range(args.rounds):
        for item in corpus:
            group = "LibriVox" if item["kind"] == "librivox" else f"espeak {item['language']}"
            fitted = windows.fitted(model, item["audio"].size)
            words = item["kind"] == "librivox"
            results = {name: decode(m, item["audio"], word_timestamps=words) for name, m in (("whole", model), ("short", fitted))}
            refs.setdefault(group, []).append(item["text"] if words else basic(item["text"]))
            for name, (text, language, _, took) in results.items():
                hyps[name].setdefault(group, []).append(text if words else basic(text))
                seconds[name, item["kind"]] += took
                wrong_language[name] += language != item["language"]
            # What the worker does not do: detect the language in the short window too (WhisperModel's own method,
            # run on the view, encodes through the view's short encode).
            in_short = WhisperModel.detect_language(fitted, item["audio"])[0] if fitted is not model else results["whole"][1]
            short_language_wrong += in_short != item["language"]
            if words:
                shifts += word_shift(results["whole"][2], results["short"][2])
            elif item["language"] != "en":
                english.append(" ".join(SPOKEN["en"][: item["sentences"]]))
                for name, m in (("whole", model), ("short", fitted)):
                    translations[name].append(decode(m, item["audio"], task="translate", language=item["language"])[0])
            print(group, f"{item['audio'].size / 16000:.1f} s", windows.seconds(item["audio"].size),
                  {k: v[:2] for k, v in results.items()}, flush=True)
    rows = [f"| {group} | {len(refs[group]) // args.rounds} | {wer(refs[group], hyps['whole'][group]):.2%} | "
            f"{wer(refs[group], hyps['short'][group]):.2%} |" for group in refs]
    everything = [r for g in refs for r in refs[g]]
    total = {n: wer(everything, [h for g in refs for h in hyps[n][g]]) for n in hyps}
    translated = {name: wer(english, texts) for name, texts in translations.items()}
    audio = {kind: sum(i["audio"].size for i in corpus if i["kind"] == kind) / 16000 * args.rounds for kind in ("librivox", "espeak")}
    faster = {kind: seconds["whole", kind] / seconds["short", kind] for kind in audio}
    shifts.sort()
    padding = f"{windows.PADDING / 100:g} s"
    print(rows, total, faster, wrong_language, translated)
    write_section(f"windows-{windows.PADDING}", "\n".join([
        f"## Short windows: the audio + {padding} against the whole 30 s window",
        "",
        (f"Machine: {machine()}. Model `{args.model}`, int8, in-process, the worker's options (beam 5, VAD, temperature fallback, "
         "language detected); the short window is the worker's own `windows.fitted` view. LibriVox: the five clips alone and "
         "joined in twos, threes and fours (3-22 s, with word timestamps); espeak-ng: one, two and three sentences in six "
         "languages (2-20 s, 130 words a minute), WER after Whisper's basic normaliser. "
         f"Command: `.venv/bin/python bench/worker/windows.py --model {args.model} --padding {windows.PADDING} --rounds {args.rounds}`."),
        "",
        "| audio | files | WER, whole window | WER, short window |",
        "|---|---|---|---|",
        *rows,
        f"| all | {len(corpus)} | {total['whole']:.2%} | {total['short']:.2%} |",
        "",
        *(f"- Decoding time, {label} ({audio[kind]:.0f} s of audio): whole window {seconds['whole', kind]:.1f} s, short window "
          f"{seconds['short', kind]:.1f} s ({faster[kind]:.2f}× faster)."
          for kind, label in (("librivox", "LibriVox"), ("espeak", "espeak-ng"))),
        (f"- Language detected wrongly: {wrong_language['whole']} and {wrong_language['short']} of {len(corpus) * args.rounds} "
         f"(both in the whole window, as the worker does); detected in the short window instead: {short_language_wrong}."),
        (f"- Word timestamps (LibriVox, the files where both windows found the same words; each word's start and end): moved by "
         f"a median of {statistics.median(shifts) * 1000:.0f} ms, p95 {shifts[int(0.95 * len(shifts))] * 1000:.0f} ms, "
         f"at most {shifts[-1] * 1000:.0f} ms." if shifts else
         "- Word timestamps: no file had the same words in both windows."),
        (f"- Translated to English ({len(english)} non-English espeak-ng files, language given), WER against the English "
         f"sentences: whole window {translated['whole']:.2%}, short window {translated['short']:.2%}."),
    ]))


if __name__ == "__main__":
    main()
