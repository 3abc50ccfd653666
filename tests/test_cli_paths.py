"""Every path a user gives gets one line naming the path and what is wrong with it (not found, not a folder,
not writable, read-only, damaged): no traceback, no wrong reason, nothing half written."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stvs_tui.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_one_line_failure(result: Result, *words: str) -> None:
    """Exit 1 through click (not an exception escaping), one line on stderr holding every word."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def _immutable(path: Path, on: bool) -> bool:
    """chattr +i / -i: what makes a file read-only even for root (our CI runs as root)."""
    if not shutil.which("chattr"):
        return False
    return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0


@pytest.fixture
def make_read_only() -> Iterator:
    """Make a file or folder read-only for this user: mode 0444/0555, and immutable when running as root
    (root ignores modes). Undone afterwards so pytest can clean up."""
    made: list[Path] = []

    def read_only(path: Path) -> None:
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
        made.append(path)
        if os.geteuid() == 0 and not _immutable(path, True):
            pytest.skip("running as root without chattr +i: cannot make a path read-only for this user")

    yield read_only
    for path in made:
        if os.geteuid() == 0:
            _immutable(path, False)
        os.chmod(path, 0o700 if path.is_dir() else 0o600)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux) for a folder that cannot be made")
def test_a_data_dir_that_cannot_be_made_names_it() -> None:
    result = invoke("--data-dir", "/proc/nope", "init", "--county", "410522")
    assert_one_line_failure(result, "/proc/nope", "not found")


def test_a_data_dir_under_a_missing_parent_is_made(tmp_path: Path) -> None:
    assert invoke("--data-dir", str(tmp_path / "a" / "b"), "init", "--county", "410522").exit_code == 0
    assert (tmp_path / "a" / "b" / "stvs.sqlite").is_file()


def test_a_read_only_store_is_called_read_only_not_damaged(tmp_path: Path, make_read_only) -> None:
    assert invoke("--data-dir", str(tmp_path), "init", "--county", "410522").exit_code == 0
    store = tmp_path / "stvs.sqlite"
    before = store.read_bytes()
    make_read_only(store)
    result = invoke("--data-dir", str(tmp_path), "demo")
    assert_one_line_failure(result, str(store), "read-only")
    assert "damaged" not in result.stderr
    assert store.read_bytes() == before


def test_a_read_only_data_folder_is_called_not_writable(tmp_path: Path, make_read_only) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    make_read_only(folder)
    result = invoke("--data-dir", str(folder), "init", "--county", "410522")
    assert_one_line_failure(result, str(folder), "not writable")
    assert not (folder / "stvs.sqlite").exists()


