#!/usr/bin/env python3
"""Scores speaker-diarization hypotheses against the set that build_set.py makes.

    .cache/bench-venv/bin/python bench/diarization/score.py HYP_DIR [--set .cache/diarization-set] [--json OUT]
    .cache/bench-venv/bin/python bench/diarization/score.py --self-check

A runner can call it as a function too:

    from score import score          # with bench/diarization on sys.path
    report = score(set_dir, hyp_dir)  # -> dict, the same as --json writes

HYP_DIR holds one <file id>.json per file of the set, as the worker answers a diarized transcription:
    {"segments": [{"start", "end", "text", "speaker",
                   "words": [{"start", "end", "word", "speaker"}, ...]}, ...],
     "speakers": [{"id", "name", "seconds"}, ...]}
Optional, if the worker can give them: "diarization": [{"start", "end", "speaker"}] (its raw speaker turns,
then used for DER) and "diarization_seconds" (time the diarization took, for the speed goal).

What it measures, over the evaluation files (the speed file is reported apart):
- DER with pyannote.metrics, overlapped speech scored (skip_overlap=False), with no collar and with a
  collar of 0.25 s on each side of every reference boundary (the NIST md-eval convention; pyannote's
  `collar` is the total width, so that is pyannote collar=0.5). Components summed over files.
  Which hypothesis times: "diarization" if the file has it; else each segment's span, split into runs of
  its words where its words name more than one speaker (--der-from to force segments or words).
- Speaker count: the hypothesis's len(speakers) (or distinct speaker labels, if it has no list) against the
  reference's; accuracy = share of files exactly right.
- cpWER with meeteval (concatenated minimum-permutation WER) and the plain WER of the same words with the
  speakers ignored, after the same normalisation as the repo's WER (bench/wer.py -> worker/tests/conftest.py:
  whisper_normalizer's EnglishTextNormalizer) for English files; non-English files (cs, nl, mixed) use its
  BasicTextNormalizer, Whisper's normaliser for other languages. Text is normalised in the same pieces for both
  numbers (reference: per clip; hypothesis: per run of one speaker's words within a segment). Plain WER takes
  the reference in order of clip start and the hypothesis in the order the worker wrote it; cpWER takes each
  speaker's words in time order. So cpWER - WER is the cost of words given to the wrong speaker (it can go
  slightly below 0 where overlapping speakers' words come in another order than the reference's).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SET = ROOT / ".cache/diarization-set"
COLLARS = {"collar_0": 0.0, "collar_0.25": 0.5}  # name (md-eval, each side) -> pyannote collar (total width)
GOALS = {"der_max": 0.05, "count_accuracy_min": 0.90, "cpwer_delta_max_points": 1.5, "speed_min": 20.0}


# ---------------------------------------------------------------------------------------------------------
# normalisation


_normalisers: dict = {}


def normalise(text: str, language: str) -> list[str]:
    """The words of `text` as the repo's WER counts them (see module docstring)."""
    kind = "en" if language == "en" else "basic"
    if kind not in _normalisers:
        if kind == "en":
            from whisper_normalizer.english import EnglishTextNormalizer

            _normalisers[kind] = EnglishTextNormalizer()
        else:
            from whisper_normalizer.basic import BasicTextNormalizer

            _normalisers[kind] = BasicTextNormalizer()
    return _normalisers[kind](text).split()


# ---------------------------------------------------------------------------------------------------------
# reading


def read_rttm(path: Path):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=path.stem)
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            start, dur = float(f[3]), float(f[4])
            ann[Segment(start, start + dur), len(ann)] = f[7]
    return ann


def join_words(words: list[dict]) -> str:
    """Words as the worker gives them ("word" may carry its leading space) back into text."""
    out = ""
    for w in words:
        t = str(w.get("word", ""))
        out += t if t[:1].isspace() or not out else " " + t
    return out.strip()


