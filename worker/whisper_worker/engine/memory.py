"""How much memory the worker holds: its RSS, and GPU memory when it runs on CUDA.

GPU memory comes from NVML (nvidia-ml-py, the library nvidia-smi itself uses):
a function call, not a process to start, so `status` can read it every time.
Without NVML (no driver, a CPU machine) the GPU fields are null.
"""

from __future__ import annotations

import logging
from typing import Any

import psutil

log = logging.getLogger("whisper_worker.memory")


def _nvml() -> Any | None:
    try:
        import pynvml  # nvidia-ml-py

        pynvml.nvmlInit()
        return pynvml
    except Exception as e:  # no driver, no library: this is a CPU machine, or one that cannot say
        log.info("GPU memory will not be reported: NVML is not available (%s)", e)
        return None


class MemoryProbe:
    def __init__(self, gpus: tuple[int, ...]):
        self._gpus = gpus
        self._nvml = _nvml() if gpus else None

    def snapshot(self) -> dict[str, int | None]:
        used, total = self.gpu_memory()
        return {"rss_bytes": psutil.Process().memory_info().rss, "gpu_used_bytes": used, "gpu_total_bytes": total}

    def gpu_memory(self) -> tuple[int | None, int | None]:
        """Used and total bytes summed over the worker's GPUs; (None, None) when it cannot tell."""
        if self._nvml is None:
            return None, None
        try:
            infos = [self._nvml.nvmlDeviceGetMemoryInfo(self._nvml.nvmlDeviceGetHandleByIndex(i)) for i in self._gpus]
        except Exception as e:
            log.warning("NVML could not read GPU memory: %s", e)
            return None, None
        return sum(int(m.used) for m in infos), sum(int(m.total) for m in infos)