def test_a_damaged_store_is_called_damaged(tmp_path: Path) -> None:
    assert invoke("--data-dir", str(tmp_path), "init", "--county", "410522").exit_code == 0
    store = tmp_path / "stvs.sqlite"
    data = bytearray(store.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    store.write_bytes(bytes(data))
    assert_one_line_failure(invoke("--data-dir", str(tmp_path), "demo"), str(store), "damaged")


def test_a_folder_in_place_of_the_store_is_named(tmp_path: Path) -> None:
    (tmp_path / "stvs.sqlite").mkdir()
    result = invoke("--data-dir", str(tmp_path), "init", "--county", "410522")
    assert_one_line_failure(result, str(tmp_path / "stvs.sqlite"), "a folder, not a file")


def test_the_tui_on_an_unusable_store_exits_with_the_reason(tmp_path: Path, make_read_only) -> None:
    """``stvs-tui`` without a command opens the store before the app starts: the same one line."""
    folder = tmp_path / "data"
    folder.mkdir()
    make_read_only(folder)
    assert_one_line_failure(invoke("--data-dir", str(folder)), str(folder), "not writable")


def test_the_tui_on_a_read_only_or_damaged_store_exits_with_the_reason(tmp_path: Path, make_read_only) -> None:
    """The TUI checks a ready store with sqlite3 before SQLAlchemy is imported (schema.storefile.plain_open):
    the same one line as the commands give, and nothing written."""
    damaged, read_only = tmp_path / "damaged", tmp_path / "read-only"
    for folder in (damaged, read_only):
        assert invoke("--data-dir", str(folder), "init", "--county", "410522").exit_code == 0
    store = damaged / "stvs.sqlite"
    data = bytearray(store.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    store.write_bytes(bytes(data))
    assert_one_line_failure(invoke("--data-dir", str(damaged)), str(store), "damaged")
    store = read_only / "stvs.sqlite"
    before = store.read_bytes()
    make_read_only(store)
    result = invoke("--data-dir", str(read_only))
    assert_one_line_failure(result, str(store), "read-only")
    assert store.read_bytes() == before


@pytest.fixture
def county(tmp_path: Path) -> Path:
    folder = tmp_path / "county"
    assert invoke("--data-dir", str(folder), "init", "--county", "410522").exit_code == 0
    assert invoke("--data-dir", str(folder), "demo", "--volunteers", "12").exit_code == 0
    return folder


def test_an_export_into_a_missing_or_read_only_folder_names_it(county: Path, tmp_path: Path, make_read_only) -> None:
    result = invoke("--data-dir", str(county), "export", "roster", "-o", str(tmp_path / "nope" / "名册.xlsx"))
    assert_one_line_failure(result, str(tmp_path / "nope"), "not found")
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    make_read_only(shelf)
    for kind in ("roster", "teams"):
        result = invoke("--data-dir", str(county), "export", kind, "-o", str(shelf / "x.xlsx"))
        assert_one_line_failure(result, str(shelf), "not writable")
    assert list(shelf.iterdir()) == []


def test_a_read_only_export_file_is_not_replaced(county: Path, tmp_path: Path, make_read_only) -> None:
    target = tmp_path / "附件2.xlsx"
    target.write_bytes(b"kept")
    make_read_only(target)
    result = invoke("--data-dir", str(county), "export", "teams", "-o", str(target))
    assert_one_line_failure(result, str(target), "read-only")
    assert target.read_bytes() == b"kept"


def test_bundle_paths_name_what_is_wrong(county: Path, tmp_path: Path, make_read_only) -> None:
    result = invoke("--data-dir", str(county), "bundle", "export", str(tmp_path / "usb" / "a.stvsb"))
    assert_one_line_failure(result, str(tmp_path / "usb"), "not found")
    result = invoke("--data-dir", str(county), "bundle", "import", str(tmp_path / "missing.stvsb"))
    assert_one_line_failure(result, str(tmp_path / "missing.stvsb"), "not found")
    usb = tmp_path / "usb"
    usb.mkdir()
    assert invoke("--data-dir", str(county), "bundle", "export", str(usb / "a.stvsb")).exit_code == 0
    make_read_only(usb)
    result = invoke("--data-dir", str(tmp_path / "city"), "bundle", "import", str(usb / "a.stvsb"))
    assert_one_line_failure(result, str(usb), "not writable", "return bundle")
    assert not (tmp_path / "city" / "city-server.sqlite").exists() or _server_changes(tmp_path / "city") == 0


def _server_changes(city: Path) -> int:
    import sqlite3

    with sqlite3.connect(city / "city-server.sqlite") as connection:
        return connection.execute("SELECT COUNT(*) FROM server_change").fetchone()[0]


def test_an_import_file_that_is_not_there_is_a_usage_error_naming_it(county: Path, tmp_path: Path) -> None:
    result = invoke("--data-dir", str(county), "import", "volunteers", str(tmp_path / "名册.xlsx"))
    assert result.exit_code == 2 and "名册.xlsx" in result.stderr and "does not exist" in result.stderr


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux) for a folder that cannot be made")
def test_the_servers_database_paths_name_what_is_wrong(tmp_path: Path, make_read_only) -> None:
    """serve and token add open the city's database: its folder is checked like the county store's."""
    result = invoke("token", "add", "--county", "410522", "--database-url", "sqlite:////proc/nope/city.sqlite")
    assert_one_line_failure(result, "/proc/nope", "not found")
    assert_one_line_failure(invoke("--data-dir", "/proc/nope", "serve", "--port", "1"), "/proc/nope", "not found")
    city = tmp_path / "city"
    city.mkdir()
    make_read_only(city)
    result = invoke("--data-dir", str(city), "token", "add", "--county", "410522")
    assert_one_line_failure(result, str(city), "not writable")
    (tmp_path / "junk.sqlite").write_text("not a database")
    result = invoke("token", "add", "--county", "410522", "--database-url", f"sqlite:///{tmp_path / 'junk.sqlite'}")
    assert_one_line_failure(result, "junk.sqlite", "damaged")
