#!/usr/bin/env python3
"""Builds the speaker-diarization evaluation set: conversations mixed from real recordings.

    nice -n 19 .cache/bench-venv/bin/python bench/diarization/build_set.py [--out .cache/diarization-set]

Every source is a recording of a real person that ships in a Debian package (see README.md for the list,
the licences and why these). The script reads each package where it is installed and otherwise fetches it
with `apt-get download` and unpacks it with `dpkg-deb -x` into --sources (no root needed, nothing installed).
It needs `sox` (scripts/ensure-system-deps.sh sox) and numpy; nothing else.

The same packages and the same --seed give the same files, byte for byte (manifest.json records the
package versions and each file's sha256).

What it writes under --out:
    audio/<id>.wav          16 kHz mono 16-bit PCM
    rttm/<id>.rttm          reference speaker turns (one line per speech region, see below)
    ref/<id>.seglst.json    reference transcript per speaker, meeteval SegLST (one entry per source clip)
    ref/<id>.stm            the same as STM
    manifest.json           per file: subset, language, speakers, seconds, overlap, clips used; set statistics

Reference turns. Each source clip is cut to its speech with an energy check (10 ms frames; a frame is speech
when its level is above max(loudest frame - 35 dB, the clip's noise floor + 12 dB, -60 dBFS); pauses under
0.3 s inside a clip are bridged, blips under 0.08 s dropped; a clip whose quietest frames are within 28 dB
of its loudest, i.e. one with music or noise under the voice, is not used). A clip keeps 50 ms of its own audio around that
speech, faded, so no onset is cut; the RTTM marks only the speech regions, at the sample where the clip was
placed. A turn is 1-3 consecutive clips of one speaker (1-15 s); a turn may start while the previous one is
still talking (overlap), never while two others are.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SR = 16000
SEED = 20250601
BUILDER_VERSION = 1
FRAME = SR // 100  # 10 ms

# ---------------------------------------------------------------------------------------------------------
# Sources: Debian packages holding recordings of real people, with what each person said.

PACKAGES = {
    # package: a file that shows it is there, relative to the file-system root
    "pocketsphinx-testdata": "usr/share/pocketsphinx/test/data/librivox/transcription",
    "alsa-utils": "usr/share/sounds/alsa/Front_Center.wav",
    "sphinxtrain": "usr/lib/*/sphinxtrain/python/cmusphinx/test/sa1.wav",
    "fillets-ng-data": "usr/share/games/fillets-ng/script/start/dialogs_cs.lua",
    "fillets-ng-data-cs": "usr/share/games/fillets-ng/sound/start/cs/1st-m-cotobylo.ogg",
    "fillets-ng-data-nl": "usr/share/games/fillets-ng/sound/start/nl/1st-m-cotobylo.ogg",
}

# Speakers: one real person each. Only voices whose identity is certain are used (see README.md).
SPEAKERS = {
    "fillets-cs-small": ("cs", "fillets-ng-data-cs", "Fish Fillets NG, Czech voice of the small fish (font_small)"),
    "fillets-cs-big": ("cs", "fillets-ng-data-cs", "Fish Fillets NG, Czech voice of the big fish (font_big)"),
    "fillets-nl-small": ("nl", "fillets-ng-data-nl", "Fish Fillets NG, Dutch voice of the small fish (font_small)"),
    "fillets-nl-big": ("nl", "fillets-ng-data-nl", "Fish Fillets NG, Dutch voice of the big fish (font_big)"),
    "en-librivox": ("en", "pocketsphinx-testdata", "LibriVox reader of Sense and Sensibility ch. 1 (librivox/)"),
    "en-cards": ("en", "pocketsphinx-testdata", "speaker of the cards/ test (playing cards)"),
    "en-tidigits": ("en", "pocketsphinx-testdata", "TIDIGITS speaker dhd (tidigits/dhd.2934z.raw)"),
    "en-timit": ("en", "sphinxtrain", "TIMIT sentence SA1 (cmusphinx/test/sa1.wav)"),
    "en-alsa": ("en", "alsa-utils", "voice of ALSA's speaker-test channel names (sounds/alsa/)"),
}
FILLETS_ROLES = {"font_small": "small", "font_big": "big"}


@dataclass
class Clip:
    key: str  # unique, e.g. fillets-cs:start/1st-m-cotobylo
    speaker: str
    text: str
    path: str
    raw: bool = False  # headerless 16-bit 16 kHz
    order: tuple = ()  # where it stands in its source's own order (level, line)


@dataclass
class Audio:
    samples: np.ndarray  # float32, 16 kHz, with 50 ms of pad around the speech
    regions: list  # [(start_s, end_s)] of speech, relative to samples[0]
    level_db: float  # level of the speech frames, dBFS

    @property
    def speech(self) -> float:
        return self.regions[-1][1] - self.regions[0][0]


def package_root(package: str, sources: Path) -> Path:
    """Where the package's files are: / if installed, else an unpacked copy under `sources` (fetched once)."""
    probe = PACKAGES[package]
    if glob.glob("/" + probe):
        return Path("/")
    unpacked = sources / package
    if glob.glob(str(unpacked / probe)):
        return unpacked
    debs = sources / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    print(f"fetching Debian package {package} (not installed)", file=sys.stderr)
    got = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        sys.exit(
            f"build_set: cannot get {package}: {got.stderr.strip()}\ninstall it (apt-get install {package}) or run apt-get update first"
        )
    tmp = sources / (package + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(tmp)], check=True)
    version = subprocess.run(["dpkg-deb", "-f", str(found[-1]), "Version"], capture_output=True, text=True).stdout
    (tmp / "DEBIAN-VERSION").write_text(version)
    tmp.rename(unpacked)
    found[-1].unlink()
    return unpacked


