"""Packing: short clips that wait together share one window, and each gets its own words back, on its own clock.

The stand-in model checks the rules (who packs with whom, when a window goes back
clip by clip); the real model checks what a user sees: each clip's own words,
none of another's, as good as alone.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jiwer
import numpy as np
import pytest
from faster_whisper import WhisperModel
from faster_whisper.transcribe import Segment, Word
from whisper_normalizer.english import EnglishTextNormalizer

from whisper_worker import audio
from whisper_worker.packing import GAP_SECONDS, Decoded, Packer, packable

from client import Client
from conftest import LIBRIVOX, MODELS, RunningWorker, librivox_references, wait_until

KWARGS = {"language": "en", "task": "transcribe", "beam_size": 5, "vad_filter": True, "word_timestamps": False}


def pack_together(packer: Packer, join: Any, clips: list[tuple[np.ndarray, dict[str, Any]]]) -> list[Decoded]:
    """Sends every clip while the packer is busy with another, as under load, then lets them go; each one's result."""
    with packer._cond:
        packer._busy = True
    with ThreadPoolExecutor(len(clips)) as pool:
        futures = []
        for n, (samples, kwargs) in enumerate(clips, 1):  # one at a time: they wait in the order given
            futures.append(pool.submit(packer.transcribe, join, samples, kwargs))
            wait_until(lambda n=n: len(packer._pending) == n, what=f"clip {n} to wait")
        with packer._cond:
            packer._busy = False
            packer._cond.notify_all()
        return [f.result(timeout=300) for f in futures]


# --- the rules, on a stand-in ---------------------------------------------------------------------------------------


class Scripted:
    """A WhisperModel stand-in: transcribe() hears one word, one segment, in each clip of a window.

    `trouble` makes the last clip's segment of a packed window doubtful: a word in the silence before it,
    or a temperature fallback."""

    def __init__(self, trouble: str | None = None):
        self.calls: list[float] = []  # seconds of audio in each call
        self.trouble = trouble
        self.hf_tokenizer = SimpleNamespace(encode=lambda text, add_special_tokens: SimpleNamespace(ids=[len(text)]))

    def transcribe(self, samples: np.ndarray, **kwargs: Any) -> tuple[list[Segment], Any]:
        self.calls.append(len(samples) / audio.SAMPLE_RATE)
        starts = self.starts(samples)
        segments = []
        for i, at in enumerate(starts):
            words, temperature = [Word(at + 0.1, at + 0.5, f" w{i}", 0.9)], 0.0
            if len(starts) > 1 and i == len(starts) - 1:
                if self.trouble == "a word deep in the silence":
                    words.insert(0, Word(at - 0.6, at - 0.4, " between", 0.5))  # 0.5 s into the 1 s gap
                if self.trouble == "a temperature fallback":
                    temperature = 0.4
            text = "".join(w.word for w in words)
            segments.append(Segment(i, 0, words[0].start, words[-1].end, text, [1], -0.1, 1.0, 0.0, words, temperature))
        return segments, SimpleNamespace(language="en", language_probability=1.0)

    @staticmethod
    def starts(samples: np.ndarray) -> list[float]:
        """Where each clip begins in a packed window: clips are ones, the gaps zeros."""
        edges = np.flatnonzero(np.diff(np.concatenate([[0.0], samples])) > 0)
        return [e / audio.SAMPLE_RATE for e in edges]


def ones(seconds: float) -> np.ndarray:
    return np.ones(int(seconds * audio.SAMPLE_RATE), np.float32)


def test_only_clips_that_cannot_tell_are_packed():
    assert packable(KWARGS, 7, 15)
    assert not packable({**KWARGS, "language": None}, 7, 15)  # detecting it would hear the other clips too
    for conditioning in ("initial_prompt", "prefix", "hotwords"):
        assert not packable({**KWARGS, conditioning: "Dashwood"}, 7, 15)
    assert not packable(KWARGS, 16, 15)
    assert not packable(KWARGS, 7, 0)  # WHISPER_PACK_SECONDS=0: never


def test_clips_with_the_same_options_share_a_window_and_each_gets_its_own_word_on_its_own_clock():
    model = Scripted()
    packer = Packer()
    results = pack_together(packer, lambda: contextlib.nullcontext(model), [(ones(6), KWARGS), (ones(5), KWARGS), (ones(7), KWARGS)])
    assert model.calls == [pytest.approx(6 + 5 + 7 + 2 * GAP_SECONDS)]
    assert [r.packed for r in results] == [3, 3, 3]
    assert [[s.text for s in r.segments] for r in results] == [[" w0"], [" w1"], [" w2"]]
    assert all(r.segments[0].start == pytest.approx(0.1) and r.segments[0].end == pytest.approx(0.5) for r in results)
    assert all(r.segments[0].words is None for r in results)  # none asked for word timestamps