def hypothesis_pieces(hyp: dict) -> list[dict]:
    """Runs of one speaker's words within each segment: {start, end, speaker, text}."""
    pieces = []
    for seg in hyp.get("segments", []):
        words = seg.get("words") or []
        if not words:
            pieces.append({"start": seg["start"], "end": seg["end"], "speaker": str(seg.get("speaker")), "text": seg.get("text", "")})
            continue
        run: list[dict] = []
        for w in words:
            spk = str(w.get("speaker") or seg.get("speaker"))
            if run and spk != run[-1]["_spk"]:
                pieces.append(_piece(run))
                run = []
            run.append({**w, "_spk": spk})
        pieces.append(_piece(run))
    return pieces


def _piece(run: list[dict]) -> dict:
    return {"start": run[0]["start"], "end": run[-1]["end"], "speaker": run[0]["_spk"], "text": join_words(run)}


def hypothesis_turns(hyp: dict, source: str) -> tuple[list[tuple[float, float, str]], str]:
    """Speaker turns for DER: [(start, end, speaker)], and which source they came from."""
    if source in ("auto", "diarization") and hyp.get("diarization"):
        return [(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in hyp["diarization"]], "diarization"
    if source == "diarization":
        raise ValueError("hypothesis has no 'diarization' turns")
    turns = []
    if source == "words":
        words = sorted(
            (
                (float(w["start"]), float(w["end"]), str(w.get("speaker") or s.get("speaker")))
                for s in hyp.get("segments", [])
                for w in s.get("words") or []
            ),
        )
        for s, e, spk in words:
            if turns and turns[-1][2] == spk and s - turns[-1][1] <= 0.3:
                turns[-1] = (turns[-1][0], max(e, turns[-1][1]), spk)
            else:
                turns.append((s, e, spk))
        return turns, "words"
    for seg in hyp.get("segments", []):
        words = seg.get("words") or []
        spks = {str(w.get("speaker") or seg.get("speaker")) for w in words}
        if source == "segments" or len(spks) <= 1:
            turns.append(
                (
                    float(seg["start"]),
                    float(seg["end"]),
                    str(seg.get("speaker") if seg.get("speaker") is not None else (spks or {"?"}).pop()),
                )
            )
            continue
        runs = [p for p in hypothesis_pieces({"segments": [seg]})]
        runs[0]["start"], runs[-1]["end"] = seg["start"], seg["end"]
        turns += [(float(p["start"]), float(p["end"]), p["speaker"]) for p in runs]
    return turns, "segments" if source == "segments" else "auto"


def speaker_count(hyp: dict) -> int:
    if hyp.get("speakers"):
        return len({str(s["id"]) for s in hyp["speakers"]})
    labels = {str(s.get("speaker")) for s in hyp.get("segments", []) if s.get("speaker") is not None}
    labels |= {str(w["speaker"]) for s in hyp.get("segments", []) for w in s.get("words") or [] if w.get("speaker") is not None}
    return len(labels)


# ---------------------------------------------------------------------------------------------------------
# scoring


def score_file(set_dir: Path, entry: dict, hyp: dict, der_from: str = "auto") -> dict:
    from meeteval.wer import cp_word_error_rate
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    fid, language = entry["id"], entry["language"]
    reference = read_rttm(set_dir / entry["rttm"])
    turns, used = hypothesis_turns(hyp, der_from)
    hypothesis = Annotation(uri=fid)
    for s, e, spk in turns:
        if e > s:
            hypothesis[Segment(s, e), len(hypothesis)] = spk
    hypothesis = hypothesis.support()  # one speaker's touching or overlapping turns merged
    uem = Timeline([Segment(0, entry["seconds"])], uri=fid)
    der = {}
    for name, collar in COLLARS.items():
        d = DiarizationErrorRate(collar=collar, skip_overlap=False)(reference, hypothesis, uem=uem, detailed=True)
        der[name] = {k: float(d[k]) for k in ("confusion", "missed detection", "false alarm", "total")}

    ref_segs = json.loads((set_dir / entry["seglst"]).read_text())
    ref = [
        {
            "session_id": fid,
            "speaker": r["speaker"],
            "start_time": r["start_time"],
            "end_time": r["end_time"],
            "words": " ".join(normalise(r["words"], language)),
        }
        for r in ref_segs
    ]
    hy = [
        {
            "session_id": fid,
            "speaker": p["speaker"],
            "start_time": float(p["start"]),
            "end_time": float(p["end"]),
            "words": " ".join(normalise(p["text"], language)),
        }
        for p in hypothesis_pieces(hyp)
    ]
    cp = cp_word_error_rate(ref, hy)
    # plain WER: the reference in order of clip start, the hypothesis in the order the worker wrote it
    plain = cp_word_error_rate(
        [{"session_id": fid, "speaker": "all", "words": r["words"]} for r in sorted(ref, key=lambda r: r["start_time"])],
        [{"session_id": fid, "speaker": "all", "words": h["words"]} for h in hy],
        reference_sort=False,
        hypothesis_sort=False,
    )
    out = {
        "id": fid,
        "subset": entry["subset"],
        "language": language,
        "seconds": entry["seconds"],
        "ref_speakers": entry["num_speakers"],
        "hyp_speakers": speaker_count(hyp),
        "der_from": used,
        "der": der,
        "cpwer": {"errors": cp.errors, "length": cp.length, "missed_speaker": cp.missed_speaker, "falarm_speaker": cp.falarm_speaker},
        "wer": {"errors": plain.errors, "length": plain.length},
    }
    if hyp.get("diarization_seconds"):
        out["diarization_seconds"] = float(hyp["diarization_seconds"])
    return out


def aggregate(rows: list[dict]) -> dict:
    """Sums over files: DER per collar, speaker-count accuracy, cpWER and WER."""
    if not rows:
        return {"files": 0}
    out: dict = {"files": len(rows), "seconds": round(sum(r["seconds"] for r in rows), 2), "der": {}}
    for name in COLLARS:
        c = {k: sum(r["der"][name][k] for r in rows) for k in ("confusion", "missed detection", "false alarm", "total")}
        err = c["confusion"] + c["missed detection"] + c["false alarm"]
        out["der"][name] = {
            "der": round(err / c["total"], 5),
            "missed": round(c["missed detection"] / c["total"], 5),
            "false_alarm": round(c["false alarm"] / c["total"], 5),
            "confusion": round(c["confusion"] / c["total"], 5),
        }
    right = sum(r["ref_speakers"] == r["hyp_speakers"] for r in rows)
    out["speaker_count"] = {
        "accuracy": round(right / len(rows), 4),
        "correct": right,
        "over": sum(r["hyp_speakers"] > r["ref_speakers"] for r in rows),
        "under": sum(r["hyp_speakers"] < r["ref_speakers"] for r in rows),
        "mean_abs_error": round(sum(abs(r["hyp_speakers"] - r["ref_speakers"]) for r in rows) / len(rows), 3),
    }
    words = sum(r["wer"]["length"] for r in rows)
    cp = sum(r["cpwer"]["errors"] for r in rows) / max(1, sum(r["cpwer"]["length"] for r in rows))
    wer = sum(r["wer"]["errors"] for r in rows) / max(1, words)
    out["cpwer"] = round(cp, 5)
    out["wer"] = round(wer, 5)
    out["cpwer_minus_wer_points"] = round(100 * (cp - wer), 3)
    out["ref_words"] = words
    timed = [r for r in rows if r.get("diarization_seconds")]
    if timed:
        out["speed_x_realtime"] = round(sum(r["seconds"] for r in timed) / sum(r["diarization_seconds"] for r in timed), 2)
    return out


def score(set_dir: str | Path = DEFAULT_SET, hyp_dir: str | Path = "", *, der_from: str = "auto", strict: bool = False) -> dict:
    """Scores every <id>.json in hyp_dir that the set has; returns the report (see module docstring)."""
    set_dir, hyp_dir = Path(set_dir), Path(hyp_dir)
    manifest = json.loads((set_dir / "manifest.json").read_text())
    rows, missing = [], []
    for entry in manifest["files"] + [manifest["speed"]]:
        path = hyp_dir / f"{entry['id']}.json"
        if not path.exists():
            missing.append(entry["id"])
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows.append(score_file(set_dir, entry, json.loads(path.read_text()), der_from))
    if strict and [m for m in missing if m != manifest["speed"]["id"]]:
        raise FileNotFoundError(f"no hypothesis for {missing}")
    evals = [r for r in rows if r["subset"] != "speed"]
    mono = [r for r in evals if r["language"] != "mixed"]
    report = {
        "set": str(set_dir),
        "hypotheses": str(hyp_dir),
        "set_builder": {k: manifest[k] for k in ("builder_version", "seed")} | {"files": len(manifest["files"])},
        "missing": missing,
        "all": aggregate(evals),
        "monolingual": aggregate(mono),
        "by_language": {g: aggregate([r for r in evals if r["language"] == g]) for g in sorted({r["language"] for r in evals})},
        "by_speakers": {
            str(n): aggregate([r for r in evals if r["ref_speakers"] == n]) for n in sorted({r["ref_speakers"] for r in evals})
        },
        "speed_file": aggregate([r for r in rows if r["subset"] == "speed"]),
        "files": rows,
    }
    a = report["all"]
    if a["files"]:
        report["goals"] = {
            "der_collar_0.25": {
                "value": a["der"]["collar_0.25"]["der"],
                "max": GOALS["der_max"],
                "met": a["der"]["collar_0.25"]["der"] <= GOALS["der_max"],
            },
            "speaker_count_accuracy": {
                "value": a["speaker_count"]["accuracy"],
                "min": GOALS["count_accuracy_min"],
                "met": a["speaker_count"]["accuracy"] >= GOALS["count_accuracy_min"],
            },
            "cpwer_minus_wer_points (monolingual files)": {
                "value": report["monolingual"].get("cpwer_minus_wer_points"),
                "max": GOALS["cpwer_delta_max_points"],
                "met": report["monolingual"].get("files", 0) > 0
                and report["monolingual"]["cpwer_minus_wer_points"] <= GOALS["cpwer_delta_max_points"],
            },
        }
        sp = report["speed_file"].get("speed_x_realtime") or a.get("speed_x_realtime")
        if sp:
            report["goals"]["speed_x_realtime"] = {"value": sp, "min": GOALS["speed_min"], "met": sp >= GOALS["speed_min"]}
    return report


def summary(report: dict) -> str:
    lines = [
        f"{'group':<14}{'files':>6}{'DER c0':>9}{'DER c.25':>9}{'miss':>7}{'FA':>7}{'conf':>7}{'count':>7}"
        f"{'cpWER':>8}{'WER':>8}{'d pts':>7}"
    ]

    def row(name, a):
        if not a.get("files"):
            return
        d0, d = a["der"]["collar_0"], a["der"]["collar_0.25"]
        lines.append(
            f"{name:<14}{a['files']:>6}{d0['der']:>9.2%}{d['der']:>9.2%}{d['missed']:>7.1%}{d['false_alarm']:>7.1%}{d['confusion']:>7.1%}"
            f"{a['speaker_count']['accuracy']:>7.0%}{a['cpwer']:>8.2%}{a['wer']:>8.2%}{a['cpwer_minus_wer_points']:>7.2f}"
        )

    row("all", report["all"])
    row("monolingual", report["monolingual"])
    for k, v in report["by_language"].items():
        row(f"lang {k}", v)
    for k, v in report["by_speakers"].items():
        row(f"{k} speakers", v)
    row("speed file", report["speed_file"])
    for k, v in report.get("goals", {}).items():
        lines.append(f"goal {k}: {v['value']} ({'met' if v['met'] else 'NOT met'})")
    if report["missing"]:
        lines.append(f"missing hypotheses: {', '.join(report['missing'])}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# self-check: the references as hypotheses, and hypotheses that are wrong in known ways


def reference_hypothesis(set_dir: Path, entry: dict) -> dict:
    """The reference in the worker's format: a segment per reference speech region (so DER is exactly 0),
    the clip's words spread over its regions."""
    regions = [line.split() for line in (set_dir / entry["rttm"]).read_text().splitlines()]
    regions = [(float(f[3]), float(f[3]) + float(f[4]), f[7]) for f in regions]
    segments = []
    for clip in json.loads((set_dir / entry["seglst"]).read_text()):
        mine = [r for r in regions if r[2] == clip["speaker"] and clip["start_time"] - 2e-3 <= r[0] and r[1] <= clip["end_time"] + 2e-3]
        words = clip["words"].split()
        total = sum(e - s for s, e, _ in mine)
        # words to regions in proportion to their length, in order
        cut, acc = [0], 0.0
        for s, e, _ in mine:
            acc += e - s
            cut.append(round(len(words) * acc / total))
        for (s, e, spk), a, b in zip(mine, cut, cut[1:], strict=False):
            ws = words[a:b]
            step = (e - s) / max(1, len(ws))
            segments.append(
                {
                    "start": s,
                    "end": e,
                    "text": " ".join(ws),
                    "speaker": spk,
                    "words": [
                        {"start": s + i * step, "end": s + (i + 1) * step, "word": " " + w, "speaker": spk} for i, w in enumerate(ws)
                    ],
                }
            )
    # in reference order (clip by clip, by clip start) as a transcript would list them
    seconds: dict[str, float] = {}
    for s, e, spk in regions:
        seconds[spk] = seconds.get(spk, 0.0) + e - s
    return {"segments": segments, "speakers": [{"id": k, "name": k, "seconds": round(v, 2)} for k, v in sorted(seconds.items())]}


def relabel(hyp: dict, label) -> dict:
    """The hypothesis with each segment's speaker replaced by label(segment index, old speaker)."""
    out = json.loads(json.dumps(hyp))
    for i, seg in enumerate(out["segments"]):
        seg["speaker"] = label(i, seg["speaker"])
        for w in seg["words"]:
            w["speaker"] = seg["speaker"]
    labels = sorted({s["speaker"] for s in out["segments"]})
    out["speakers"] = [{"id": x, "name": x, "seconds": 0.0} for x in labels]
    return out


def drop_words(hyp: dict, rng: random.Random, share: float) -> dict:
    """The hypothesis with a share of its words deleted and as many replaced: ASR errors, speakers right."""
    out = json.loads(json.dumps(hyp))
    for seg in out["segments"]:
        kept = []
        for w in seg["words"]:
            r = rng.random()
            if r < share:
                continue
            if r < 2 * share:
                w = {**w, "word": " xyzzy"}
            kept.append(w)
        seg["words"] = kept
        seg["text"] = join_words(kept)
    return out


def jitter(hyp: dict, rng: random.Random, most: float) -> dict:
    """The hypothesis with each segment's start and end moved by up to `most` seconds: boundary errors only."""
    out = json.loads(json.dumps(hyp))
    for seg in out["segments"]:
        seg["start"] += rng.uniform(-most, most)
        seg["end"] = max(seg["start"] + 0.05, seg["end"] + rng.uniform(-most, most))
    return out


def self_check(set_dir: Path, work: Path) -> dict:
    manifest = json.loads((set_dir / "manifest.json").read_text())
    rng = random.Random(7)
    kinds = ["reference", "one-speaker", "random-labels", "over-split", "boundaries-0.2s", "asr-errors-10pct"]
    for k in kinds:
        shutil.rmtree(work / k, ignore_errors=True)
        (work / k).mkdir(parents=True)
    for entry in manifest["files"] + [manifest["speed"]]:
        ref = reference_hypothesis(set_dir, entry)
        spk = sorted({s["speaker"] for s in ref["segments"]})
        hyps = {
            "reference": ref,
            "one-speaker": relabel(ref, lambda i, s: "SPEAKER_00"),
            "random-labels": relabel(ref, lambda i, s, spk=spk: rng.choice(spk)),
            # every speaker split in two: each of their segments goes to one of two labels by turns
            "over-split": relabel(ref, lambda i, s: f"{s}#{i % 2}"),
            "boundaries-0.2s": jitter(ref, rng, 0.2),
            "asr-errors-10pct": drop_words(ref, rng, 0.05),
        }
        for k, h in hyps.items():
            (work / k / f"{entry['id']}.json").write_text(json.dumps(h, ensure_ascii=False))
    results = {k: score(set_dir, work / k, strict=True) for k in kinds}
    r = results["reference"]["all"]
    assert r["der"]["collar_0"]["der"] == 0 and r["der"]["collar_0.25"]["der"] == 0, r["der"]
    assert r["cpwer"] == 0 and r["wer"] == 0 and r["speaker_count"]["accuracy"] == 1, r
    assert results["one-speaker"]["all"]["wer"] == 0 and results["random-labels"]["all"]["wer"] == 0
    for k in ("one-speaker", "random-labels", "over-split"):
        a = results[k]["all"]
        assert a["der"]["collar_0.25"]["der"] > 0.1 and a["cpwer"] > 0.1, (k, a)
    b = results["boundaries-0.2s"]["all"]["der"]
    assert b["collar_0.25"]["der"] < 0.2 * b["collar_0"]["der"], b  # the collar forgives boundary errors
    # plain WER is the repo's WER: jiwer over the same normalised text (bench/wer.py does the same for English)
    import jiwer

    e = results["asr-errors-10pct"]
    for row in e["files"]:
        if row["language"] == "en":
            entry = next(f for f in manifest["files"] if f["id"] == row["id"])
            ref = " ".join(
                " ".join(normalise(x["words"], "en"))
                for x in sorted(json.loads((set_dir / entry["seglst"]).read_text()), key=lambda x: x["start_time"])
            )
            hyp = json.loads((work / "asr-errors-10pct" / f"{row['id']}.json").read_text())
            hyp_text = " ".join(" ".join(normalise(p["text"], "en")) for p in hypothesis_pieces(hyp))
            w = jiwer.process_words(ref, hyp_text)
            assert w.substitutions + w.deletions + w.insertions == row["wer"]["errors"], (row, w)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description="Scores diarization hypotheses (DER, speaker count, cpWER vs WER).")
    ap.add_argument("hyp_dir", nargs="?", type=Path, help="folder of <file id>.json hypotheses")
    ap.add_argument("--set", type=Path, default=DEFAULT_SET, help="the set build_set.py wrote")
    ap.add_argument("--der-from", choices=["auto", "diarization", "segments", "words"], default="auto")
    ap.add_argument("--json", type=Path, help="write the full report here")
    ap.add_argument("--strict", action="store_true", help="fail when an evaluation file has no hypothesis")
    ap.add_argument("--self-check", action="store_true", help="score the references and known-bad hypotheses")
    args = ap.parse_args()
    if args.self_check:
        work = ROOT / ".cache/diarization-selfcheck"
        out = self_check(args.set, work)
        for k, report in out.items():
            print(f"== {k} (hypotheses in {work / k})")
            print(summary(report))
        if args.json:
            keep = ("all", "monolingual", "by_language", "by_speakers", "speed_file", "goals")
            args.json.write_text(json.dumps({k: {x: v[x] for x in keep if x in v} for k, v in out.items()}, indent=1))
        print("self-check passed")
        return
    if not args.hyp_dir:
        ap.error("give HYP_DIR or --self-check")
    report = score(args.set, args.hyp_dir, der_from=args.der_from, strict=args.strict)
    print(summary(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
