"""The live transcription policy: a growing buffer of audio in, text that is both early and stable out.

Whisper is not a streaming model; this module decides what to decode when, and
what of it to trust (Whisper-Streaming, Macháček et al. 2023):

- Speech detection (speech.py) cuts the stream into utterances (items).
- While an utterance grows, it is decoded again and again (greedy, with a short
  encoder window: decode.py), each decode forced to begin with the words
  already confirmed, so that only the rest is new. A word is confirmed once two decodes in a row
  agree on it (local agreement, n = 2), except the newest decode's last word
  while the speaker is still talking: it is often cut off mid-word.
- When the speaker pauses, the utterance's final decode (beam search, the whole
  utterance afresh: words two early decodes agreed on can still be wrong)
  starts at once, before the pause is long enough to end the utterance: when it
  does end, its final is ready or nearly so. If speech resumes, that decode
  counts as one more hypothesis.
- An utterance that runs past MAX_UTTERANCE_S is cut at its quietest moment, so
  that every decode fits in one 30 s window.

Everything here is synchronous and free of threads and sockets: stream.py runs
the decodes in threads and sends the events; tests feed recorded audio at any
pace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from whisper_worker.engine.audio import SAMPLE_RATE
from whisper_worker.live.speech import SpeechDetector, TurnDetection

MIN_FIRST_S = 0.6  # of an utterance (its prefix padding included) before the first decode: a word or two
MIN_STEP_S = 0.3  # of new audio between two decodes of the same utterance
SPECULATE_S = 0.1  # of silence after speech before the final decode starts, ahead of the end of the utterance
TAIL_S = 0.2  # of audio after the last speech that a final decode hears: Silero marks the end a little early
MAX_UTTERANCE_S = 20.0
CUT_FROM_S = 15.0  # a long utterance is cut at its quietest moment between this and MAX_UTTERANCE_S
KEEP_BEFORE_S = 2.0  # audio kept before any utterance: the most prefix padding the protocol allows
PROMPT_CHARS = 200  # of the previous finals given as the prompt: more makes Whisper copy from it where speech repeats itself

Event = dict[str, Any]


@dataclass(frozen=True)
class LiveOptions:
    turns: TurnDetection | None = field(default_factory=TurnDetection)
    language: str | None = None
    task: str = "transcribe"
    prompt: str | None = None
    beam_size: int = 5


@dataclass(frozen=True)
class Decoded:
    text: str
    language: str


@dataclass
class Utterance:
    item: int
    start: int  # samples of the stream
    speech_end: int | None = None  # where speech stopped: the utterance has ended
    audio_end: int | None = None  # what its final decode hears
    confirmed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    decoded_to: int = 0
    language: str | None = None
    speculative: tuple[int, Decoded] | None = None  # a final decode made during a pause: (audio end, result)


@dataclass(frozen=True)
class Step:
    """One decode the policy wants, with everything it needs; `ready` when a speculative decode already did it."""

    kind: Literal["interim", "final"]
    utterance: Utterance
    audio: np.ndarray
    end: int
    prefix: str | None
    prompt: str | None
    language: str | None
    beam_size: int
    speculative: bool = False
    ready: Decoded | None = None


class LiveTranscript:
    def __init__(self, options: LiveOptions):
        self.options = options
        self.detector = SpeechDetector(options.turns)
        self.received = 0  # samples pushed so far
        self.items = 0
        self._audio = _Samples()
        self._offset = 0  # stream sample of the first one _audio keeps
        self._open: list[Utterance] = []  # in order: ended ones awaiting their final, then the current one
        self._floor = 0  # where the last utterance's speech ended: the next one's padding stops there
        self._history = ""

    @property
    def current(self) -> Utterance | None:
        return self._open[-1] if self._open and self._open[-1].speech_end is None else None

    @property
    def idle(self) -> bool:
        """Nothing to decode now or later: no utterance open."""
        return not self._open

    @property
    def held(self) -> int:
        """Samples the stream must keep: from the oldest utterance without its final (or the audio kept before any) to now."""
        return self.received - self._keep()

    def push(self, samples: np.ndarray) -> list[Event]:
        """Adds 16 kHz float samples; returns the speech_started and speech_stopped events they cause."""
        self._audio.append(samples)
        self.received += len(samples)
        events: list[Event] = []
        for turn, at in self.detector.push(samples):
            if turn == "start":
                padding = self.options.turns.padding_samples if self.options.turns else 0
                events += self._begin(max(at - padding, self._floor, self._offset))
            elif self.current is not None:
                events += self._end(at)
        if self.options.turns is None and self.current is None and len(samples):
            events += self._begin(max(self.received - len(samples), self._offset))
        events += self._cut_if_long()
        self._trim()
        return events

    def commit(self) -> tuple[int | None, list[Event]]:
        """Ends the current utterance now; (its item, events), or (None, []) when there is none."""
        current = self.current
        if current is None or self.received <= current.start:
            return None, []
        self.detector.reset()
        return current.item, self._end(self.received)

    def clear(self) -> int:
        """Drops the current utterance; returns the milliseconds of audio dropped."""
        current = self.current
        if current is None:
            return 0
        self._open.pop()
        self.detector.reset()
        self._floor = self.received
        return _ms(self.received - current.start)

    def plan(self) -> Step | None:
        """The next decode: the oldest utterance's final, else a speculative final or an interim decode of the current one."""
        for utterance in self._open:
            if utterance.speech_end is not None:
                assert utterance.audio_end is not None
                speculative = utterance.speculative
                ready = speculative[1] if speculative and _covers(speculative[0], utterance.speech_end) else None
                return self._step("final", utterance, utterance.audio_end, ready=ready)
        current = self.current
        if current is None:
            return None
        pause = self.detector.silence_since if self.detector.speaking else None
        if pause is not None:
            # The first decode that hears the pause is the final's; until the pause ends one way or the other, no other.
            covered = current.speculative is not None and _covers(current.speculative[0], pause)
            if covered or not _covers(self.received, pause) or self.received <= current.start:
                return None
            return self._step("final", current, self.received, speculative=True)
        if self.received - current.start >= MIN_FIRST_S * SAMPLE_RATE and self.received - current.decoded_to >= MIN_STEP_S * SAMPLE_RATE:
            return self._step("interim", current, self.received)
        return None

    def apply(self, step: Step, result: Decoded, decode_seconds: float = 0.0) -> list[Event]:
        """What a decode's result means: deltas, or the utterance's final."""
        utterance = step.utterance
        if utterance not in self._open:
            return []  # cleared while it was decoded
        if step.kind == "interim":
            return self._interim(utterance, step, result)
        if step.speculative:
            utterance.speculative = (step.end, result)
            if utterance.speech_end is None:
                return self._interim(utterance, step, result)  # speech went on: a hypothesis like any other
            assert utterance.speech_end is not None
            if not _covers(step.end, utterance.speech_end):
                return []  # it ended elsewhere: plan() decodes what it needs
        return self._final(utterance, result, decode_seconds)

    def _step(
        self, kind: Literal["interim", "final"], utterance: Utterance, end: int, *, speculative: bool = False, ready: Decoded | None = None,
    ) -> Step:
        audio = self._audio.view(utterance.start - self._offset, end - self._offset)
        interim = kind == "interim"
        language = self.options.language or (utterance.language if interim else None)
        # A final decodes the whole utterance afresh: words two early decodes agreed on can still be wrong.
        prefix = " ".join(utterance.confirmed) if interim and utterance.confirmed else None
        prompt = " ".join(filter(None, [self.options.prompt, self._history[-PROMPT_CHARS:]])) or None
        beam = 1 if interim else self.options.beam_size
        return Step(kind, utterance, audio, end, prefix, prompt, language, beam, speculative, ready)

    def _interim(self, utterance: Utterance, step: Step, result: Decoded) -> list[Event]:
        if utterance.speech_end is not None:
            return []  # ended while it was decoded: the final decides now
        utterance.decoded_to = step.end
        utterance.language = utterance.language or result.language
        # faster-whisper's text repeats the forced prefix: the words after it are this decode's own.
        words = result.text.split()[len(step.prefix.split()) if step.prefix else 0 :]
        agreed = _agreement(utterance.pending, words)
        if not self._silent_now():
            agreed = min(agreed, max(0, len(words) - 1))
        new, pending = words[:agreed], words[agreed:]
        if not new and pending == utterance.pending:
            return []
        utterance.confirmed += new
        utterance.pending = pending
        return [{"type": "delta", "item": utterance.item, "text": _joined(new), "pending": " ".join(pending)}]

    def _final(self, utterance: Utterance, result: Decoded, decode_seconds: float) -> list[Event]:
        self._open.remove(utterance)
        text = result.text.strip()
        words = text.split()
        events: list[Event] = []
        confirmed = len(utterance.confirmed)
        # The deltas end up as the final text where the final agrees with them; else the final alone says it.
        if _norm(words[:confirmed]) == _norm(utterance.confirmed) and (words[confirmed:] or utterance.pending):
            events.append({"type": "delta", "item": utterance.item, "text": _joined(words[confirmed:]), "pending": ""})
        assert utterance.speech_end is not None
        events.append({
            "type": "final", "item": utterance.item, "text": text, "language": result.language,
            "audio_start_ms": _ms(utterance.start), "audio_end_ms": _ms(utterance.speech_end), "decode_seconds": round(decode_seconds, 3),
        })
        if text:
            self._history = f"{self._history} {text}".strip()[-PROMPT_CHARS:]
        return events

    def _begin(self, start: int) -> list[Event]:
        utterance = Utterance(self.items, start, decoded_to=start)
        self.items += 1
        self._open.append(utterance)
        return [{"type": "speech_started", "item": utterance.item, "audio_start_ms": _ms(start)}]

    def _end(self, speech_end: int) -> list[Event]:
        current = self.current
        assert current is not None
        current.speech_end = max(speech_end, current.start)
        current.audio_end = max(min(current.speech_end + int(TAIL_S * SAMPLE_RATE), self.received), current.start + 1)
        self._floor = current.speech_end
        return [{"type": "speech_stopped", "item": current.item, "audio_end_ms": _ms(current.speech_end)}]

    def _cut_if_long(self) -> list[Event]:
        current = self.current
        if current is None or self.received - current.start < MAX_UTTERANCE_S * SAMPLE_RATE:
            return []
        cut = self.detector.quietest(current.start + int(CUT_FROM_S * SAMPLE_RATE), current.start + int(MAX_UTTERANCE_S * SAMPLE_RATE))
        return self._end(cut) + self._begin(cut)

    def _silent_now(self) -> bool:
        if self.options.turns is not None:
            return self.detector.silence_since is not None or not self.detector.speaking
        return self.detector.silent_for() >= SPECULATE_S * SAMPLE_RATE

    def _keep(self) -> int:
        return min([u.start for u in self._open] + [self.received - int(KEEP_BEFORE_S * SAMPLE_RATE)])

    def _trim(self) -> None:
        keep = self._keep()
        if keep > self._offset:
            self._audio.drop(keep - self._offset)
            self._offset = keep
            self.detector.forget(keep)


