"""The diarization models through onnxruntime (engine/diarize/segmentation.py, embedding.py), on real speech.

Three real voices from pocketsphinx-testdata: the LibriVox reader (librivox/*.wav), the speaker of cards/*.wav,
and the speaker of the CMU recordings goforward.raw, numbers.raw, something.raw and tidigits/dhd.2934z.raw
(one voice by their embeddings: 0.60-0.71 among them, at most 0.35 to the other two).
The ONNX files come from `make models` (scripts/install_diarization.py); without them these tests fail."""

from __future__ import annotations

import wave
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from whisper_worker.engine.diarize import embedding, segmentation
from whisper_worker.engine.diarize.embedding import SpeakerEmbedding
from whisper_worker.engine.diarize.segmentation import Segmentation

from conftest import LIBRIVOX, MODELS

DATA = LIBRIVOX.parent
RATE = 16000


def load(path: Path) -> np.ndarray:
    if path.suffix == ".raw":  # headerless 16 kHz s16le mono
        return np.fromfile(path, np.int16).astype(np.float32) / 32768
    with wave.open(str(path)) as f:
        assert (f.getframerate(), f.getnchannels(), f.getsampwidth()) == (RATE, 1, 2), path
        return np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32) / 32768


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def installed(name: str) -> Path:
    path = MODELS / "diarization" / name
    assert path.is_file(), f"{path} is missing: run `make models` (scripts/install_diarization.py)"
    return path


@pytest.fixture(scope="module")
def seg() -> Segmentation:
    return Segmentation(installed(segmentation.FILE))


@pytest.fixture(scope="module")
def emb() -> SpeakerEmbedding:
    return SpeakerEmbedding(installed(embedding.FILE))


@pytest.fixture(scope="module")
def voices() -> dict[str, list[np.ndarray]]:
    cards = np.concatenate([load(p) for p in sorted((DATA / "cards").glob("*.wav"))])  # 1-3.5 s each: too short alone
    return {
        "reader": [load(p) for p in sorted(LIBRIVOX.glob("*.wav"))],
        "cards": np.array_split(cards, 2),
        "cmu": [load(DATA / n) for n in ("goforward.raw", "numbers.raw", "something.raw", "tidigits/dhd.2934z.raw")],
    }


