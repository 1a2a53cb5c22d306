"""The memory probe: RSS always; GPU memory through NVML where there is a GPU, nulls elsewhere."""

import ctranslate2

from whisper_worker.engine.memory import MemoryProbe


def test_cpu_worker_reports_rss_and_no_gpu():
    snapshot = MemoryProbe(()).snapshot()
    assert snapshot["rss_bytes"] > 10 << 20
    assert (snapshot["gpu_used_bytes"], snapshot["gpu_total_bytes"]) == (None, None)


def test_gpu_memory_when_a_gpu_is_there_else_nulls():
    gpus = tuple(range(ctranslate2.get_cuda_device_count()))
    used, total = MemoryProbe(gpus or (0,)).gpu_memory()
    if gpus:
        assert total is not None and used is not None and 0 < used <= total
    else:  # no driver here: NVML is missing or finds no device, and the probe says so with nulls
        assert (used, total) == (None, None)
