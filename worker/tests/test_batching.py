"""Cross-request batching: concurrent transcriptions share CTranslate2 calls, and each gets its own answer.

The stand-in model checks the merging itself (who goes with whom, and that one bad
window fails only its own request); the real model checks that merged calls give
each request what it would get alone, with its own prompt and language.
"""

from __future__ import annotations

import io
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import ctranslate2
import jiwer
import numpy as np
import pytest
from faster_whisper import WhisperModel, decode_audio

from whisper_worker.engine.batching import SharedModel

from conftest import LIBRIVOX, MODELS, ROOT, speak, wait_until, words

SPEECH = json.loads((ROOT / "test-support" / "speech.json").read_text())


class Prompts:
    """A CTranslate2 Whisper stand-in: generate() answers each prompt with itself, and fails on the prompt [666]."""

    def __init__(self) -> None:
        self.batches: list[list[list[int]]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def generate(self, features: Any, prompts: list[list[int]], **kwargs: Any) -> list[list[int]]:
        self.batches.append(prompts)
        self.started.set()
        assert self.release.wait(10)
        if [666] in prompts:
            raise RuntimeError("a bad prompt")
        return [list(p) for p in prompts]


def stand_in(max_batch: int = 8) -> tuple[SharedModel, Prompts]:
    model = Prompts()
    return SharedModel(SimpleNamespace(model=model), max_batch), model  # type: ignore[arg-type]


def generate(shared: SharedModel, prompt: list[int], **options: Any) -> Any:
    with shared.member() as view:
        return view.model.generate(ctranslate2.StorageView.from_array(np.zeros((1, 4), np.float32)), [prompt], **options)


def while_the_model_is_busy(shared: SharedModel, model: Prompts, *later: tuple[list[int], dict[str, Any]]) -> list[Future[Any]]:
    """Holds the model in a call of prompt [1], sends the `later` calls meanwhile, then lets it go on; every call's future."""
    model.release.clear()
    with ThreadPoolExecutor(len(later) + 1) as pool:
        first = pool.submit(generate, shared, [1])
        assert model.started.wait(10)
        futures = [pool.submit(generate, shared, prompt, **options) for prompt, options in later]
        wait_until(lambda: len(shared._pending) == len(later), what="the later calls to wait for the model")
        model.release.set()
    return [first, *futures]


def test_calls_that_arrive_while_the_model_is_busy_share_the_next_call():
    shared, model = stand_in()
    other = ([9], {"beam_size": 1})  # other options: a call of its own
    futures = while_the_model_is_busy(shared, model, *[([n], {"beam_size": 5}) for n in (2, 3, 4)], other)
    assert [f.result() for f in futures] == [[[1]], [[2]], [[3]], [[4]], [[9]]]
    assert sorted(sorted(p[0] for p in batch) for batch in model.batches) == [[1], [2, 3, 4], [9]]
    assert (shared.calls, shared.windows) == (3, 5)


def test_the_batch_limit_is_kept():
    shared, model = stand_in(max_batch=2)
    while_the_model_is_busy(shared, model, *[([n], {}) for n in (2, 3, 4)])
    assert [len(b) for b in model.batches] == [1, 2, 1]


def test_one_bad_window_fails_only_its_own_request():
    shared, model = stand_in()
    first, good, bad = while_the_model_is_busy(shared, model, ([2], {}), ([666], {}))
    assert first.result() == [[1]] and good.result() == [[2]]
    with pytest.raises(RuntimeError, match="a bad prompt"):
        bad.result()
    merged, *alone = model.batches[1:]
    assert sorted(merged) == [[2], [666]] and sorted(alone) == [[[2]], [[666]]]  # merged, failed, then each alone


def test_a_member_that_makes_no_call_holds_the_others_up_one_window_only():
    shared, model = stand_in()
    with shared.member():  # a transcription busy decoding its audio, say
        assert generate(shared, [1]) == [[1]]


@pytest.fixture(scope="module")
def base() -> WhisperModel:
    return WhisperModel(str(MODELS / "base"), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(model: WhisperModel, audio: np.ndarray, **options: Any) -> tuple[str, str]:
    segments, info = model.transcribe(audio, beam_size=5, **options)
    return " ".join(s.text.strip() for s in segments), info.language


def test_merged_windows_each_get_their_own_prompt_language_and_answer(base, tmp_path):
    english = [decode_audio(str(path)) for path in sorted(LIBRIVOX.glob("*.wav"))[:3]]
    german = decode_audio(io.BytesIO(speak(tmp_path, "de", SPEECH["de"]["text"])))
    requests = [(audio, {"language": "en", "initial_prompt": f"Chapter {i}."}) for i, audio in enumerate(english)]
    requests.append((german, {}))  # no language: detected, inside the same batches
    alone = [transcribe(base, audio, **options) for audio, options in requests]

    shared = SharedModel(base, max_batch=8)
    gate = threading.Barrier(len(requests))

    def together(request: tuple[np.ndarray, dict[str, Any]]) -> tuple[str, str]:
        with shared.member() as view:
            gate.wait()
            return transcribe(view, request[0], **request[1])

    with ThreadPoolExecutor(len(requests)) as pool:
        merged = list(pool.map(together, requests))

    assert shared.windows > shared.calls, "no call was shared"
    assert merged[-1][1] == "de" and set(words(merged[-1][0])) & set(words(SPEECH["de"]["text"]))
    for (text, language), (own_text, own_language) in zip(merged, alone, strict=True):
        assert language == own_language
        assert jiwer.wer(own_text.lower(), text.lower()) <= 0.1, (own_text, text)


def test_a_lone_transcription_makes_the_calls_it_would_make_alone(base):
    audio = decode_audio(str(sorted(LIBRIVOX.glob("*.wav"))[0]))
    shared = SharedModel(base, max_batch=8)
    with shared.member() as view:
        assert transcribe(view, audio, language="en") == transcribe(base, audio, language="en")
    assert shared.calls == shared.windows  # every call held one window: nothing was merged or held back
