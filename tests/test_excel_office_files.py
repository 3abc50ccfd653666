"""Ordinary office rosters that used to be refused: header notes and variants, a total or sign-off under the
table, a used range reaching the last row, a summary sheet first, 出生年月 as year and month."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest
import xlsxwriter
from excel_helpers import resident_id
from xlsx_parts import build_xlsx, roster_xlsx, sheet_xml

from schema.store import Store
from stvs_tui.excel import UnrecognisedSheet, plan_import

ID_A, ID_B = resident_id("19850312", "123"), resident_id("19900101", "246")


def people(count: int, first: int = 0) -> list[list[object]]:
    return [[f"志愿者{n}", resident_id("19850312", f"{n:03d}"), f"138{n:08d}", "县医院"]
            for n in range(first, first + count)]


@pytest.mark.parametrize("headers", [
    ["姓名（必填）", "身份证号码（18位）", "手机号码", "工作单位"],
    ["姓　名", "公民身份证号码", "联系方式", "单位"],
    ["姓 名*", "公民身份号码(必填)", "手机号(11位)", "工作单位【全称】"],
])
def test_headers_with_notes_variants_and_ideographic_spaces_import(store: Store, tmp_path: Path,
                                                                    headers: list[str]) -> None:
    path = roster_xlsx(tmp_path / "v.xlsx", [headers, ["张三", ID_A, "13800001234", "县医院"]])
    plan = plan_import(path, store)
    assert plan.problems == [] and plan.rows[0].values["mobile"] == "13800001234"
    assert plan.rows[0].values["work_unit"] == "县医院"


def test_a_total_row_and_a_sign_off_under_the_table_are_skipped_and_listed(store: Store, tmp_path: Path) -> None:
    rows = [["序号", "姓名", "证件号码", "手机号码", "工作单位"],
            *([n + 1, *person] for n, person in enumerate(people(3))),
            ["合计", "3人", None, None, None],
            [None, None, None, None, None],
            ["填表人：王芳", None, "联系电话：0372-5551234", None, "填表日期：2026年6月1日"]]
    path = xlsxwriter_roster(tmp_path / "v.xlsx", rows)
    plan = plan_import(path, store)
    assert plan.problems == [] and len(plan.rows) == 3
    assert [n.zh[:3] for n in plan.notes if "表尾" in n.zh] == ["第5行", "第7行"]


def xlsxwriter_roster(path: Path, rows: list[list[object]], sheets: tuple[str, ...] = ("名册",)) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    for name in sheets[:-1]:
        summary = workbook.add_worksheet(name)
        summary.write_row(0, 0, ["单位", "联系人", "联系电话", "人数"])
        summary.write_row(1, 0, ["县科协", "王芳", "13800009999", 40])
    sheet = workbook.add_worksheet(sheets[-1])
    for number, values in enumerate(rows):
        sheet.write_row(number, 0, values)
    workbook.close()
    return path


def test_a_summary_sheet_before_the_roster_is_passed_over(store: Store, tmp_path: Path) -> None:
    path = xlsxwriter_roster(tmp_path / "v.xlsx", [["姓名", "证件号码", "手机号码"], *people(2)],
                             sheets=("汇总", "名册"))
    plan = plan_import(path, store)
    assert plan.sheet == "名册" and len(plan.rows) == 2


def test_sheet_option_still_reads_only_the_named_sheet(store: Store, tmp_path: Path) -> None:
    path = xlsxwriter_roster(tmp_path / "v.xlsx", [["姓名", "证件号码", "手机号码"], *people(2)],
                             sheets=("汇总", "名册"))
    with pytest.raises(UnrecognisedSheet, match="汇总.*缺少必填列"):
        plan_import(path, store, sheet="汇总")
    assert plan_import(path, store, sheet="名册").sheet == "名册"


def test_a_used_range_reaching_the_last_row_with_40_rows_of_data_imports(store: Store, tmp_path: Path) -> None:
    styled_bottom = '<row r="1048576" s="1" customFormat="1"><c r="A1048576" s="1"/><c r="D1048576" s="1"/></row>'
    xml = sheet_xml([["姓名", "证件号码", "手机号码", "工作单位"], *people(40)], dimension="A1:D1048576",
                    tail_rows=styled_bottom)
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", xml)])
    plan = plan_import(path, store)
    assert plan.problems == [] and len(plan.rows) == 40


def test_a_stray_value_at_the_last_row_is_read_without_a_huge_grid(store: Store, tmp_path: Path) -> None:
    """One value at XFD1048576 would make calamine allocate 17 billion cells: such a sheet is streamed."""
    stray = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t> </t></is></c></row>'
    xml = sheet_xml([["姓名", "证件号码", "手机号码", "工作单位"], *people(40)], tail_rows=stray)
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", xml)])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    plan = plan_import(path, store)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert plan.problems == [] and len(plan.rows) == 40 and grown_mb < 200


@pytest.mark.parametrize("stated", ["1985.03", "1985-3", "1985年3月", "198503", 1985.03])
def test_birth_year_and_month_agreeing_with_the_id_number_import(store: Store, tmp_path: Path,
                                                                  stated: object) -> None:
    path = roster_xlsx(tmp_path / "v.xlsx", [["姓名", "出生年月", "证件号码", "手机号码"],
                                             ["张三", stated, ID_A, "13800001234"]])
    plan = plan_import(path, store)
    assert plan.problems == [] and str(plan.rows[0].values["birth_date"]) == "1985-03-12"


def test_a_birth_month_date_cell_is_compared_by_year_and_month(store: Store, tmp_path: Path) -> None:
    from datetime import date

    workbook = xlsxwriter.Workbook(str(tmp_path / "v.xlsx"))
    sheet = workbook.add_worksheet("名册")
    sheet.write_row(0, 0, ["姓名", "出生年月", "证件号码", "手机号码"])
    month = workbook.add_format({"num_format": "yyyy.mm"})
    sheet.write_row(1, 0, ["张三", None, ID_A, "13800001234"])
    sheet.write_datetime(1, 1, date(1985, 3, 1), month)
    sheet.write_row(2, 0, ["李四", None, ID_B, "13800001235"])
    sheet.write_datetime(2, 1, date(1990, 2, 1), month)  # the ID says January 1990
    workbook.close()
    plan = plan_import(tmp_path / "v.xlsx", store)
    assert [(p.row, p.column) for p in plan.problems] == [(3, "B")]
    assert "1990-01" in plan.problems[0].message and [r.row for r in plan.rows] == [2]


def test_formatted_empty_rows_far_below_a_short_table_are_not_counted_as_data(store: Store, tmp_path: Path) -> None:
    bordered = "".join(f'<row r="{n}" s="1" customFormat="1"><c r="A{n}" s="1"/><c r="D{n}" s="1"/></row>'
                       for n in range(42, 150_000))
    xml = sheet_xml([["姓名", "证件号码", "手机号码", "工作单位"], *people(40)], tail_rows=bordered)
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", xml)])
    plan = plan_import(path, store)
    assert plan.problems == [] and len(plan.rows) == 40
