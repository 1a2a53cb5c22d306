"""A folder holding a CTranslate2 conversion of a Whisper model, and what its own files say it can do.

The team's own models (a fine-tune, a conversion under a name faster-whisper does not know) are told
apart from the stock ones by nothing but these files, so what they can do is read from them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

VOCABULARIES = ("vocabulary.json", "vocabulary.txt")
# CTranslate2's own rule (WhisperModel::is_multilingual): English-only Whisper vocabularies have 51864 tokens.
MULTILINGUAL_VOCABULARY = 51865


@dataclass(frozen=True)
class Abilities:
    multilingual: bool
    languages: tuple[str, ...]


def _vocabulary(folder: Path) -> Path | None:
    return next((folder / name for name in VOCABULARIES if (folder / name).is_file()), None)


def is_conversion(folder: Path) -> bool:
    """What CTranslate2 needs to load a Whisper model from the folder."""
    return (folder / "model.bin").is_file() and (folder / "config.json").is_file() and _vocabulary(folder) is not None


def _tokens(vocabulary: Path) -> list[str]:
    if vocabulary.suffix == ".json":
        tokens = json.loads(vocabulary.read_text(encoding="utf-8"))
        return tokens if isinstance(tokens, list) else []
    return vocabulary.read_text(encoding="utf-8").rstrip("\n").split("\n")


def abilities(folder: Path) -> Abilities | None:
    """Multilingual or English-only, and its languages; None when the folder is no readable conversion."""
    vocabulary = _vocabulary(folder)
    try:
        tokens = _tokens(vocabulary) if vocabulary else []
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if len(tokens) < MULTILINGUAL_VOCABULARY:
        # English-only conversions carry a lang_ids list too, off by one token: it means nothing for them.
        return Abilities(False, ("en",)) if tokens else None
    # A model's languages are its language tokens, <|de|> and so on, in the order of its config.
    ids = config.get("lang_ids") if isinstance(config, dict) else None
    codes = [tokens[i][2:-2] for i in ids or [] if isinstance(i, int) and 0 <= i < len(tokens)]
    return Abilities(True, tuple(code for code in codes if code))
