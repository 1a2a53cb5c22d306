"""Short windows: a short file is heard in its length + 5 s, and decodes as it would in the whole 30 s window."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import jiwer
import numpy as np
import pytest
from faster_whisper import WhisperModel, decode_audio
from faster_whisper.audio import pad_or_trim

from whisper_worker.engine import windows
from whisper_worker.engine.batching import SharedModel

from client import Client
from conftest import LIBRIVOX, MODELS, wait_until

RATE = 16000
CLIP = "sense_and_sensibility_01_austen_64kb-0870"  # 7.1 s


def test_a_window_is_the_audio_and_5_s_in_5_s_steps_until_it_would_be_the_whole_30_s():
    assert windows.window_frames(3 * RATE) == 1000  # 3 s + 5 s → 10 s
    assert windows.window_frames(int(7.1 * RATE)) == 1500
    assert windows.window_frames(10 * RATE) == 2000  # never less than 5 s after the last sample
    assert windows.window_frames(int(19.9 * RATE)) == 2500
    assert windows.window_frames(int(20 * RATE)) is None  # 25 s is the step, 25 s + ... would be 30 s: the whole window
    assert windows.window_frames(3600 * RATE) is None
    assert windows.seconds(int(7.1 * RATE)) == 15.0 and windows.seconds(60 * RATE) == 30.0


def test_only_a_loaded_model_and_a_short_file_get_a_view():
    stand_in = SimpleNamespace(transcribe=lambda *a, **k: None)
    assert windows.fitted(stand_in, 5 * RATE) is stand_in


@pytest.fixture(scope="module")
def base() -> WhisperModel:
    return WhisperModel(str(MODELS / "base"), device="cpu", compute_type="int8", cpu_threads=2)


def words_of(model: WhisperModel, audio: np.ndarray) -> tuple[str, str, list[tuple[str, float, float]]]:
    segments, info = model.transcribe(audio, beam_size=5, word_timestamps=True)
    listed = [w for s in segments for w in s.words or []]
    return "".join(w.word for w in listed).strip(), info.language, [(w.word, w.start, w.end) for w in listed]


def test_the_view_encodes_the_short_window_and_hears_what_the_whole_window_hears(base):
    audio = decode_audio(str(LIBRIVOX / f"{CLIP}.wav"))
    assert windows.fitted(base, 40 * RATE) is base
    view = windows.fitted(base, audio.size)
    assert view.model is base.model  # a view, not a second model
    encoded = view.encode(pad_or_trim(base.feature_extractor(audio)))  # faster-whisper pads every window to 3000 frames
    assert encoded.shape[1] == 750  # 1500 frames of features, halved by the encoder's stride

    whole_text, whole_language, whole_words = words_of(base, audio)
    text, language, timed = words_of(view, audio)
    assert language == whole_language == "en"
    assert jiwer.wer(whole_text.lower(), text.lower()) <= 0.1, (whole_text, text)
    assert "dashwood" in text.lower()
    assert timed[-1][2] <= audio.size / RATE + 0.05  # no word past the audio's end, where the window is silence
    if [w for w, _, _ in timed] == [w for w, _, _ in whole_words]:
        assert max(abs(a[1] - b[1]) + abs(a[2] - b[2]) for a, b in zip(timed, whole_words, strict=True)) < 0.5


class Watched:
    """The CTranslate2 model, with the shape of each encode it is asked for."""

    def __init__(self, model: Any):
        self.model = model
        self.shapes: list[tuple[int, ...]] = []

    def encode(self, features: Any, **kwargs: Any) -> Any:
        self.shapes.append(tuple(features.shape))
        return self.model.encode(features, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def test_the_language_is_detected_in_the_whole_window(base):
    audio = decode_audio(str(LIBRIVOX / f"{CLIP}.wav"))
    model = copy.copy(base)
    model.model = watched = Watched(base.model)
    view = windows.fitted(model, audio.size)
    segments, info = view.transcribe(audio, beam_size=1)
    assert info.language == "en" and "dashwood" in "".join(s.text for s in segments).lower()
    # The language detected first, then each window decoded (one, or two if the first stops short of the end).
    assert watched.shapes[0][-1] == 3000 and {shape[-1] for shape in watched.shapes[1:]} == {1500}


def test_clips_of_one_window_length_share_calls_in_their_short_windows(base):
    clips = [decode_audio(str(path)) for path in sorted(LIBRIVOX.glob("*.wav"))]
    clips = [c for c in clips if 5 * RATE <= c.size < 10 * RATE]  # the 5-7 s clips: all in a 15 s window
    assert len(clips) == 3 and {windows.window_frames(c.size) for c in clips} == {1500}
    alone = [words_of(windows.fitted(base, c.size), c)[0] for c in clips]
    shared = SharedModel(base, max_batch=8)
    shared.model = watched = Watched(base.model)
    gate = threading.Barrier(len(clips))

    def together(audio: np.ndarray) -> str:
        with shared.member() as view:
            gate.wait()
            return words_of(windows.fitted(view, audio.size), audio)[0]

    with ThreadPoolExecutor(len(clips)) as pool:
        merged = list(pool.map(together, clips))
    assert shared.windows > shared.calls, "no call was shared"
    # Each clip encoded in the whole window to detect its language, and in its short one to decode it.
    assert {shape[1:] for shape in watched.shapes} == {(80, 3000), (80, 1500)}
    assert sum(shape[0] for shape in watched.shapes if shape[2] == 1500) >= len(clips)
    for own, text in zip(alone, merged, strict=True):
        assert jiwer.wer(own.lower(), text.lower()) <= 0.1, (own, text)


def test_the_worker_uses_the_whole_window_by_default_logs_it_and_can_be_told_to_use_short_ones(worker, make_worker, clips):
    short = make_worker(WHISPER_SHORT_WINDOWS="true")
    texts = {}
    for name, running in (("short", short), ("whole", worker)):
        with Client(running.port) as client:
            reply = client.call({"id": f"window-{name}", "command": "transcribe", "model": "base", "options": {}}, clips[CLIP])
        assert reply["type"] == "result", reply
        texts[name] = reply["result"]["text"]
        assert reply["result"]["language"] == "en"

    def logged() -> dict[str, float] | None:  # the line is written just after the reply is sent
        lines = {line["id"]: line["window_seconds"] for r in (worker, short) for line in r.requests("transcribe")
                 if str(line["id"]).startswith("window-")}
        return lines if len(lines) == 2 else None

    assert wait_until(logged, what="both request lines") == {"window-short": 15.0, "window-whole": 30.0}
    assert all("dashwood" in text.lower() for text in texts.values()), texts