class _Samples:
    """The stream's recent audio, appended in place: a push costs its own samples, not a copy of all those held
    (np.concatenate per frame copied the whole buffer, ten times a second, and quadratically while it grew)."""

    def __init__(self) -> None:
        self._array = np.zeros(0, np.float32)
        self._head = 0  # index of the first sample kept
        self._end = 0  # index after the last

    def append(self, samples: np.ndarray) -> None:
        end = self._end + len(samples)
        if end > len(self._array):
            # Into a new array, never moved within this one: decodes in other threads may still read views of it.
            kept = self._array[self._head : self._end]
            self._array = np.empty(max(2 * (len(kept) + len(samples)), SAMPLE_RATE), np.float32)
            self._array[: len(kept)] = kept
            self._head, self._end = 0, len(kept)
            end = self._end + len(samples)
        self._array[self._end : end] = samples
        self._end = end

    def __len__(self) -> int:
        return self._end - self._head

    def drop(self, count: int) -> None:
        """Forgets the first `count` samples kept."""
        self._head += count

    def view(self, begin: int, end: int) -> np.ndarray:
        """Samples `begin` to `end` of those kept; what is appended later never writes over them."""
        return self._array[self._head + begin : min(self._head + end, self._end)]


def _covers(end: int, speech_end: int) -> bool:
    """Whether audio up to `end` holds all of the speech that stopped at `speech_end`, and a little after."""
    return end >= speech_end + SPECULATE_S * SAMPLE_RATE


def _agreement(previous: list[str], words: list[str]) -> int:
    """How many words the two decodes agree on, from the start."""
    agreed = 0
    for a, b in zip(_norm(previous), _norm(words), strict=False):
        if a != b or not a:
            break
        agreed += 1
    return agreed


def _norm(words: list[str]) -> list[str]:
    return [re.sub(r"[^\w']", "", w.lower()) for w in words]


def _joined(words: list[str]) -> str:
    return "".join(f" {w}" for w in words)


def _ms(samples: int) -> int:
    return samples * 1000 // SAMPLE_RATE
