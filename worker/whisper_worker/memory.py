"""How much memory the worker holds: its RSS, and GPU memory when it runs on CUDA."""

from __future__ import annotations

import shutil
import subprocess
import time

import psutil

GPU_QUERY_SECONDS = 2.0  # nvidia-smi is slow to start; status must not wait for it on every call


class MemoryProbe:
    def __init__(self, gpus: tuple[int, ...]):
        self._gpus = gpus
        self._smi = shutil.which("nvidia-smi") if gpus else None
        self._gpu: tuple[int | None, int | None] = (None, None)
        self._gpu_at = float("-inf")

    def snapshot(self) -> dict[str, int | None]:
        """Blocking (nvidia-smi): call it from a thread."""
        used, total = self._gpu_memory()
        return {"rss_bytes": psutil.Process().memory_info().rss, "gpu_used_bytes": used, "gpu_total_bytes": total}

    def _gpu_memory(self) -> tuple[int | None, int | None]:
        if self._smi is None:
            return None, None
        if time.monotonic() - self._gpu_at > GPU_QUERY_SECONDS:
            self._gpu = _query_nvidia_smi(self._smi, self._gpus)
            self._gpu_at = time.monotonic()
        return self._gpu


def _query_nvidia_smi(smi: str, gpus: tuple[int, ...]) -> tuple[int | None, int | None]:
    """Used and total bytes summed over the worker's GPUs; (None, None) when it cannot tell."""
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,memory.used,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout
        rows = [[int(x) for x in line.split(",")] for line in out.strip().splitlines()]
        mine = [r for r in rows if r[0] in gpus]
        if not mine:
            return None, None
        return sum(r[1] for r in mine) << 20, sum(r[2] for r in mine) << 20  # nvidia-smi reports MiB
    except (OSError, ValueError, subprocess.SubprocessError):
        return None, None
