"""Speech detection on a live stream: Silero VAD fed 32 ms at a time.

faster-whisper's Silero model is a recurrent network; kept with its state and
the last samples of the previous chunk as context, it gives the same speech
probabilities chunk by chunk as over the whole file, at ~0.15 ms a chunk, so
it runs on the event loop as audio arrives, never behind a decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from faster_whisper.vad import get_vad_model

from whisper_worker.engine.audio import SAMPLE_RATE

CHUNK = 512  # samples (32 ms) the model takes at a time
CONTEXT = 64
MIN_SPEECH_CHUNKS = 3  # ~100 ms above the threshold before an utterance counts: a click is not speech


@dataclass(frozen=True)
class TurnDetection:
    """The server VAD of OpenAI's Realtime API, in its own units."""

    threshold: float = 0.5
    silence_duration_ms: int = 500
    prefix_padding_ms: int = 300

    @property
    def silence_samples(self) -> int:
        return self.silence_duration_ms * SAMPLE_RATE // 1000

    @property
    def padding_samples(self) -> int:
        return self.prefix_padding_ms * SAMPLE_RATE // 1000


@dataclass
class SpeechDetector:
    """Speech probabilities of a stream, and where its speech starts and stops (in samples of the stream)."""

    turns: TurnDetection | None
    probabilities: list[float] = field(default_factory=list)  # one per CHUNK, from chunk `forgotten` on
    forgotten: int = 0  # chunks whose probabilities were dropped: a stream may run for days
    speaking: bool = False
    start: int = 0  # of the speech in progress, or of the last
    silence_since: int | None = None  # first silent chunk of the current pause, while speaking
    last_loud: int = 0  # end of the last chunk above the threshold
    _above: int = 0
    _pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _state: tuple[np.ndarray, np.ndarray] = field(default_factory=lambda: (_zero_state(), _zero_state()))
    _context: np.ndarray = field(default_factory=lambda: np.zeros(CONTEXT, np.float32))

    @property
    def heard(self) -> int:
        """Samples judged so far."""
        return (self.forgotten + len(self.probabilities)) * CHUNK

    def push(self, samples: np.ndarray) -> list[tuple[str, int]]:
        """Judges new audio; returns ("start", sample) and ("stop", sample) turns, in order."""
        audio = np.concatenate([self._pending, samples])
        whole = len(audio) // CHUNK * CHUNK
        self._pending = audio[whole:]
        turns: list[tuple[str, int]] = []
        for offset in range(0, whole, CHUNK):
            probability = self._judge(audio[offset : offset + CHUNK])
            self.probabilities.append(probability)
            if probability >= (self.turns.threshold if self.turns else 0.5):
                self.last_loud = self.heard
            if self.turns is not None:
                turns.extend(self._turn(probability, self.heard - CHUNK))
        return turns

    def silent_for(self) -> int:
        """Samples of silence at the end of what was heard (0 while speaking)."""
        if self.speaking:
            return 0 if self.silence_since is None else self.heard - self.silence_since
        return self.heard - self.last_loud

    def quietest(self, begin: int, end: int) -> int:
        """The sample where the least likely chunk of speech in [begin, end) starts: where to cut a long utterance."""
        first = max(0, begin // CHUNK - self.forgotten)
        window = self.probabilities[first : max(first + 1, end // CHUNK - self.forgotten)]
        return (self.forgotten + first + int(np.argmin(window))) * CHUNK if window else begin

    def probability(self, sample: int) -> float:
        """Of the chunk that holds `sample`, if it is still remembered."""
        return self.probabilities[sample // CHUNK - self.forgotten]

    def forget(self, before: int) -> None:
        """Drops the probabilities of the audio before sample `before`: nothing will ask for them again."""
        drop = min(before // CHUNK - self.forgotten, len(self.probabilities))
        if drop > 0:
            del self.probabilities[:drop]
            self.forgotten += drop

    def reset(self) -> None:
        """Forgets the speech in progress (the client cleared its audio): the next speech is a new utterance."""
        self.speaking, self.silence_since, self._above = False, None, 0

    def _judge(self, chunk: np.ndarray) -> float:
        model = get_vad_model()
        batch = np.concatenate([self._context, chunk])[None, :]
        output, h, c = model.session.run(None, {"input": batch, "h": self._state[0], "c": self._state[1]})
        self._state, self._context = (h, c), chunk[-CONTEXT:]
        return float(np.asarray(output).ravel()[0])

    def _turn(self, probability: float, at: int) -> list[tuple[str, int]]:
        assert self.turns is not None
        loud = probability >= self.turns.threshold
        quiet = probability < max(0.01, self.turns.threshold - 0.15)  # Silero's hysteresis: between the two, nothing changes
        if not self.speaking:
            self._above = self._above + 1 if loud else 0
            if self._above < MIN_SPEECH_CHUNKS:
                return []
            self.speaking, self.silence_since = True, None
            self.start = at - (MIN_SPEECH_CHUNKS - 1) * CHUNK
            return [("start", self.start)]
        if loud:
            self.silence_since = None
        elif quiet and self.silence_since is None:
            self.silence_since = at
        if self.silence_since is not None and self.heard - self.silence_since >= self.turns.silence_samples:
            self.speaking, self._above = False, 0
            return [("stop", self.silence_since)]
        return []


def _zero_state() -> np.ndarray:
    return np.zeros((1, 1, 128), np.float32)  # the Silero network's recurrent state