def speech_by_time(activity, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Frame centres on the timeline and the probability that anyone speaks there, averaged over the chunks."""
    step = activity.frame_step
    frames = activity.probabilities.shape[1]
    total = np.zeros(int(duration / step) + frames)
    seen = np.zeros_like(total)
    for start, chunk in zip(activity.chunk_starts, activity.probabilities, strict=True):
        first = int(round(start / step))
        total[first : first + frames] += chunk.max(axis=1)
        seen[first : first + frames] += 1
    times = np.arange(total.size) * step + activity.frame_duration / 2
    keep = (seen > 0) & (times < duration)
    return times[keep], total[keep] / seen[keep]


def test_speech_is_active_and_added_silence_is_not(seg):
    # 23 s: three chunks' worth of speech of two voices, with silence before, between and after.
    parts = [silence(2), load(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"), silence(3),
             load(DATA / "numbers.raw"), silence(3), load(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"),
             silence(2.5)]
    audio = np.concatenate(parts)
    activity = seg.activity(audio, step=1.0)
    chunks = len(activity.chunk_starts)
    assert activity.probabilities.shape == (chunks, 589, 3)
    assert activity.probabilities.dtype == np.float32
    assert activity.chunk_duration == 10.0 and activity.frame_step == pytest.approx(0.016875)
    # 10 s chunks 59 frames (0.996 s) apart, the last one past the end (padded), as pyannote lays them out.
    assert np.allclose(np.diff(activity.chunk_starts), 59 * activity.frame_step)
    assert activity.chunk_starts[-1] - 59 * activity.frame_step <= audio.size / RATE - 10 < activity.chunk_starts[-1]
    assert activity.probabilities.min() >= 0 and activity.probabilities.max() <= 1

    times, speech = speech_by_time(activity, audio.size / RATE)
    edges = np.cumsum([0] + [p.size / RATE for p in parts])
    for i, (start, end) in enumerate(zip(edges, edges[1:], strict=False)):
        inside = speech[(times > start + 0.3) & (times < end - 0.3)]  # a frame sees 62 ms: keep off the edges
        if i % 2:  # a recording: words with short pauses between them
            assert (inside > 0.5).mean() > 0.6, f"part {i} ({start:.1f}-{end:.1f} s) is mostly inactive"
        else:
            assert inside.max() < 0.5 and inside.mean() < 0.1, f"silence {start:.1f}-{end:.1f} s is active"


def test_two_voices_in_one_chunk_are_two_local_speakers(seg, voices):
    first, second = voices["reader"][1], voices["cmu"][0]
    activity = seg.activity(np.concatenate([first, silence(1), second]))
    assert activity.probabilities.shape[0] == 1  # 6.8 s: one chunk, padded
    frames = activity.probabilities[0]
    centre = np.arange(frames.shape[0]) * activity.frame_step + activity.frame_duration / 2
    boundary = (first.size + RATE) / RATE
    spoken = frames.max(axis=1) > 0.5
    one = frames[(centre < boundary) & spoken].mean(axis=0)
    other = frames[(centre > boundary) & spoken].mean(axis=0)
    assert one.argmax() != other.argmax(), (one, other)
    assert one.max() > 0.8 and other.max() > 0.8


def test_batches_hard_decoding_and_lengths(seg, voices):
    audio = np.concatenate([*voices["reader"], silence(1)])  # 25.7 s: 17 chunks
    whole = seg.activity(audio)
    seg.batch_size = 5  # 4 calls, the last one short: the reused buffer must not leak a previous chunk
    try:
        batched = seg.activity(audio)
    finally:
        seg.batch_size = segmentation.BATCH
    np.testing.assert_allclose(batched.probabilities, whole.probabilities, atol=1e-5)

    hard = seg.activity(audio, hard=True).probabilities
    assert set(np.unique(hard)) <= {0.0, 1.0}
    assert (hard.sum(axis=2) <= 2).all()  # the powerset allows at most 2 speakers at once
    assert ((whole.probabilities > 0.5) == hard.astype(bool)).mean() > 0.97

    assert seg.activity(audio[: 3 * RATE]).probabilities.shape == (1, 589, 3)
    assert seg.activity(np.zeros(0, np.float32)).probabilities.shape == (0, 589, 3)


def test_embeddings_are_closer_within_a_voice_than_across(emb, voices):
    clips = [clip for clips in voices.values() for clip in clips]
    speaker = [name for name, clips in voices.items() for _ in clips]
    vectors = emb.embed(clips)
    assert vectors.shape == (len(clips), 192) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    similarity = vectors @ vectors.T
    same = [similarity[i, j] for i, j in combinations(range(len(clips)), 2) if speaker[i] == speaker[j]]
    different = [similarity[i, j] for i, j in combinations(range(len(clips)), 2) if speaker[i] != speaker[j]]
    # Measured: same voice 0.60-0.96, different voices at most 0.29.
    assert min(same) > max(different) + 0.15, (min(same), max(different))


def test_equal_clips_batch_and_keep_their_order(emb, voices):
    # 1.5 s clips (what a diarization pipeline embeds), interleaved voices, plus clips of other lengths and one
    # shorter than a feature frame: one by one and all at once give the same vectors, in the same order.
    crops = [clip[i : i + 24000] for clips in voices.values() for clip in clips for i in range(0, clip.size - 24000, 12000)]
    crops = crops[::2] + crops[1::2] + [voices["reader"][0], voices["cmu"][1], np.full(100, 0.01, np.float32)]
    alone = np.concatenate([emb.embed([clip]) for clip in crops])
    emb.batch_frames = 4 * 148  # 4 clips of 1.5 s a call, the last call short
    try:
        together = emb.embed(crops)
    finally:
        emb.batch_frames = embedding.BATCH_FRAMES
    np.testing.assert_allclose(together, alone, atol=1e-4)
    assert np.isfinite(together).all()
    assert emb.embed([]).shape == (0, 192)


def test_missing_model_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="make models"):
        Segmentation(tmp_path / "segmentation.onnx")
    with pytest.raises(FileNotFoundError, match="make models"):
        SpeakerEmbedding(tmp_path / "embedding.onnx")
