"""Settings from the environment, and the device, slots and threads they lead to."""

import os

import ctranslate2
import pytest

from whisper_worker.engine.loader import pick_device
from whisper_worker.server.tcp import unprotected
from whisper_worker.settings import Settings, SettingsError, describe


def test_defaults_and_parsing():
    s = Settings.from_env({"WHISPER_PORT": "0", "WHISPER_PRELOAD": "tiny.en, base", "WHISPER_ALLOW_DOWNLOAD": "false",
                           "WHISPER_MODEL_IDLE_SECONDS": "-1", "WHISPER_MAX_AUDIO_FRAME": "1000"})
    assert (s.port, s.preload, s.allow_download, s.model_idle_seconds, s.max_audio_frame) == (0, ("tiny.en", "base"), False, -1.0, 1000)
    assert (s.host, s.default_model, s.max_json_frame, s.queue_limit, s.log_level) == ("127.0.0.1", "base", 1 << 20, 16, "info")
    assert Settings.from_env({"WHISPER_LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"
    assert (s.max_audio_seconds, s.token) == (14400, "")
    assert s.live_max_buffered_seconds == 60
    assert s.short_windows is False, "every window 30 s unless asked: the same text as faster-whisper (test_same_text)"
    limited = Settings.from_env({"WHISPER_MAX_AUDIO_SECONDS": "3600", "WORKER_TOKEN": "s3cret"})
    assert (limited.max_audio_seconds, limited.token) == (3600, "s3cret")
    assert "s3cret" not in repr(limited), "the token stays out of anything that logs the settings"


@pytest.mark.parametrize("env", [{"WHISPER_PORT": "nine"}, {"WHISPER_DEVICE": "tpu"}, {"WHISPER_SLOTS": "-1"},
                                 {"WHISPER_ALLOW_DOWNLOAD": "maybe"}, {"WHISPER_MAX_LOADED_MODELS": "0"},
                                 {"WHISPER_LOG_LEVEL": "chatty"}, {"WHISPER_MAX_AUDIO_SECONDS": "0"},
                                 {"WHISPER_MAX_AUDIO_SECONDS": "4h"}, {"WHISPER_LIVE_MAX_BUFFERED_SECONDS": "20"}])
def test_bad_values_are_refused_by_name(env):
    with pytest.raises(SettingsError, match="WHISPER_"):
        Settings.from_env(env)


def test_every_setting_is_documented():
    table = describe()
    for name in ("WHISPER_HOST", "WHISPER_PORT", "WHISPER_DEVICE", "WHISPER_COMPUTE_TYPE", "WHISPER_CPU_THREADS",
                 "WHISPER_MODELS_DIR", "WHISPER_MAX_LOADED_MODELS", "WHISPER_MODEL_IDLE_SECONDS", "WHISPER_PRELOAD",
                 "WHISPER_SLOTS", "WHISPER_QUEUE_LIMIT", "WHISPER_MAX_JSON_FRAME", "WHISPER_MAX_AUDIO_FRAME",
                 "WHISPER_DEFAULT_MODEL", "WHISPER_BATCH_SIZE", "WHISPER_ALLOW_DOWNLOAD", "WHISPER_LOG_LEVEL",
                 "WHISPER_MAX_AUDIO_SECONDS", "WHISPER_SHORT_WINDOWS", "WHISPER_LIVE_MAX_BUFFERED_SECONDS",
                 "WORKER_TOKEN"):
        assert f"`{name}`" in table


def test_auto_device_slots_threads_and_batch():
    gpus = ctranslate2.get_cuda_device_count()
    device = pick_device(Settings())
    assert device.name == ("cuda" if gpus else "cpu")
    assert device.compute_type == ("float16" if gpus else "int8")
    assert device.batch_size == (16 if gpus else 8)
    assert device.slots == device.batch_size * (gpus or 1)  # enough transcriptions at once to fill a batch
    assert device.replicas == (gpus or 1)
    assert device.cpu_threads == os.cpu_count()  # one call at a time on every core


def test_explicit_slots_threads_and_batch_are_kept():
    device = pick_device(Settings(device="cpu", slots=3, cpu_threads=1, batch_size=4))
    assert (device.name, device.slots, device.cpu_threads, device.batch_size) == ("cpu", 3, 1, 4)
    assert device.replicas == os.cpu_count()  # one thread each: calls run side by side, one a core
    assert pick_device(Settings(device="cpu", batch_size=1)).slots == 1  # no batching: one at a time, as before batching


@pytest.mark.parametrize(("host", "token", "warned"), [
    ("127.0.0.1", "", False), ("::1", "", False), ("localhost", "", False), ("127.0.0.2", "", False),
    ("0.0.0.0", "", True), ("::", "", True), ("10.1.2.3", "", True), ("gpu-1.internal", "", True),
    ("0.0.0.0", "s3cret", False),
])
def test_a_worker_reachable_from_other_machines_without_a_token_is_warned_about(host, token, warned):
    assert unprotected(Settings(host=host, token=token)) is warned


def test_log_level_falls_back_to_the_shared_log_level():
    assert Settings.from_env({"LOG_LEVEL": "debug"}).log_level == "debug"
    assert Settings.from_env({"LOG_LEVEL": "debug", "WHISPER_LOG_LEVEL": "warning"}).log_level == "warning"