def test_other_options_or_no_room_left_make_another_window():
    model = Scripted()
    packer = Packer()
    beam_1 = {**KWARGS, "beam_size": 1}
    results = pack_together(packer, lambda: contextlib.nullcontext(model),
                            [(ones(6), KWARGS), (ones(6), beam_1), (ones(14), KWARGS), (ones(14), KWARGS)])
    # The oldest clip and what agrees with it and fits (6 + 1 + 14 s), then the next oldest, then what is left.
    assert model.calls == [pytest.approx(21), pytest.approx(6), pytest.approx(14)]
    assert [r.packed for r in results] == [2, 1, 2, 1]


@pytest.mark.parametrize("trouble", ["a word deep in the silence", "a temperature fallback"])
def test_a_clip_whose_words_cannot_be_told_apart_with_confidence_is_decoded_again_alone(trouble):
    model = Scripted(trouble)
    results = pack_together(Packer(), lambda: contextlib.nullcontext(model), [(ones(6), KWARGS), (ones(5), KWARGS)])
    assert model.calls == [pytest.approx(12), pytest.approx(5)]  # the window, then the doubtful clip alone
    assert [r.packed for r in results] == [2, 1]
    assert [[s.text for s in r.segments] for r in results] == [[" w0"], [" w0"]]


def test_a_clip_that_finds_the_model_free_is_decoded_at_once_alone():
    model = Scripted()
    started = time.monotonic()
    result = Packer().transcribe(lambda: contextlib.nullcontext(model), ones(6), KWARGS)
    assert time.monotonic() - started < 1 and result.packed == 1 and model.calls == [pytest.approx(6)]


# --- the real model ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base() -> WhisperModel:
    return WhisperModel(str(MODELS / "base"), device="cpu", compute_type="int8")


def distinctive(text: str) -> set[str]:
    return {w for w in EnglishTextNormalizer()(text).split() if len(w) >= 5}


def test_five_librivox_clips_in_one_window_each_hear_only_their_own_speech(base):
    refs = librivox_references()
    ids = sorted(refs)
    clips = [audio.decode(str(LIBRIVOX / f"{i}.wav"), 60) for i in ids]
    packer = Packer()
    results = pack_together(packer, lambda: contextlib.nullcontext(base), [(c, {**KWARGS, "word_timestamps": True}) for c in clips])
    assert packer.windows == 1 and [r.packed for r in results] == [5] * 5
    normalise = EnglishTextNormalizer()
    for i, (clip, result) in enumerate(zip(clips, results, strict=True)):
        text = "".join(s.text for s in result.segments)
        assert jiwer.wer(normalise(refs[ids[i]]), normalise(text)) <= 0.2, (ids[i], text)
        others = set().union(*(distinctive(refs[j]) for j in ids if j != ids[i])) - distinctive(refs[ids[i]])
        assert not distinctive(text) & others, f"{ids[i]} got another clip's words: {text}"
        seconds = len(clip) / audio.SAMPLE_RATE
        words = [w for s in result.segments for w in s.words or []]
        assert words and all(0 <= w.start <= w.end <= seconds for w in words)


def test_a_lone_clip_gets_what_faster_whisper_gives_it(base):
    clip = audio.decode(str(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"), 60)
    result = Packer().transcribe(lambda: contextlib.nullcontext(base), clip, KWARGS)
    alone, _ = base.transcribe(clip, **KWARGS)
    assert result.packed == 1 and [s.text for s in result.segments] == [s.text for s in alone]


def test_the_worker_packs_concurrent_short_requests_and_keeps_each_answer_apart(tmp_path):
    refs = librivox_references()
    ids = sorted(refs)
    worker = RunningWorker(tmp_path, WHISPER_PRELOAD="base", WHISPER_DEVICE="cpu")
    try:
        def ask(ident: str, options: dict[str, Any]) -> dict[str, Any]:
            with Client(worker.port) as client:
                reply = client.call({"command": "transcribe", "model": "base", "options": {"language": "en", **options}},
                                    Path(LIBRIVOX / f"{ident}.wav").read_bytes())
            assert reply["type"] == "result", reply
            return reply["result"]

        with ThreadPoolExecutor(6) as pool:
            asked = [pool.submit(ask, i, {}) for i in ids] + [pool.submit(ask, ids[0], {"batch_size": 0})]
            answers = [f.result(timeout=600) for f in asked]
        lines = wait_until(lambda: len(worker.requests("transcribe")) == 6 and worker.requests("transcribe"), what="six log lines")
    finally:
        worker.stop()
    for ident, answer in zip([*ids, ids[0]], answers, strict=True):
        others = set().union(*(distinctive(refs[j]) for j in ids if j != ident)) - distinctive(refs[ident])
        assert not distinctive(answer["text"]) & others, f"{ident} got another clip's words: {answer['text']}"
        assert distinctive(answer["text"]) & distinctive(refs[ident]), answer["text"]
        assert all(0 <= s["start"] <= s["end"] <= answer["duration"] + 0.01 for s in answer["segments"])
    packed = [line.get("packed") for line in lines]
    assert max(p or 0 for p in packed) >= 2, packed  # under load, clips shared windows
    assert packed.count(None) == 1  # the request that chose its decoding (batch_size 0) was decoded as it asked
