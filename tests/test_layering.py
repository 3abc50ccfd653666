"""The layering of ARCHITECTURE.md: schema imports nothing of ours; sync only schema; neither Textual.

Inside stvs_tui: the command line (stvs_tui.cli) on top, the county app over its screens, and no import circles.
"""

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


# Inside stvs_tui: the command line is the top layer; the county app sits over its screens; no circles.
# Every import counts, wherever it is written: at the top, inside a function (lazy) or under TYPE_CHECKING.
PACKAGE = ROOT / "stvs_tui"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stvs_tui_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the stvs_tui modules it imports (``from a.b import c`` is ``a.b.c`` when that is a module)."""
    modules = stvs_tui_modules()

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            targets.update(found for name in names if (found := ours(name)) is not None)
        targets.discard(module)
        graph[module] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_import_graph_sees_lazy_and_type_checking_imports() -> None:
    graph = import_graph()
    assert "stvs_tui.county.start" in graph["stvs_tui.cli"]  # imported inside ``main`` only
    assert "stvs_tui.county.app" in graph["stvs_tui.county.start"]  # inside ``run_county_app`` only
    assert "stvs_tui.context" in graph["stvs_tui.cli.sync"]  # imported under TYPE_CHECKING only
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_among_stvs_tui_modules() -> None:
    assert import_cycles(import_graph()) == []


def test_only_the_entry_points_import_the_command_line() -> None:
    """``stvs_tui.cli`` is the top layer: what the commands share with the app (context, regions) is below."""
    for module, targets in import_graph().items():
        if _in(module, "stvs_tui.cli") or module == "stvs_tui.__main__":
            continue
        assert not {t for t in targets if _in(t, "stvs_tui.cli")}, f"{module} imports the command line"


def test_the_county_screens_do_not_import_the_county_app() -> None:
    """The app imports every screen; the screens name what they need of it as ``CountyHost``."""
    checked = 0
    for module, targets in import_graph().items():
        if _in(module, "stvs_tui.county.screens"):
            checked += 1
            assert "stvs_tui.county.app" not in targets, f"{module} imports stvs_tui.county.app"
    assert checked > 5


@pytest.mark.parametrize(("below", "above"), [
    ("stvs_tui.widgets", "stvs_tui.county"), ("stvs_tui.widgets", "stvs_tui.city"),
    ("stvs_tui.excel", "stvs_tui.county"), ("stvs_tui.excel", "stvs_tui.city"),
    ("stvs_tui.city", "stvs_tui.county"), ("stvs_tui.county", "stvs_tui.city"),
])
def test_lower_packages_do_not_import_higher_ones(below: str, above: str) -> None:
    for module, targets in import_graph().items():
        if _in(module, below):
            assert not {t for t in targets if _in(t, above)}, f"{module} imports {above}"


def test_the_county_app_is_what_its_screens_take_it_for(store) -> None:  # noqa: ANN001
    from stvs_tui.county.app import CountyApp
    from stvs_tui.county.screens.base import CountyHost

    app = CountyApp(store)
    members = set(CountyHost.__annotations__) | {
        name for name, value in vars(CountyHost).items() if not name.startswith("_") and callable(value)
    } | {"clerk"}
    assert len(members) > 10
    assert [name for name in sorted(members) if not hasattr(app, name)] == []


# The county TUI's first screen shows before SQLAlchemy, SQLModel and the models are imported (issue 12, "Start
# fast"): the start path, the app and the dashboard import none of them; the store opens after the first paint.
FIRST_SCREEN_PROBE = """
import json, sys
import stvs_tui.county.start, stvs_tui.county.app
from stvs_tui.county.app import AREAS, _register_builtin_areas
_register_builtin_areas()
AREAS["dashboard"].screen_class()  # the first screen's module
{more}
print(json.dumps(sorted(sys.modules)))
"""
NOT_BEFORE_THE_FIRST_SCREEN = ("sqlalchemy", "sqlmodel", "alembic", "pydantic", "schema.models", "schema.store",
                               "schema.rules", "stvs_tui.queries", "sync.status")


def modules_imported(more: str = "") -> set[str]:
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FIRST_SCREEN_PROBE.format(more=more)], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    return set(json.loads(done.stdout.splitlines()[-1]))


def too_early(modules: set[str]) -> list[str]:
    return sorted(name for name in NOT_BEFORE_THE_FIRST_SCREEN
                  if name in modules or any(m.startswith(name + ".") for m in modules))


def test_the_county_app_and_its_first_screen_import_no_sqlalchemy_or_models() -> None:
    modules = modules_imported()
    assert {"textual.app", "stvs_tui.county.screens.dashboard", "stvs_tui.dashboard_figures"} <= modules
    assert too_early(modules) == []


def test_the_first_screen_probe_sees_sqlalchemy_when_a_list_is_imported() -> None:
    """The check above would notice: the volunteers list does import SQLAlchemy and the models."""
    modules = modules_imported('AREAS["volunteers"].screen_class()')
    assert {"sqlalchemy", "sqlmodel", "schema.models", "stvs_tui.queries"} <= set(too_early(modules))