def package_version(package: str, root: Path) -> str:
    if root == Path("/"):
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
        return out.stdout.strip() or "installed"
    return (root / "DEBIAN-VERSION").read_text().strip()


def catalogue(roots: dict[str, Path]) -> dict[str, list[Clip]]:
    """Every usable clip, by speaker, in its source's own order."""
    clips: dict[str, list[Clip]] = {s: [] for s in SPEAKERS}
    ps = roots["pocketsphinx-testdata"] / "usr/share/pocketsphinx/test/data"
    for line in (ps / "librivox/transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
        if m:
            clips["en-librivox"].append(Clip(f"librivox:{m[2]}", "en-librivox", m[1].strip(), str(ps / f"librivox/{m[2]}.wav")))
    for line in (ps / "cards/cards.transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
        if m:
            clips["en-cards"].append(Clip(f"cards:{m[2]}", "en-cards", m[1].strip(), str(ps / f"cards/{m[2]}.wav")))
    # TIDIGITS names a file by its digits: dhd.2934z = "two nine three four zero"
    clips["en-tidigits"].append(
        Clip("tidigits:dhd.2934z", "en-tidigits", "two nine three four zero", str(ps / "tidigits/dhd.2934z.raw"), raw=True)
    )
    sa1 = glob.glob(str(roots["sphinxtrain"] / PACKAGES["sphinxtrain"]))[0]
    clips["en-timit"].append(Clip("timit:sa1", "en-timit", "she had your dark suit in greasy wash water all year", sa1))
    alsa = roots["alsa-utils"] / "usr/share/sounds/alsa"
    for name in ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right", "Side_Left", "Side_Right"):
        clips["en-alsa"].append(Clip(f"alsa:{name}", "en-alsa", name.replace("_", " ").lower(), str(alsa / f"{name}.wav")))

    # Fish Fillets NG: the subtitles (fillets-ng-data) say who speaks (font) and what (per language).
    script = roots["fillets-ng-data"] / "usr/share/games/fillets-ng/script"
    entry = re.compile(r'dialogId\("([^"]+)",\s*"([^"]*)",\s*"(?:[^"\\]|\\.)*"\)\s*dialogStr\("((?:[^"\\]|\\.)*)"\)')
    for lang in ("cs", "nl"):
        sound = roots[f"fillets-ng-data-{lang}"] / "usr/share/games/fillets-ng/sound"
        files = {Path(p).stem: p for p in sorted(glob.glob(str(sound / f"**/{lang}/*.ogg"), recursive=True))}
        level_files = sorted(glob.glob(str(script / f"*/dialogs_{lang}.lua"))) + sorted(
            glob.glob(str(script / f"share/*_dialogs_{lang}.lua"))
        )
        seen = set()
        for li, lua in enumerate(level_files):
            level = Path(lua).parent.name if Path(lua).parent.name != "share" else Path(lua).name.split("_")[0]
            for ni, m in enumerate(entry.finditer(Path(lua).read_text(encoding="utf-8"))):
                ident, font, text = m[1], m[2], m[3].replace('\\"', '"').replace("\\\\", "\\")
                if font not in FILLETS_ROLES or ident not in files or ident in seen or not re.search(r"\w", text):
                    continue
                seen.add(ident)
                spk = f"fillets-{lang}-{FILLETS_ROLES[font]}"
                clips[spk].append(Clip(f"fillets-{lang}:{level}/{ident}", spk, text, files[ident], order=(li, ni)))
    return clips


def load(clip: Clip, cache: dict[str, Audio | None]) -> Audio | None:
    """The clip at 16 kHz cut to its speech (None when it has too little); decoded once."""
    if clip.key in cache:
        return cache[clip.key]
    src = ["-t", "raw", "-e", "signed-integer", "-b", "16", "-r", "16000", "-c", "1", "-L"] if clip.raw else []
    out = subprocess.run(
        ["sox", "-D", "-V1", *src, clip.path, "-t", "f32", "-e", "floating-point", "-c", "1", "-r", str(SR), "-"],
        capture_output=True,
        check=True,
    ).stdout
    x = np.frombuffer(out, dtype="<f4").astype(np.float64)
    cache[clip.key] = audio = speech_of(x)
    return audio


def speech_of(x: np.ndarray) -> Audio | None:
    n = len(x) // FRAME
    if n < 10:
        return None
    frames = x[: n * FRAME].reshape(n, FRAME)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    floor = np.percentile(db, 5)
    if db.max() - floor < 28:  # music or noise under the voice: no clean speech boundaries
        return None
    threshold = max(db.max() - 35, floor + 12, -60)
    on = db > threshold
    # runs of speech frames; bridge pauses < 0.3 s, drop blips < 0.08 s
    runs, i = [], 0
    while i < n:
        if on[i]:
            j = i
            while j < n and on[j]:
                j += 1
            runs.append([i, j])
            i = j
        else:
            i += 1
    merged = []
    for r in runs:
        if merged and r[0] - merged[-1][1] < 30:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    merged = [r for r in merged if r[1] - r[0] >= 8]
    if not merged or sum(r[1] - r[0] for r in merged) < 50:  # under 0.5 s of speech
        return None
    pad = 5  # frames = 50 ms
    a, b = max(0, merged[0][0] - pad), min(n, merged[-1][1] + pad)
    y = x[a * FRAME : b * FRAME].copy()
    fade = np.linspace(0, 1, min(pad, merged[0][0] - a) * FRAME + 1)[1:]
    y[: len(fade)] *= fade
    fade = np.linspace(1, 0, min(pad, b - merged[-1][1]) * FRAME + 1)[:-1]
    if len(fade):
        y[-len(fade) :] *= fade
    level = 10 * np.log10(np.mean(np.concatenate([frames[s:e] for s, e in merged]) ** 2) + 1e-12)
    regions = [((s - a) * FRAME / SR, (e - a) * FRAME / SR) for s, e in merged]
    return Audio(y.astype(np.float64), regions, float(level))


# ---------------------------------------------------------------------------------------------------------
# Conversations


@dataclass
class Placed:
    clip: Clip
    audio: Audio
    start: float  # where samples[0] of the clip lands in the file, seconds
    gain_db: float
    turn: int

    @property
    def regions(self):
        return [(self.start + s, self.start + e) for s, e in self.audio.regions]


@dataclass
class Conversation:
    id: str
    subset: str
    speakers: list
    placed: list = field(default_factory=list)


class Pools:
    """Each speaker's clips, handed out without repeating until a speaker's are all used."""

    def __init__(self, clips: dict[str, list[Clip]], cache: dict, rng: random.Random):
        self.clips, self.cache, self.rng = clips, cache, rng
        self.used: set[str] = set()
        self.file_uses: dict[str, int] = {}  # clip -> times used in the conversation being built

    def usable(self, clip: Clip) -> Audio | None:
        a = load(clip, self.cache)
        return a if a is not None and a.speech <= 14.0 else None

    def in_order(self, speakers: list[str], start_at: float) -> list[tuple[Clip, Audio]]:
        """The speakers' unused clips in their source order (dialogue order), starting at a point of it."""
        merged = sorted((c for s in speakers for c in self.clips[s]), key=lambda c: c.order)
        k = int(start_at * len(merged))
        out = []
        for c in merged[k:] + merged[:k]:
            if c.key in self.used:
                continue
            a = self.usable(c)
            if a is not None:
                out.append((c, a))
        return out

    def draw(self, speaker: str, reuse_ok: bool, exclude: set[str]) -> tuple[Clip, Audio] | None:
        """A random clip of the speaker not used before; with reuse_ok, once there is none, one used fewest
        times in this file, at most twice a file. Never one in `exclude` (the turn being built)."""
        fresh = [c for c in self.clips[speaker] if c.key not in self.used and c.key not in exclude]
        self.rng.shuffle(fresh)
        pick = next(((c, a) for c in fresh if (a := self.usable(c)) is not None), None)
        if pick is None and reuse_ok:
            cands = [(c, a) for c in self.clips[speaker] if c.key not in exclude and (a := self.usable(c)) is not None]
            least = min((self.file_uses.get(c.key, 0) for c, _ in cands), default=2)
            if least < 2:
                pick = self.rng.choice([(c, a) for c, a in cands if self.file_uses.get(c.key, 0) == least])
        if pick is not None:
            self.used.add(pick[0].key)
            self.file_uses[pick[0].key] = self.file_uses.get(pick[0].key, 0) + 1
        return pick


def turns_in_order(sequence: list[tuple[Clip, Audio]], rng: random.Random, target: float) -> list[list[tuple[Clip, Audio]]]:
    """Dialogue-order clips grouped into turns: consecutive lines of one speaker, 1-3 clips, 1-15 s."""
    turns, total = [], 0.0
    for c, a in sequence:
        if total >= target:
            break
        last = turns[-1] if turns else None
        if (
            last
            and last[-1][0].speaker == c.speaker
            and len(last) < 3
            and sum(x[1].speech for x in last) + a.speech + 0.45 * len(last) <= 15
            and (sum(x[1].speech for x in last) < 1.0 or rng.random() < 0.5)
        ):
            last.append((c, a))
        elif last and last[-1][0].speaker == c.speaker:
            continue  # one speaker's monologue too long for one turn: skip the line (keeps turns alternating)
        else:
            turns.append([(c, a)])
        total += a.speech + 0.4
    # a turn under 1 s goes, and so does a turn that would then follow one of the same speaker
    kept = []
    for t in turns:
        if sum(x[1].speech for x in t) >= 1.0 and not (kept and kept[-1][0][0].speaker == t[0][0].speaker):
            kept.append(t)
    return kept


def turns_drawn(pools: Pools, speakers: list[str], rng: random.Random, target: float, scarce: set[str]) -> list[list[tuple[Clip, Audio]]]:
    """Turns of randomly chosen speakers (never the one who just spoke), each with at least two turns."""
    pools.file_uses.clear()
    turns, total, count, current, spent = [], 0.0, {s: 0 for s in speakers}, None, set()
    while total < target or min(count.values()) < 2:
        others = [s for s in speakers if s != current and s not in spent]
        if not others:
            break
        weights = [1.0 / (1 + count[s]) for s in others]
        spk = rng.choices(others, weights)[0]
        n = rng.choices([1, 2, 3], [0.6, 0.3, 0.1])[0]
        turn = []
        while len(turn) < n or sum(x[1].speech for x in turn) < 1.0:
            got = pools.draw(spk, spk in scarce, {c.key for c, _ in turn})
            if got is None:
                if not turn:
                    spent.add(spk)
                break
            if sum(x[1].speech for x in turn) + got[1].speech + 0.45 * len(turn) > 15:
                break
            turn.append(got)
        if not turn or sum(x[1].speech for x in turn) < 1.0:
            continue
        turns.append(turn)
        count[spk] += 1
        current = spk
        total += sum(x[1].speech for x in turn) + 0.4
    if min(count.values()) < 2:
        raise RuntimeError(f"too few clips for two turns each: {count}")
    return turns


def place(conv: Conversation, turns: list, rng: random.Random, p_overlap: float) -> None:
    """Lays the turns out in time: a gap after the previous turn, or an overlap with it; each speaker's level."""
    level = {s: rng.uniform(-27.0, -21.0) for s in conv.speakers}
    spans: list[tuple[str, float, float]] = []  # (speaker, start, end) of each turn placed so far
    for k, turn in enumerate(turns):
        spk = turn[0][0].speaker
        dur = sum(a.speech for _, a in turn)
        if not spans:
            start = 0.5
        elif rng.random() < p_overlap:
            _, prev_start, prev_end = spans[-1]
            start = prev_end - min(rng.uniform(0.3, 1.8), 0.5 * dur, 0.5 * (prev_end - prev_start))
        else:
            start = spans[-1][2] + (rng.uniform(1.0, 2.5) if rng.random() < 0.1 else rng.uniform(0.15, 1.0))
        # at most two voices at once, and never one speaker over themself
        if len(spans) >= 2:
            start = max(start, max(e for _, _, e in spans[:-1]) + 0.05)
        start = max([start] + [e + 0.2 for s, _, e in spans if s == spk])
        pos = start
        for i, (c, a) in enumerate(turn):
            if i:
                pos += rng.uniform(0.15, 0.45)  # pause between one speaker's lines
            gain = level[spk] + rng.uniform(-1.5, 1.5) - a.level_db
            conv.placed.append(Placed(c, a, pos - a.regions[0][0], gain, k))
            pos += a.speech
        spans.append((spk, start, pos))


def render(conv: Conversation, seed: int, length: float | None = None) -> tuple[np.ndarray, list]:
    """The mixed audio (float) and the reference regions [(start, end, speaker)]."""
    length = length or max(p.start + len(p.audio.samples) / SR for p in conv.placed) + 0.5
    mix = np.zeros(int(round(length * SR)), dtype=np.float64)
    regions = []
    for p in conv.placed:
        i = int(round(p.start * SR))
        mix[i : i + len(p.audio.samples)] += p.audio.samples * 10 ** (p.gain_db / 20)
        for s, e in p.audio.regions:  # on a 1 ms grid, as the RTTM and SegLST write them
            regions.append((round(i / SR + s, 3), round(i / SR + e, 3), p.clip.speaker, p.clip))
    peak = np.abs(mix).max()
    if peak > 0.89:
        mix *= 0.89 / peak
    noise = np.random.default_rng(seed).standard_normal(len(mix)) * 10 ** (-66 / 20)
    return mix + noise, sorted(regions, key=lambda r: (r[0], r[2]))


def overlap_stats(regions: list) -> tuple[float, float]:
    """(seconds with >= 1 speaker, seconds with >= 2 speakers)."""
    events = sorted([(s, 1) for s, e, *_ in regions] + [(e, -1) for s, e, *_ in regions])
    active, last, speech, overlap = 0, 0.0, 0.0, 0.0
    for t, d in events:
        if active >= 1:
            speech += t - last
        if active >= 2:
            overlap += t - last
        active += d
        last = t
    return speech, overlap


def write(conv: Conversation, out: Path, seed: int, language: str, length: float | None = None) -> dict:
    mix, regions = render(conv, seed, length)
    pcm = np.clip(np.round(mix * 32767), -32768, 32767).astype("<i2")
    wav = out / "audio" / f"{conv.id}.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())
    with open(out / "rttm" / f"{conv.id}.rttm", "w") as f:
        for s, e, spk, _ in regions:
            f.write(f"SPEAKER {conv.id} 1 {s:.3f} {round(e - s, 3):.3f} <NA> <NA> {spk} <NA> <NA>\n")
    seglst, stm = [], []
    for p in sorted(conv.placed, key=lambda p: p.regions[0][0]):
        i = int(round(p.start * SR)) / SR
        s, e = i + p.audio.regions[0][0], i + p.audio.regions[-1][1]
        text = " ".join(p.clip.text.split())
        seglst.append(
            {
                "session_id": conv.id,
                "speaker": p.clip.speaker,
                "start_time": round(s, 3),
                "end_time": round(e, 3),
                "words": text,
                "source": p.clip.key,
            }
        )
        stm.append(f"{conv.id} 1 {p.clip.speaker} {s:.3f} {e:.3f} {text}")
    (out / "ref" / f"{conv.id}.seglst.json").write_text(json.dumps(seglst, ensure_ascii=False, indent=1) + "\n")
    (out / "ref" / f"{conv.id}.stm").write_text("\n".join(stm) + "\n")
    speech, overlap = overlap_stats(regions)
    per = {s: 0.0 for s in conv.speakers}
    for s, e, spk, _ in regions:
        per[spk] += e - s
    turns: dict[int, list] = {}
    for p in conv.placed:
        turns.setdefault(p.turn, []).extend(p.regions)
    turn_lengths = [max(e for _, e in r) - min(s for s, _ in r) for r in turns.values()]
    return {
        "id": conv.id,
        "subset": conv.subset,
        "language": language,
        "audio": f"audio/{conv.id}.wav",
        "rttm": f"rttm/{conv.id}.rttm",
        "seglst": f"ref/{conv.id}.seglst.json",
        "stm": f"ref/{conv.id}.stm",
        "seconds": round(len(pcm) / SR, 3),
        "num_speakers": len(conv.speakers),
        "speakers": [{"id": s, "seconds": round(per[s], 2)} for s in conv.speakers],
        "speech_seconds": round(speech, 2),
        "overlap_seconds": round(overlap, 2),
        "overlap_share": round(overlap / speech, 4),
        "clips": len(conv.placed),
        "reused_clips": len(conv.placed) - len({p.clip.key for p in conv.placed}),
        "words": sum(len(x["words"].split()) for x in seglst),
        "sha256": hashlib.sha256(wav.read_bytes()).hexdigest(),
        "turns": len(turn_lengths),
        "turn_seconds": {
            "min": round(min(turn_lengths), 2),
            "median": round(float(np.median(turn_lengths)), 2),
            "max": round(max(turn_lengths), 2),
        },
    }


# What the set holds: (subset, how many files, speakers, seconds of speech each aims at, language)
PLAN = [
    ("cs-2spk", 4, ["fillets-cs-small", "fillets-cs-big"], 65, "cs"),
    ("nl-2spk", 4, ["fillets-nl-small", "fillets-nl-big"], 65, "nl"),
    ("en-2spk", 1, ["en-librivox", "en-alsa"], 30, "en"),
    ("en-3spk", 1, ["en-librivox", "en-cards", "en-timit"], 35, "en"),
    ("en-4spk", 1, ["en-librivox", "en-cards", "en-alsa", "en-tidigits"], 40, "en"),
    ("mixed-3spk", 3, 3, 70, "mixed"),
    ("mixed-4spk", 3, 4, 80, "mixed"),
    ("mixed-5spk", 3, 5, 90, "mixed"),
]
FILLETS = ["fillets-cs-small", "fillets-cs-big", "fillets-nl-small", "fillets-nl-big"]
ENGLISH_IN_MIXED = ["en-librivox", "en-cards", "en-alsa"]
SCARCE = {s for s, (lang, *_) in SPEAKERS.items() if lang == "en"}


def build(out: Path, sources: Path, seed: int = SEED) -> dict:
    roots = {p: package_root(p, sources) for p in PACKAGES}
    versions = {p: package_version(p, r) for p, r in roots.items()}
    clips = catalogue(roots)
    rng = random.Random(seed)
    cache: dict = {}
    pools = Pools(clips, cache, rng)
    if out.exists():
        if any(out.iterdir()) and not (out / "manifest.json").exists():
            sys.exit(f"build_set: {out} is not empty and holds no set; not overwriting it")
        shutil.rmtree(out)
    for d in ("audio", "rttm", "ref"):
        (out / d).mkdir(parents=True)

    files = []
    combos: set[tuple[str, ...]] = set()
    n = 0
    for subset, count, who, target, language in PLAN:
        for k in range(count):
            n += 1
            conv_id = f"{subset}-{k + 1:02d}"
            if isinstance(who, int):
                for _ in range(100):  # a combination of voices not used yet, where there is one
                    english = who == 5 or rng.random() < 0.4
                    speakers = rng.sample(FILLETS, who - 1 if english else who)
                    if english:
                        speakers.append(rng.choice(ENGLISH_IN_MIXED))
                    speakers.sort()
                    if tuple(speakers) not in combos:
                        break
                combos.add(tuple(speakers))
            else:
                speakers = list(who)
            conv = Conversation(conv_id, subset, speakers)
            if set(speakers) <= set(FILLETS) and len(speakers) == 2:
                turns = turns_in_order(pools.in_order(speakers, rng.random()), rng, target)
                for t in turns:
                    pools.used.update(c.key for c, _ in t)
            else:
                turns = turns_drawn(pools, speakers, rng, target, SCARCE & set(speakers))
            place(conv, turns, rng, p_overlap=0.25)
            files.append(write(conv, out, seed + n, language))
            print(
                f"{conv_id}: {files[-1]['seconds']:.0f} s, {len(speakers)} speakers, overlap {files[-1]['overlap_share']:.1%}",
                file=sys.stderr,
            )

    # The speed file: five minutes of two speakers (Czech dialogue, in order).
    conv = Conversation("speed-2spk-5min", "speed", ["fillets-cs-small", "fillets-cs-big"])
    turns = turns_in_order(pools.in_order(conv.speakers, rng.random()), rng, 360)
    place(conv, turns, rng, p_overlap=0.25)
    # five minutes: drop whole turns that would end past 299.5 s
    late = {p.turn for p in conv.placed if p.start + len(p.audio.samples) / SR > 299.5}
    conv.placed = [p for p in conv.placed if p.turn < min(late | {len(turns)})]
    speed = write(conv, out, seed + 999, "cs", length=300.0)
    print(f"{conv.id}: {speed['seconds']:.0f} s", file=sys.stderr)

    evals = files
    total = sum(f["seconds"] for f in evals)
    speech = sum(f["speech_seconds"] for f in evals)
    overlap = sum(f["overlap_seconds"] for f in evals)
    used = {s for f in evals + [speed] for s in (x["id"] for x in f["speakers"])}
    manifest = {
        "builder_version": BUILDER_VERSION,
        "seed": seed,
        "sample_rate": SR,
        "packages": versions,
        "speakers": {s: {"language": SPEAKERS[s][0], "package": SPEAKERS[s][1], "description": SPEAKERS[s][2]} for s in sorted(used)},
        "stats": {
            "files": len(evals),
            "minutes": round(total / 60, 2),
            "speech_minutes": round(speech / 60, 2),
            "overlap_share": round(overlap / speech, 4),
            "files_by_speaker_count": {str(k): sum(1 for f in evals if f["num_speakers"] == k) for k in range(2, 6)},
            "files_by_language": {g: sum(1 for f in evals if f["language"] == g) for g in sorted({f["language"] for f in evals})},
            "distinct_speakers": len({x["id"] for f in evals for x in f["speakers"]}),
            "words": sum(f["words"] for f in evals),
        },
        "files": evals,
        "speed": speed,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / ".cache/diarization-set")
    ap.add_argument(
        "--sources", type=Path, default=ROOT / ".cache/diarization-sources", help="where packages that are not installed are unpacked"
    )
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    if shutil.which("sox") is None:
        sys.exit("build_set: needs sox (scripts/ensure-system-deps.sh sox)")
    m = build(args.out, args.sources, args.seed)
    print(json.dumps(m["stats"], indent=1))
    digest = hashlib.sha256("".join(f["sha256"] for f in m["files"] + [m["speed"]]).encode()).hexdigest()
    print(f"set digest {digest[:16]} -> {args.out}")


if __name__ == "__main__":
    main()
