"""The decoder (whisper_worker/engine/audio.py): the same samples as faster-whisper's decode_audio, one array,
the length limit applied before decoding, and error messages that name no file of the worker's."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from whisper_worker.engine import audio, transcriber
from whisper_worker.errors import WorkerError

from conftest import LIBRIVOX

CLIP = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"  # 7.1 s, 16 kHz mono


def ffmpeg(tmp: Path, name: str, *args: str) -> Path:
    out = tmp / name
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(CLIP), *args, str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("formats")
    return {
        "librivox wav": CLIP,
        "mp3, 44.1 kHz stereo": ffmpeg(tmp, "clip.mp3", "-ar", "44100", "-ac", "2"),
        "ogg vorbis, 48 kHz": ffmpeg(tmp, "clip.ogg", "-ar", "48000"),
        # Matroska written to a pipe declares no length: the decoder has to count.
        "matroska with no length": ffmpeg(tmp, "clip.mka", "-f", "matroska", "-live", "1"),
    }


def rss_mib() -> float:
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


def test_decoding_file_after_file_holds_no_memory(tmp_path):
    # 64 s at 44.1 kHz stereo: each decode goes through the resampler with 22 MB of frames, which
    # reference cycles would keep until a full collection (faster-whisper issue 390).
    long = tmp_path / "long.mp3"
    loop = ["-stream_loop", "8", "-i", str(CLIP)]
    subprocess.run(["ffmpeg", "-loglevel", "error", *loop, "-ar", "44100", "-ac", "2", str(long)], check=True)
    audio.decode(str(long), 14400)
    before = rss_mib()
    for _ in range(15):
        samples = audio.decode(str(long), 14400)
    assert samples.size > 60 * audio.SAMPLE_RATE
    assert rss_mib() - before < 40, "decoded frames are kept after decoding"


@pytest.mark.parametrize("name", ["librivox wav", "mp3, 44.1 kHz stereo", "ogg vorbis, 48 kHz", "matroska with no length"])
def test_the_same_samples_as_decode_audio(formats, name):
    ours, theirs = audio.decode(str(formats[name]), 14400), decode_audio(str(formats[name]), sampling_rate=16000)
    assert ours.dtype == np.float32 and ours.ndim == 1
    assert abs(ours.size - theirs.size) <= 1
    n = min(ours.size, theirs.size)
    np.testing.assert_allclose(ours[:n], theirs[:n], rtol=0, atol=1e-6)


def test_the_array_grows_when_the_file_declares_no_length(formats, monkeypatch):
    monkeypatch.setattr(audio, "UNKNOWN_LENGTH_SECONDS", 0.01)  # far too small a guess: grown many times
    path = str(formats["matroska with no length"])
    assert audio.check_length(path, 14400) is None
    ours = audio.decode(path, 14400)
    assert ours.flags.owndata and ours.base is None, "trimmed in place, not a view of a larger array"
    np.testing.assert_array_equal(ours, decode_audio(path, sampling_rate=16000))


def test_a_declared_length_over_the_limit_is_refused_before_any_decoding(silence_3h, monkeypatch):
    def decoding(*args):
        raise AssertionError("decoding started")

    monkeypatch.setattr(audio, "_resampled", decoding)
    assert audio.check_length(str(silence_3h), 14400) == 10800
    for refuse in (audio.check_length, audio.decode, transcriber.check_audio, transcriber.load_audio):
        with pytest.raises(WorkerError) as refused:
            refuse(str(silence_3h), 3600)
        assert refused.value.code == "audio_too_long"
        assert refused.value.message.startswith(
            "The audio is 3:00:00 long (10800 s); this worker accepts at most 1:00:00 (WHISPER_MAX_AUDIO_SECONDS=3600)."
        )


def test_audio_that_declares_no_length_is_counted_and_stopped_at_the_limit(formats):
    with pytest.raises(WorkerError) as refused:
        audio.decode(str(formats["matroska with no length"]), 3)
    assert refused.value.code == "audio_too_long"
    assert "decoding stopped at its limit of 0:00:03 (WHISPER_MAX_AUDIO_SECONDS=3)" in refused.value.message


def test_undecodable_files_are_refused_without_naming_them(tmp_path):
    tmp_path = tmp_path / "secret-folder"
    tmp_path.mkdir()
    files = {
        "empty": b"",
        "text": b"this is a text file, not audio\n" * 10,
        "truncated wav": CLIP.read_bytes()[:60],
        "random bytes": np.random.default_rng(1).bytes(5000),
    }
    video = tmp_path / "video-only.mp4"
    black = ["-f", "lavfi", "-i", "color=c=black:s=16x16:d=1", "-c:v", "mpeg4"]
    subprocess.run(["ffmpeg", "-loglevel", "error", *black, str(video)], check=True)
    paths = [video]
    for name, data in files.items():
        paths.append(tmp_path / f"whisper-audio-{name.replace(' ', '-')}")
        paths[-1].write_bytes(data)
    for path in paths:
        with pytest.raises(WorkerError) as refused:
            transcriber.check_audio(str(path), 14400)
            transcriber.load_audio(str(path), 14400)
        message = refused.value.message
        assert refused.value.code == "undecodable_audio", (path.name, message)
        assert "secret-folder" not in message and "whisper-audio" not in message and "/" not in message, message
    with pytest.raises(WorkerError, match="no audio stream"):
        transcriber.load_audio(str(video), 14400)
