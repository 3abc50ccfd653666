"""`stvs-tui import volunteers` and `stvs-tui export KIND`: exit codes, messages, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from excel_helpers import HEADERS, change_count, fill_demo, resident_id, volunteer_count, write_book

from schema.store import Store
from stvs_tui.cli import main


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def data_dir(store: Store, store_path: Path) -> Path:
    return store_path.parent


def test_import_with_problems_lists_each_one_and_exits_1_writing_nothing(store: Store, data_dir: Path,
                                                                         tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", resident_id(), "13800001234", "", ""],
                                            ["李四", "410522", "12345", "", ""]])
    before = change_count(store)
    code, out, err = run(data_dir, "import", "volunteers", str(path))
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith("第3行 B列（证件号码）：") and lines[1].startswith("第3行 C列（手机号码）：")
    assert "未导入任何数据" in lines[-1] and "有效1行" in out
    assert volunteer_count(store) == 0 and change_count(store) == before


def test_import_problems_in_english(store: Store, data_dir: Path, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [["Name", "ID number", "Mobile"], ["Li Na", "1", "13800001234"]])
    code, _, err = run(data_dir, "--lang", "en", "import", "volunteers", str(path))
    assert code == 1 and err.startswith("row 2, column B (ID number): ")


def test_dry_run_writes_nothing_and_valid_only_imports_the_good_rows(store: Store, data_dir: Path,
                                                                      tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", resident_id(), "13800001234", "", ""],
                                            ["李四", "410522", "13800001235", "", ""]])
    code, out, _ = run(data_dir, "import", "volunteers", str(path), "--dry-run", "--valid-only")
    assert code == 0 and "dry run" in out and volunteer_count(store) == 0
    code, out, err = run(data_dir, "import", "volunteers", str(path), "--valid-only")
    assert code == 0 and "新增1" in out and "第3行" in err
    assert volunteer_count(store) == 1
    code, out, _ = run(data_dir, "import", "volunteers", str(path), "--valid-only", "--on-duplicate", "update")
    assert code == 0 and "更新1" in out and volunteer_count(store) == 1


def test_a_bad_file_exits_1_with_one_line(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    path.write_text("not a workbook")
    code, _, err = run(data_dir, "import", "volunteers", str(path))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "不是Excel工作簿" in err


def test_import_needs_an_existing_file(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = run(data_dir, "import", "volunteers", str(tmp_path / "missing.xlsx"))
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("kind, extra", [
    ("teams", []), ("monthly", ["--month", "2026-05"]), ("roster", []), ("roster", ["--unmasked"]),
    ("activities", ["--month", "2026"]), ("hours", ["--month", "2026-05"]), ("template", []),
])
def test_every_export_kind_writes_its_file(store: Store, data_dir: Path, tmp_path: Path, kind: str,
                                           extra: list[str]) -> None:
    fill_demo(store, 40)
    output = tmp_path / f"{kind}.xlsx"
    code, out, err = run(data_dir, "export", kind, "-o", str(output), *extra)
    assert (code, err) == (0, "") and output.exists() and str(output) in out


def test_certificate_export_by_id_number(store: Store, data_dir: Path, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", resident_id(), "13800001234", "", ""]])
    run(data_dir, "import", "volunteers", str(path))
    code, out, _ = run(data_dir, "export", "certificate", "--volunteer", resident_id(), "-o", str(tmp_path / "c.xlsx"))
    assert code == 0 and "0小时" in out


@pytest.mark.parametrize("args", [
    ["export", "certificate", "-o", "c.xlsx"],
    ["export", "teams", "-o", "teams.csv"],
    ["export", "teams", "-o", "t.xlsx", "--unmasked"],
    ["export", "roster", "-o", "r.xlsx", "--month", "2026-01"],
    ["export", "forms", "-o", "f.xlsx"],
])
def test_export_usage_errors_exit_2(data_dir: Path, args: list[str]) -> None:
    code, _, _ = run(data_dir, *args)
    assert code == 2


def test_export_with_a_bad_period_exits_2_and_an_unknown_volunteer_exits_1(store: Store, data_dir: Path,
                                                                             tmp_path: Path) -> None:
    code, _, err = run(data_dir, "export", "monthly", "--month", "2026-13", "-o", str(tmp_path / "m.xlsx"))
    assert code == 2 and "YYYY-MM" in err
    code, _, err = run(data_dir, "export", "certificate", "--volunteer", "x", "-o", str(tmp_path / "c.xlsx"))
    assert code == 1 and "找不到志愿者" in err
    assert list(tmp_path.glob("*.xlsx")) == []


def test_help_of_each_command_has_an_example(data_dir: Path) -> None:
    for args in (["import", "--help"], ["import", "volunteers", "--help"], ["export", "--help"]):
        code, out, _ = run(data_dir, *args)
        assert code == 0 and "Example" in out
