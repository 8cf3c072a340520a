"""The package map of docs/architecture.md holds: imports run one way, rich stays at the edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "orpr"

LAYERS = (
    "config",
    "compute",
    "stationary",
    "data",
    "sim",
    "baselines",
    "labels",
    "model",
    "training",
    "rl",
    "evaluation",
    "deploy",
    "report",
    "pipeline",
    "cli",
)
"""The packages bottom to top, as docs/architecture.md lists them: each imports only those
before it (and ``errors``, ``io``)."""
SHARED = ("errors", "io", "__init__", "__main__")


def imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``orpr`` import in a file, function-local ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
    return out


def package_of(path: Path) -> str:
    """The top-level entry of ``src/orpr`` a file belongs to (``errors`` for errors.py)."""
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def test_every_top_level_entry_is_on_the_map():
    entries = {p.name.removesuffix(".py") for p in SRC.iterdir() if p.name != "__pycache__"}
    assert entries - {"py.typed"} == set(LAYERS) | set(SHARED)


@pytest.mark.parametrize("package", LAYERS)
def test_a_package_imports_only_the_packages_below_it(package):
    allowed = set(LAYERS[: LAYERS.index(package) + 1]) | set(SHARED)
    wrong = [
        f"{path.relative_to(SRC)}:{line} imports {module}"
        for path in sorted((SRC / package).rglob("*.py"))
        for line, module in imports(path)
        if module.startswith("orpr.") and module.split(".")[1] not in allowed
    ]
    assert wrong == []


def test_only_the_report_and_the_cli_import_rich():
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if package_of(path) not in ("report", "cli")
        for line, module in imports(path)
        if module == "rich" or module.startswith("rich.")
    ]
    assert found == []
