"""Short windows (worker/whisper_worker/windows.py) against Whisper's whole 30 s window: accuracy and time.

    .venv/bin/python bench/worker/windows.py [--model base] [--padding 500] [--rounds 1]

In-process, with the worker's decoding options (beam 5, VAD, temperature fallback,
language detected unless said) and its windows.fitted view, on:
- real speech: the five LibriVox clips alone and joined in twos, threes and fours
  (3 to 22 s), scored against their references, with word timestamps compared;
- espeak-ng speech in nine languages, one, two and all three sentences of each
  (2 to 20 s): detected language, WER against the text spoken, and translated to
  English (how far the short window's translation is from the whole window's).

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

# Three sentences a language, each 2-7 s as espeak-ng speaks them.
SPOKEN = {
    "de": ["Guten Morgen, wie geht es Ihnen heute?", "Ich trinke jeden Morgen eine Tasse Kaffee und lese die Zeitung.",
           "Am Abend gehe ich mit meinem Hund im Park spazieren, wenn das Wetter schön ist."],
    "es": ["Buenos días, ¿cómo está usted hoy?", "Todas las mañanas tomo una taza de café y leo el periódico.",
           "Por la tarde paseo con mi perro por el parque cuando hace buen tiempo."],
    "fr": ["Bonjour, comment allez-vous aujourd'hui ?", "Chaque matin, je bois une tasse de café et je lis le journal.",
           "Le soir, je promène mon chien dans le parc quand il fait beau."],
    "it": ["Buongiorno, come sta oggi?", "Ogni mattina bevo una tazza di caffè e leggo il giornale.",
           "La sera porto il mio cane a passeggiare nel parco quando fa bel tempo."],
    "pt": ["Bom dia, como está hoje?", "Todas as manhãs bebo uma chávena de café e leio o jornal.",
           "À noite passeio com o meu cão no parque quando está bom tempo."],
    "nl": ["Goedemorgen, hoe gaat het vandaag met u?", "Elke ochtend drink ik een kopje koffie en lees ik de krant.",
           "'s Avonds wandel ik met mijn hond in het park als het mooi weer is."],
    "ru": ["Доброе утро, как у вас дела сегодня?", "Каждое утро я пью чашку кофе и читаю газету.",
           "Вечером я гуляю с собакой в парке, когда хорошая погода."],
    "pl": ["Dzień dobry, jak się pan dzisiaj czuje?", "Każdego ranka piję filiżankę kawy i czytam gazetę.",
           "Wieczorem spaceruję z psem po parku, kiedy jest ładna pogoda."],
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
            subprocess.run(["espeak-ng", "-v", language, "-w", str(wav), " ".join(sentences[:size])], check=True)
            out.append({"kind": "espeak", "language": language, "audio": decode_audio(str(wav)), "text": " ".join(sentences[:size])})
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

    from whisper_worker import windows

    if args.padding is not None:
        windows.PADDING = args.padding
    basic = BasicTextNormalizer()
    model = WhisperModel(str(ROOT / "models" / args.model), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as folder:
        corpus = items(Path(folder))
    decode(model, corpus[0]["audio"])  # warm-up
    seconds = {"whole": 0.0, "short": 0.0}
    hyps: dict[str, dict[str, list[str]]] = {"whole": {}, "short": {}}
    refs: dict[str, list[str]] = {}
    wrong_language = {"whole": 0, "short": 0}
    shifts: list[float] = []
    translations: list[tuple[str, str]] = []
    for _ in range(args.rounds):
        for item in corpus:
            group = "LibriVox" if item["kind"] == "librivox" else f"espeak {item['language']}"
            fitted = windows.fitted(model, item["audio"].size)
            words = item["kind"] == "librivox"
            results = {name: decode(m, item["audio"], word_timestamps=words) for name, m in (("whole", model), ("short", fitted))}
            refs.setdefault(group, []).append(item["text"] if words else basic(item["text"]))
            for name, (text, language, _, took) in results.items():
                hyps[name].setdefault(group, []).append(text if words else basic(text))
                seconds[name] += took
                wrong_language[name] += language != item["language"]
            if words:
                shifts += word_shift(results["whole"][2], results["short"][2])
            elif item["language"] != "en":
                whole, short = (decode(m, item["audio"], task="translate", language=item["language"])[0] for m in (model, fitted))
                translations.append((whole, short))
            print(group, f"{item['audio'].size / 16000:.1f} s", windows.seconds(item["audio"].size),
                  {k: v[:2] for k, v in results.items()}, flush=True)
    rows = [f"| {group} | {len(refs[group]) // args.rounds} | {wer(refs[group], hyps['whole'][group]):.2%} | "
            f"{wer(refs[group], hyps['short'][group]):.2%} |" for group in refs]
    everything = [r for g in refs for r in refs[g]]
    total = {n: wer(everything, [h for g in refs for h in hyps[n][g]]) for n in hyps}
    apart = wer([w for w, _ in translations], [s for _, s in translations])
    audio = sum(i["audio"].size for i in corpus) / 16000 * args.rounds
    padding = f"{windows.PADDING / 100:g} s"
    print(rows, total, seconds, wrong_language, apart)
    write_section(f"windows-{windows.PADDING}", "\n".join([
        f"## Short windows: the audio + {padding} against the whole 30 s window",
        "",
        (f"Machine: {machine()}. Model `{args.model}`, int8, in-process, the worker's options (beam 5, VAD, temperature fallback, "
         "language detected); the short window is the worker's own `windows.fitted` view. LibriVox: the five clips alone and "
         "joined in twos, threes and fours (3-22 s, with word timestamps); espeak-ng: one, two and three sentences in nine "
         "languages (2-20 s), WER after Whisper's basic normaliser. "
         f"Command: `.venv/bin/python bench/worker/windows.py --model {args.model} --padding {windows.PADDING} --rounds {args.rounds}`."),
        "",
        "| audio | files | WER, whole window | WER, short window |",
        "|---|---|---|---|",
        *rows,
        f"| all | {len(corpus)} | {total['whole']:.2%} | {total['short']:.2%} |",
        "",
        f"- Decoding time for the {audio:.0f} s of audio: whole window {seconds['whole']:.1f} s, short window {seconds['short']:.1f} s "
        f"({seconds['whole'] / seconds['short']:.2f}× faster).",
        f"- Language detected wrongly: whole window {wrong_language['whole']}, short window {wrong_language['short']} of {len(corpus) * args.rounds}.",
        (f"- Word timestamps (LibriVox, where both found the same words): start and end moved by a median of "
         f"{statistics.median(shifts) * 1000:.0f} ms, at most {max(shifts) * 1000:.0f} ms." if shifts else
         "- Word timestamps: no file had the same words in both windows."),
        f"- Translations to English (24 espeak files): the short window's differ from the whole window's by {apart:.2%} WER.",
    ]))


if __name__ == "__main__":
    main()
