"""The live policy (live/policy.py) on its own: recorded speech pushed in 100 ms frames, decodes run in line.

`run` plays a stream on a virtual clock: audio arrives at real-time pace (the clock moves
by DECODE_S for each decode, as the audio would keep coming meanwhile) or as fast as the
decodes go. Policy rules are checked with a scripted decoder; the whole with a real model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from faster_whisper import WhisperModel, decode_audio

from whisper_worker.live import decode as live_decode
from whisper_worker.live.policy import MAX_UTTERANCE_S, Decoded, LiveOptions, LiveTranscript, Step
from whisper_worker.live.speech import TurnDetection

from conftest import LIBRIVOX, MODELS, librivox_references, wer, words

RATE = 16000
FRAME = RATE // 10
CLIPS = sorted(LIBRIVOX.glob("*.wav"))
# A decode's cost on the virtual clock: about 3 times what tiny.en's decodes take on 2 idle cores (median 0.11 s),
# fixed rather than measured, so that a machine loaded by other work plays the same stream, not a slower one.
DECODE_S = 0.3


def with_gaps(clips: list[np.ndarray], gap: float = 1.0) -> np.ndarray:
    silence = np.zeros(int(gap * RATE), np.float32)
    return np.concatenate([part for clip in clips for part in (clip, silence)])


def run(policy: LiveTranscript, audio: np.ndarray, decode: Callable[[Step], Decoded], real_time: bool) -> list[tuple[float, dict]]:
    """Feeds `audio` and runs every decode the policy asks for; returns (audio seconds sent when it happened, event)."""
    clock, fed, events = 0.0, 0, []
    while fed < len(audio) or not policy.idle:
        due = len(audio) if not real_time else min(len(audio), max(fed + FRAME, int(clock * RATE) // FRAME * FRAME))
        while fed < due:
            events += [(fed / RATE, e) for e in policy.push(audio[fed : fed + FRAME])]
            fed += FRAME
            if not real_time:
                break
        if fed >= len(audio):
            events += [(fed / RATE, e) for e in policy.commit()[1]]
        step = policy.plan()
        if step is None:
            clock = max(clock, fed / RATE)
            continue
        result = step.ready or decode(step)
        clock += 0 if step.ready else DECODE_S
        events += [(fed / RATE, e) for e in policy.apply(step, result)]
    return events


def of(events: list[tuple[float, dict]], kind: str) -> list[dict]:
    return [e for _, e in events if e["type"] == kind]


@pytest.fixture(scope="module")
def speech() -> list[np.ndarray]:
    return [decode_audio(str(path)) for path in CLIPS]


@pytest.fixture(scope="module")
def tiny() -> WhisperModel:
    return WhisperModel(str(MODELS / "tiny.en"), device="cpu", compute_type="int8", cpu_threads=2)


class Scripted:
    """A decoder that answers from a script, keyed by how many decodes came before; remembers the steps."""

    def __init__(self, answer: Callable[[Step, int], str]):
        self.answer, self.steps = answer, []

    def __call__(self, step: Step) -> Decoded:
        self.steps.append(step)
        return Decoded(self.answer(step, len(self.steps) - 1), "en")


@pytest.mark.parametrize("real_time", [True, False], ids=["real-time", "as-fast-as-decodes"])
def test_real_speech_gives_one_utterance_per_clip_with_deltas_before_it_ends(speech, tiny, real_time):
    references = list(librivox_references().values())
    policy = LiveTranscript(LiveOptions(language="en"))
    events = run(policy, with_gaps(speech), lambda step: live_decode.decode(tiny, step, "transcribe"), real_time)
    finals = of(events, "final")
    assert len(finals) == len(CLIPS), [f["text"] for f in finals]
    assert wer([" ".join(references)], [" ".join(f["text"] for f in finals)]) < 0.2
    stopped = {e["item"]: sent for sent, e in events if e["type"] == "speech_stopped"}
    early = [e for sent, e in events if e["type"] == "delta" and e["text"].strip() and sent < stopped[e["item"]]]
    assert {e["item"] for e in early} == set(stopped), "every utterance had confirmed text before it ended"
    confirmed = [w for e in of(events, "delta") for w in words(e["text"])]
    said = {w for f in finals for w in words(f["text"])}
    assert sum(w in said for w in confirmed) >= 0.8 * len(confirmed), "what was confirmed is, mostly, what stays"


def test_the_final_brings_the_rest_as_a_last_delta_when_it_agrees_with_the_deltas(speech):
    for final_text, last_delta in [("and mister john dashwood had then", [" john dashwood had then"]), ("a mister john", [])]:
        decoder = Scripted(lambda step, n, final_text=final_text: "and mister john" if step.kind == "interim" else final_text)
        events = run(LiveTranscript(LiveOptions(language="en")), with_gaps([speech[0][: 2 * RATE]]), decoder, real_time=False)
        deltas = [e["text"] for e in of(events, "delta") if e["text"]]
        assert deltas == [" and mister", *last_delta], (final_text, deltas)
        assert [e["text"] for e in of(events, "final")] == [final_text]


def test_a_word_is_confirmed_once_two_decodes_agree_and_never_the_last_while_speaking(speech):
    script = ["and", "and mister", "and mister john dash", "and mister john dashwood had"]
    decoder = Scripted(lambda step, n: script[n])  # as faster-whisper answers: the forced prefix, then the rest
    policy = LiveTranscript(LiveOptions(language="en"))
    deltas = []
    for offset in range(0, 4 * RATE, FRAME):
        policy.push(speech[0][offset : offset + FRAME])
        if len(decoder.steps) < len(script) and (step := policy.plan()) is not None and step.kind == "interim":
            deltas += policy.apply(step, decoder(step))
    confirmed = "".join(d["text"] for d in deltas)
    assert confirmed.split() == ["and", "mister", "john"], deltas  # "dash" was said by one decode only; "had" is the newest's last word
    assert [s.prefix for s in decoder.steps] == [None, None, "and", "and mister"], "each decode begins with the words confirmed"
    assert deltas[-1]["pending"] == "dashwood had"


def test_the_final_of_a_pause_is_decoded_during_the_pause_and_not_again(speech):
    decoder = Scripted(lambda step, n: "he was not an ill disposed young man")
    policy = LiveTranscript(LiveOptions(language="en"))
    events = run(policy, with_gaps([speech[1]], gap=1.5), decoder, real_time=False)
    finals = [(i, s) for i, s in enumerate(decoder.steps) if s.kind == "final"]
    assert len(finals) == 1 and finals[0][1].speculative, "the pause's decode was the final"
    assert [e["text"] for e in of(events, "final")] == ["he was not an ill disposed young man"]


def test_commit_ends_the_utterance_and_clear_drops_it(speech):
    policy = LiveTranscript(LiveOptions(turns=None))
    assert policy.commit() == (None, [])
    policy.push(speech[0][: 2 * RATE])
    assert policy.clear() == 2000 and policy.idle
    started = policy.push(speech[0][2 * RATE : 3 * RATE])
    assert [e["type"] for e in started] == ["speech_started"], "without turn detection, audio itself starts an utterance"
    item, events = policy.commit()
    assert item == 1 and [e["type"] for e in events] == ["speech_stopped"]
    step = policy.plan()
    assert step is not None and step.kind == "final" and len(step.audio) == RATE


def test_an_utterance_longer_than_the_limit_is_cut_where_it_is_quietest(speech):
    policy = LiveTranscript(LiveOptions(turns=TurnDetection(silence_duration_ms=10000)))
    talk = np.concatenate(speech * 2)  # ~60 s, pauses between clips shorter than the silence that ends a turn
    starts, quiet = [], []
    for offset in range(0, len(talk), FRAME):
        for event in policy.push(talk[offset : offset + FRAME]):
            if event["type"] == "speech_started":
                starts.append(event["audio_start_ms"])
                quiet.append(policy.detector.probability(event["audio_start_ms"] * RATE // 1000))
    assert len(starts) >= 3 and all(b - a <= MAX_UTTERANCE_S * 1000 for a, b in zip(starts, starts[1:], strict=False))
    assert all(p < 0.5 for p in quiet[1:]), f"cut in a quiet moment: {quiet}"


def test_the_previous_finals_are_the_prompt(speech):
    decoder = Scripted(lambda step, n: f"sentence {n}")
    options = replace(LiveOptions(language="en"), prompt="Dashwood")
    run(LiveTranscript(options), with_gaps(speech[:2]), decoder, real_time=False)
    last = decoder.steps[-1]
    assert last.prompt is not None and last.prompt.startswith("Dashwood") and "sentence" in last.prompt


def test_the_audio_kept_is_what_is_held_and_a_planned_decode_hears_it_unchanged_as_audio_comes(speech):
    policy = LiveTranscript(LiveOptions(language="en"))
    talk = with_gaps(speech * 2)  # ~60 s, ten utterances
    for offset in range(0, 10 * RATE, FRAME):
        policy.push(talk[offset : offset + FRAME])
    step = policy.plan()
    assert step is not None
    heard = step.audio.copy()
    for offset in range(10 * RATE, len(talk), FRAME):  # no decodes meanwhile: every utterance waits for its final
        policy.push(talk[offset : offset + FRAME])
    # Appending never writes over what a decode (in another thread, in the worker) is reading.
    assert np.array_equal(step.audio, heard) and len(policy._audio) == policy.held >= 50 * RATE
    decoder = Scripted(lambda step, n: "words")
    while (step := policy.plan()) is not None:
        policy.apply(step, decoder(step))
    policy.push(np.zeros(FRAME, np.float32))
    assert policy.idle and len(policy._audio) == policy.held == 2 * RATE, "the finals' audio was let go"
