"""The layering of ARCHITECTURE.md: schema imports nothing of ours; sync only schema; neither Textual."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"schema", "sync", "stvs_tui"}
ALLOWED = {"schema": set(), "sync": {"schema"}}
FORBIDDEN_EVERYWHERE_BELOW_UI = {"textual", "openpyxl"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_core_packages_respect_the_layering(package: str) -> None:
    files = list((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        roots = imported_roots(path)
        ours = (roots & OURS) - {package}
        assert ours <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(ours - ALLOWED[package])}"
        assert not roots & FORBIDDEN_EVERYWHERE_BELOW_UI, f"{path.relative_to(ROOT)} imports a UI library"
