"""Wrong data that used to be accepted silently: numeric ID cells, hidden rows and columns, full-width and
invisible characters, merged cells with --valid-only, masked exports. Files come from xlsxwriter or are
built by hand (``xlsx_parts``), as county offices' files are not written by openpyxl."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import xlsxwriter
from click.testing import CliRunner
from excel_helpers import change_count, fill_demo, resident_id, volunteer_count
from xlsx_parts import roster_xlsx

from schema.models import Volunteer
from schema.store import Store
from stvs_tui.cli import main
from stvs_tui.excel import apply_import, export_roster, plan_import

HEADER = ["姓名", "证件号码", "手机号码", "工作单位"]
ID_A, ID_B, ID_C = resident_id("19850312", "123"), resident_id("19900101", "246"), resident_id("19781120", "011")
DAMAGED = "410522196701026000"  # passes the check digit: what a number-stored ID can turn into


@pytest.fixture
def data_dir(store: Store, store_path: Path) -> Path:
    return store_path.parent


def stored(store: Store, column: str) -> dict[str, str]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(Volunteer.name, getattr(Volunteer, column))).all()
    return dict(rows)


def xlsxwriter_book(path: Path, rows: list[list[object]], setup=None) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("名册")
    for number, values in enumerate(rows):
        sheet.write_row(number, 0, values)
    if setup is not None:
        setup(workbook, sheet)
    workbook.close()
    return path


def test_a_numeric_id_cell_is_refused_naming_the_row_and_person_even_when_its_digits_pass(
        store: Store, tmp_path: Path) -> None:
    path = roster_xlsx(tmp_path / "v.xlsx", [HEADER, ["张三", int(DAMAGED), "13800001234", "县医院"],
                                             ["李四", float(ID_B[:17] + "0"), "13800001235", "县医院"],
                                             ["王五", ID_C, "13800001236", "县医院"]])
    plan = plan_import(path, store)
    assert [(p.row, p.column) for p in plan.problems] == [(2, "B"), (3, "B")]
    first, second = (p.message for p in plan.problems)
    assert "张三" in first and "李四" in second and "stored as a number, last digits lost" in first
    assert "e+17" not in first and [r.row for r in plan.rows] == [4]
    apply_import(store, plan, valid_only=True)
    assert set(stored(store, "id_number").values()) == {ID_C}


def test_the_number_message_names_libreoffice_not_excel_for_a_libreoffice_file(store: Store, tmp_path: Path) -> None:
    path = roster_xlsx(tmp_path / "v.xlsx", [HEADER, ["张三", int(DAMAGED), "13800001234", "县医院"]],
                       application="LibreOffice/7.5.4.2$Linux_X86_64 LibreOffice_project/")
    message = plan_import(path, store).problems[0].message
    assert "LibreOffice" in message and "Excel" not in message


def test_hidden_rows_are_reported_and_left_out_unless_asked_for(store: Store, tmp_path: Path) -> None:
    rows = [HEADER, ["张三", ID_A, "13800001234", "县医院"], ["李四", ID_B, "13800001235", "已调离"],
            ["王五", ID_C, "13800001236", "县医院"]]
    path = xlsxwriter_book(tmp_path / "v.xlsx", rows,
                           lambda _book, sheet: sheet.set_row(2, None, None, {"hidden": True}))
    plan = plan_import(path, store)
    assert [r.row for r in plan.rows] == [2, 4] and plan.problems == []
    assert any("隐藏的行：第3行" in note.zh and "--include-hidden" in note.zh for note in plan.notes)
    assert [r.row for r in plan_import(path, store, include_hidden=True).rows] == [2, 3, 4]


def test_a_hidden_column_never_wins_over_a_visible_one(store: Store, tmp_path: Path) -> None:
    rows = [["姓名", "证件号码", "手机号码", "联系电话"], ["张三", ID_A, "13900000001", "13800001234"]]
    path = xlsxwriter_book(tmp_path / "v.xlsx", rows,
                           lambda _book, sheet: sheet.set_column(2, 2, None, None, {"hidden": True}))
    plan = plan_import(path, store)
    assert plan.rows[0].values["mobile"] == "13800001234"
    assert any("隐藏的列C（手机号码）未读取" in note.zh for note in plan.notes)


def test_full_width_digits_and_invisible_characters_are_normalised_before_checking(store: Store,
                                                                                 tmp_path: Path) -> None:
    rows = [HEADER + ["登记日期"],
            ["张三", ID_A.replace("1", "１"), "１３８００００１２３４", "县医院", "２０２１－０３－０５"],
            ["李四\u200b", "\u200b" + ID_B, "138\u00a00000\u00a01235", "县\u200b医院", "2021-03-05\u00a0"]]
    path = xlsxwriter_book(tmp_path / "v.xlsx", rows)
    plan = plan_import(path, store)
    assert plan.problems == []
    first, second = (r.values for r in plan.rows)
    assert (first["id_number"], first["mobile"]) == (ID_A, "13800001234")
    assert (second["name"], second["id_number"], second["mobile"], second["work_unit"]) == (
        "李四", ID_B, "13800001235", "县医院")
    assert str(first["joined_on"]) == "2021-03-05" == str(second["joined_on"])


def test_a_unit_merged_down_is_stored_on_every_row_with_valid_only(store: Store, tmp_path: Path) -> None:
    def merge(book, sheet) -> None:
        sheet.merge_range(1, 3, 3, 3, "县医院")  # D2:D4 merged, as offices group people by unit

    rows = [HEADER, ["张三", ID_A, "13800001234"], ["李四", ID_B, "13800001235"], ["王五", ID_C, "bad"]]
    path = xlsxwriter_book(tmp_path / "v.xlsx", rows, merge)
    plan = plan_import(path, store)
    assert [(p.row, p.column) for p in plan.problems] == [(4, "C")]
    apply_import(store, plan, valid_only=True)
    assert stored(store, "work_unit") == {"张三": "县医院", "李四": "县医院"}


def test_a_masked_export_reimported_is_named_once(store: Store, tmp_path: Path) -> None:
    fill_demo(store, 60)
    path = tmp_path / "roster.xlsx"
    export_roster(store, path)  # masked: 410522********1234
    plan = plan_import(path, store)
    assert len(plan.problems) == 1 and plan.rows == []
    assert "脱敏" in plan.problems[0].message and "--unmasked" in plan.problems[0].message
    assert len(plan.bad_rows) == 60


def test_cli_refusals_leave_the_store_unchanged(store: Store, data_dir: Path, tmp_path: Path) -> None:
    fill_demo(store, 10)
    before = (volunteer_count(store), change_count(store))
    path = roster_xlsx(tmp_path / "v.xlsx", [HEADER, ["张三", int(DAMAGED), "13800001234", "县医院"]])
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "import", "volunteers", str(path)])
    assert result.exit_code == 1 and "张三" in result.output and "Traceback" not in result.output
    assert "(1 problem: nothing imported" in result.output  # one problem is not "1 problems"
    assert (volunteer_count(store), change_count(store)) == before


def test_cli_lists_hidden_rows_and_imports_them_only_with_include_hidden(store: Store, data_dir: Path,
                                                                         tmp_path: Path) -> None:
    rows = [HEADER, ["张三", ID_A, "13800001234", "县医院"], ["李四", ID_B, "13800001235", "已调离"]]
    path = xlsxwriter_book(tmp_path / "v.xlsx", rows,
                           lambda _book, sheet: sheet.set_row(2, None, None, {"hidden": True}))
    runner = CliRunner()
    first = runner.invoke(main, ["--data-dir", str(data_dir), "import", "volunteers", str(path)])
    assert first.exit_code == 0 and "隐藏的行：第3行" in first.stderr and "新增1" in first.stdout
    second = runner.invoke(main, ["--data-dir", str(data_dir), "import", "volunteers", str(path), "--include-hidden"])
    assert second.exit_code == 0 and "新增1" in second.stdout and volunteer_count(store) == 2
