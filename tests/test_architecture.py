"""The import rules of docs/architecture.md, checked on the code: layers, arrows only downwards,
model and data side by side, and no two modules importing each other (directly or round a loop).

Every ``import unheard…`` counts, also those inside functions: a lazy import is still a
dependency, only a cheaper one."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "unheard"

# docs/architecture.md's table: a unit may import units of lower layers only, and units of its
# own layer only where named in SIDEWAYS. A unit is a subpackage or a top-level module.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("files", "device", "config", "cache", "hub", "encoders"),
    ("model", "data"),
    ("encoder_cache", "tiny", "build", "presets", "plan", "checkpoint"),
    ("decoding", "evaluation"),
    ("recipes", "publish"),
    ("benchmark", "serving"),
    ("cli", "__main__", "unheard"),
)
SIDEWAYS = {
    ("cache", "files"),
    ("hub", "cache"),
    ("build", "tiny"),
    ("checkpoint", "build"),
    ("evaluation", "decoding"),  # evaluation reads the hypothesis files decoding writes
    ("__main__", "cli"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module → the unheard modules it imports (``from unheard.x import y``: y when a module)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "unheard"


def _layer(unit: str) -> int:
    for i, units in enumerate(LAYERS):
        if unit in units:
            return i
    raise AssertionError(f"unheard.{unit} is in no layer of LAYERS: add it (and to the docs)")


def test_every_arrow_points_downwards() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for target in targets
        if (a := _unit(module)) != (b := _unit(target))
        and (_layer(b) > _layer(a) or (_layer(b) == _layer(a) and (a, b) not in SIDEWAYS))
    )
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = _imports()
    cycles = []
    for start in sorted(graph):  # a path back to `start` through imports is a cycle
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join((*path, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_files_stay_readable(path: Path) -> None:
    # STYLE: one concept per module, ~400 lines at most
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{path.relative_to(PACKAGE.parent)}: {lines} lines"
