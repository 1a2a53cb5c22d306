"""faster-whisper in this process: the baseline the batching benchmark holds the stack against.

    .venv/bin/python bench/worker/inprocess.py MODEL BATCH_SIZE FILE...

Decodes each file once, one after another, with the worker's options (language en,
beam 5, VAD) and its CPU threads; BATCH_SIZE 0 is `WhisperModel.transcribe`, more is
`BatchedInferencePipeline` with that batch. Prints one JSON line: each file's seconds
and text, and the process's peak RSS. Device, compute type and threads are the worker's
(`pick_device`, so WHISPER_DEVICE and WHISPER_COMPUTE_TYPE apply); WHISPER_MODELS_DIR
names the folder (default ./models).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "worker"))


def main(model_name: str, batch_size: int, files: list[str]) -> None:
    from whisper_worker.engine.loader import pick_device
    from whisper_worker.settings import Settings

    device = pick_device(Settings.from_env())
    models = Path(os.environ.get("WHISPER_MODELS_DIR", ROOT / "models"))
    model = WhisperModel(str(models / model_name), device=device.name, compute_type=device.compute_type, cpu_threads=device.cpu_threads)
    pipeline = BatchedInferencePipeline(model) if batch_size else None

    def transcribe(path: str) -> str:
        audio = decode_audio(path)  # inside the timing, as the worker decodes the upload inside its own
        if pipeline is not None:
            segments, _ = pipeline.transcribe(audio, batch_size=batch_size, language="en", beam_size=5, vad_filter=True)
        else:
            segments, _ = model.transcribe(audio, language="en", beam_size=5, vad_filter=True)
        return "".join(s.text for s in segments).strip()

    transcribe(files[0])  # warm-up, as the worker's model is warm
    seconds, texts = [], []
    for path in files:
        started = time.perf_counter()
        texts.append(transcribe(path))
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"seconds": seconds, "texts": texts, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
