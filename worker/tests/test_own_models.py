"""The team's own models: any folder of the models folder holding a conversion, under its folder's name."""

from pathlib import Path

import pytest

from whisper_worker.engine.conversions import abilities

from client import Client
from conftest import MODELS, RunningWorker, wer

CLIP = "sense_and_sensibility_01_austen_64kb-0880"


def _conversion(source: Path, folder: Path) -> Path:
    """A copy of a conversion that costs no disk: its files linked, under a name faster-whisper does not know."""
    folder.mkdir(parents=True)
    for file in source.iterdir():
        (folder / file.name).symlink_to(file.resolve())
    return folder


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    models = root / "models"
    _conversion(MODELS / "base", models / "my-finetune")
    _conversion(MODELS / "tiny.en", models / "whisper-tiny-en-ours")
    _conversion(MODELS / "tiny.en", models / ".hidden")
    _conversion(MODELS / "tiny.en", root / "outside")  # next to the models folder: '../outside' must not reach it
    (models / "half-copied").mkdir()
    (models / "half-copied" / "config.json").write_text("{}")
    w = RunningWorker(root, WHISPER_MODELS_DIR=str(models), WHISPER_ALLOW_DOWNLOAD="false")
    yield w
    w.stop()


def _listed(worker: RunningWorker) -> dict[str, dict]:
    with Client(worker.port) as client:
        return {m["name"]: m for m in client.call({"command": "list_models"})["result"]["models"]}


def test_own_folders_are_listed_with_what_their_files_say(own):
    models = _listed(own)
    mine, english = models["my-finetune"], models["whisper-tiny-en-ours"]
    assert (mine["available"], mine["multilingual"]) == (True, True)
    assert {"en", "de", "fr", "ru"} <= set(mine["languages"]) and len(mine["languages"]) == 99
    assert (english["multilingual"], english["languages"]) == (False, ["en"])
    # Not a conversion, or not a name: not a model.
    assert not {".hidden", "half-copied", "outside"} & set(models)
    # The stock names stay, not on disk here.
    assert models["base"]["available"] is False and models["base"]["multilingual"] is None


def test_abilities_of_the_stock_conversions():
    assert abilities(MODELS / "base").multilingual is True
    assert abilities(MODELS / "tiny.en").languages == ("en",)


def test_an_own_model_transcribes_librivox(own, clips, references):
    with Client(own.port) as client:
        reply = client.call({"command": "transcribe", "model": "my-finetune", "options": {"language": "en"}}, clips[CLIP])
        loaded = [m["name"] for m in client.call({"command": "status"})["result"]["models"]]
    assert reply["type"] == "result", reply
    assert reply["result"]["model"] == "my-finetune" and loaded == ["my-finetune"]
    assert wer([references[CLIP]], [reply["result"]["text"]]) <= 0.25, reply["result"]["text"]


@pytest.mark.parametrize("name", ["../outside", "a/b", ".hidden", "my-finetune/..", "..", "a\\b", "my finetune"])
def test_names_that_are_no_folder_of_the_models_folder_are_refused(own, name):
    with Client(own.port) as client:
        reply = client.call({"command": "load_model", "model": name})
    assert reply["error"]["code"] == "unknown_model", reply
    assert "not a valid model name" in reply["error"]["message"] and "'..'" in reply["error"]["message"]


def test_an_unknown_name_lists_the_own_models_among_the_accepted(own):
    with Client(own.port) as client:
        reply = client.call({"command": "load_model", "model": "not-here"})
    assert reply["error"]["code"] == "unknown_model"
    assert "my-finetune" in reply["error"]["message"] and "large-v3" in reply["error"]["message"]


def test_an_english_only_model_refuses_another_language(own, clips):
    with Client(own.port) as client:
        refused = client.call({"command": "transcribe", "model": "whisper-tiny-en-ours", "options": {"language": "de"}}, clips[CLIP])
        fine = client.call({"command": "transcribe", "model": "whisper-tiny-en-ours", "options": {"language": "en"}}, clips[CLIP])
        loaded = [m["name"] for m in client.call({"command": "status"})["result"]["models"]]
    assert refused["error"]["code"] == "bad_request", refused
    assert "English-only" in refused["error"]["message"] and "'de'" in refused["error"]["message"]
    assert fine["type"] == "result" and "whisper-tiny-en-ours" in loaded
