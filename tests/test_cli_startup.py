"""``stvs-tui --help`` starts fast: the command line imports a command's libraries only when it runs (issue 12).

bench/startup.py measures the time; these tests keep what made it fast.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stvs_tui.cli import LAZY_COMMANDS, load_command, main

HEAVY = ("sqlmodel", "sqlalchemy", "alembic", "openpyxl", "python_calamine", "httpx", "textual", "fastapi",
         "uvicorn", "cryptography")

PROBE = """
import json, sys
import stvs_tui.cli
after_import = sorted(sys.modules)
try:
    stvs_tui.cli.main(["--help"], prog_name="stvs-tui")
except SystemExit:
    pass
print(json.dumps({"import": after_import, "help": sorted(sys.modules)}))
"""


def heavy_modules(names: list[str]) -> list[str]:
    return sorted({name.split(".")[0] for name in names} & set(HEAVY))


def test_importing_the_command_line_and_its_help_import_no_heavy_library() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout.splitlines()[-1])
    assert heavy_modules(modules["import"]) == []
    assert heavy_modules(modules["help"]) == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check above would notice: a command module does import them."""
    probe = "import json, sys; import stvs_tui.cli.sync; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "sqlalchemy" in heavy_modules(json.loads(done.stdout))


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_a_lazy_command_is_listed_with_its_own_first_sentence(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    listed = click.Command(name, help=LAZY_COMMANDS[name][1])
    for limit in (30, 45, 60, 74, 100, 200):
        assert listed.get_short_help_str(limit) == command.get_short_help_str(limit), limit


def test_every_command_of_the_command_modules_is_reachable_from_the_group() -> None:
    """A command added to stvs_tui/cli/<family>.py needs its line in LAZY_COMMANDS, else it is never shown."""
    targets = {target for target, _ in LAZY_COMMANDS.values()}
    for path in sorted((Path(__file__).resolve().parent.parent / "stvs_tui" / "cli").glob("*.py")):
        if path.stem in ("__init__", "params"):
            continue
        module = importlib.import_module(f"stvs_tui.cli.{path.stem}")
        commands = {name: value for name, value in vars(module).items() if isinstance(value, click.Command)}
        inside = {id(sub) for value in commands.values() if isinstance(value, click.Group)
                  for sub in value.commands.values()}
        top = {f"{module.__name__}:{name}" for name, value in commands.items() if id(value) not in inside}
        assert top <= targets, f"not in LAZY_COMMANDS: {sorted(top - targets)}"


def test_the_help_lists_every_command_and_a_lazy_one_runs() -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["--help"])
    assert listing.exit_code == 0
    for name in (*LAZY_COMMANDS, "init", "demo", "where"):
        assert f"\n  {name} " in listing.output
    usage = runner.invoke(main, ["token", "--help"])
    assert usage.exit_code == 0 and "add" in usage.output


TUI_PROBE = """
import json, sys
from stvs_tui.county.app import AREAS, CountyApp, _register_builtin_areas
_register_builtin_areas()
AREAS["dashboard"].screen_class()  # the first screen's module
print(json.dumps(sorted(sys.modules)))
"""


def test_the_county_tui_starts_without_excel_or_the_sync_client() -> None:
    """Its first screen is the dashboard: openpyxl, calamine and httpx come with the areas that use them."""
    done = subprocess.run([sys.executable, "-c", TUI_PROBE], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}
    assert sorted(loaded & {"openpyxl", "python_calamine", "httpx"}) == []
    assert "textual" in loaded  # the probe imported what a first screen needs (without SQLAlchemy: test_layering)


def test_the_county_first_screen_imports_no_sync_engine() -> None:
    """The dashboard's sync line is read with sqlite3 first (``stvs_tui.dashboard_figures``), by ``sync.status`` on
    a refresh; the engine (push, partitions, server models of the sync protocol) is imported when the clerk syncs,
    not as the TUI starts."""
    probe = ("import json, sys; import stvs_tui.county.app, stvs_tui.county.screens.dashboard; "
             "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout))
    assert "stvs_tui.dashboard_figures" in modules
    assert not modules & {"sync.replica", "sync.push", "sync.partition", "sync.engine", "sync.client"}
