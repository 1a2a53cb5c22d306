"""The worker's packages stand in floors: a module imports from its own package or from a lower floor, never from one
above. This holds the layout docs/architecture.md draws; an import that points up fails here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "whisper_worker"

# Top to bottom; parts on one floor may not import each other either. "" is the package's own __init__ (its version).
FLOORS: list[tuple[str, ...]] = [
    ("__main__",),
    ("server",),
    ("live",),
    ("engine",),
    ("job", "protocol"),
    ("tasks", ""),
    ("settings", "errors"),
]
FLOOR = {part: floor for floor, parts in enumerate(FLOORS) for part in parts}


def part_of(module: str) -> str:
    """`whisper_worker.engine.models` -> `engine`; `whisper_worker` -> ``."""
    names = module.split(".")[1:]
    return names[0] if names else ""


def module_of(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    return ".".join(n for n in rel.parts if n != "__init__")


def imported(path: Path) -> list[str]:
    """The worker's own modules this file imports; the worker imports absolutely (relative imports are refused)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: a relative import; write whisper_worker.… in full"
            base = node.module or ""
            found += [f"{base}.{a.name}" for a in node.names] if base == "whisper_worker" else [base]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if m.split(".")[0] == "whisper_worker"]


def wrong_imports(package: Path = PACKAGE) -> list[str]:
    wrong = []
    for path in sorted(package.rglob("*.py")):
        here = part_of(module_of(path, package))
        for target in imported(path):
            there = part_of(target)
            there = there if there in FLOOR else ""  # a name of the package's own __init__ (its version)
            if there != here and FLOOR[there] <= FLOOR[here]:
                wrong.append(f"{path.relative_to(package)} -> {target}")
    return wrong


def test_every_part_of_the_worker_has_a_floor() -> None:
    parts = {part_of(module_of(p)) for p in PACKAGE.rglob("*.py")}
    assert parts - FLOOR.keys() == set(), "give these parts a floor in tests/test_layers.py"


def test_imports_point_down_the_floors() -> None:
    assert wrong_imports() == []


def test_an_import_that_points_up_is_seen(tmp_path: Path) -> None:
    fake = tmp_path / "whisper_worker"
    (fake / "engine").mkdir(parents=True)
    (fake / "server").mkdir()
    (fake / "engine" / "models.py").write_text("from whisper_worker.server.worker import Worker\n")
    (fake / "server" / "worker.py").write_text("from whisper_worker.engine import models\n")
    assert wrong_imports(fake) == ["engine/models.py -> whisper_worker.server.worker"]
