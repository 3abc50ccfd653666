"""Roster import: header finding, per-row problems, duplicates, all-or-nothing, and the round trip."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from excel_helpers import HEADERS, change_count, fill_demo, resident_id, volunteer_count, write_book

from schema.models import Volunteer
from schema.regions import install_regions, read_regions
from schema.store import Store, open_store
from stvs_tui.excel import ImportRefused, apply_import, export_roster, plan_import
from stvs_tui.excel.columns import ROSTER_FIELDS

ID_A, ID_B, ID_C = resident_id("19850312", "123"), resident_id("19900101", "246"), resident_id("19781120", "011")


@pytest.fixture
def empty_store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "other" / "stvs.sqlite")
    with opened.session() as session:
        install_regions(session, read_regions())
    opened.set_settings(county_code="410522")
    yield opened
    opened.close()


def volunteers(store: Store) -> dict[str, tuple]:
    columns = [getattr(Volunteer, f) for f in ROSTER_FIELDS]
    with store.session() as session:
        rows = session.execute(sa.select(*columns)).all()
    return {row[ROSTER_FIELDS.index("id_number")]: tuple(row) for row in rows}


def test_round_trip_of_an_unmasked_roster_gives_the_same_volunteers(store: Store, empty_store: Store,
                                                                     tmp_path: Path) -> None:
    fill_demo(store, 150)
    path = tmp_path / "roster.xlsx"
    assert export_roster(store, path, unmasked=True) == 150
    plan = plan_import(path, empty_store)
    assert plan.problems == [] and plan.header_row == 3 and plan.count("insert") == 150
    result = apply_import(empty_store, plan)
    assert (result.inserted, result.updated, result.skipped, result.rejected) == (150, 0, 0, 0)
    assert volunteers(empty_store) == volunteers(store)


def test_english_roster_headers_import_too(store: Store, empty_store: Store, tmp_path: Path) -> None:
    fill_demo(store, 20)
    path = tmp_path / "roster-en.xlsx"
    export_roster(store, path, unmasked=True, lang="en")
    apply_import(empty_store, plan_import(path, empty_store))
    assert volunteers(empty_store) == volunteers(store)


def test_header_below_title_lines_with_usual_variants_is_found(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [
        ["序号", "名字*", "身份证号码", "手机号（必填）", "单位", "类别", "微信"],
        [1, "欧阳·娜", ID_A, "+86 138-0000-1234", "安阳县人民医院", "科技专家、医院院长", "wx1"],
        [2, "李强", ID_B, 13912345678, "", "", ""],
    ], above=[["安阳县科技志愿者名册"], ["填报单位：安阳县科协"]])
    plan = plan_import(path, store)
    assert plan.problems == [] and plan.header_row == 3
    assert plan.ignored_headers == ["微信"]
    first, second = (r.values for r in plan.rows)
    assert first["name"] == "欧阳·娜" and first["mobile"] == "13800001234"
    assert first["talent_tags"] == "expert,hospital_director" and first["sex"] == "male"
    assert second["mobile"] == "13912345678" and second["birth_date"] == date(1990, 1, 1)


def test_every_problem_is_reported_with_row_column_and_reason_and_nothing_is_written(store: Store,
                                                                                      tmp_path: Path) -> None:
    bad_check = ID_B[:-1] + ("1" if ID_B[-1] != "1" else "2")
    path = write_book(tmp_path / "v.xlsx", [
        [*HEADERS, "登记日期"],
        ["张三", ID_A, "13800001234", "", "", "2021-03-05"],
        ["李四", bad_check, "0372-2555663", "", "院士", "明年"],
        ["", ID_C, "13800001235", "", "", ""],
    ])
    before = change_count(store)
    plan = plan_import(path, store)
    where = {(p.row, p.column) for p in plan.problems}
    assert where == {(3, "B"), (3, "C"), (3, "E"), (3, "F"), (4, "A")}
    text = "\n".join(p.describe() for p in plan.problems)
    assert "第3行 B列（证件号码）：校验码错误" in text and "座机" in text and "院士" in text
    assert "第4行 A列（姓名）：不能为空" in text
    assert [r.row for r in plan.rows] == [2]
    with pytest.raises(ImportRefused):
        apply_import(store, plan)
    assert volunteer_count(store) == 0 and change_count(store) == before


def test_valid_only_imports_the_good_rows_and_counts_the_rest(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A, "13800001234", "", ""],
                                            ["李四", "123", "13800001235", "", ""]])
    result = apply_import(store, plan_import(path, store), valid_only=True)
    assert (result.inserted, result.rejected) == (1, 1)
    assert volunteer_count(store) == 1


def test_imported_rows_belong_to_the_county_and_are_queued_for_sync(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A, "13800001234", "县医院", "科技专家"]])
    apply_import(store, plan_import(path, store))
    with store.session() as session:
        person = session.execute(sa.select(Volunteer)).scalar_one()
    assert person.county_code == "410522" and person.version == 0 and person.work_unit == "县医院"
    assert change_count(store) == 1


def existing(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "first.xlsx", [HEADERS, ["张三", ID_A, "13800001234", "县医院", ""],
                                                ["李四", ID_B, "13800001235", "县一中", ""]])
    apply_import(store, plan_import(path, store))


def test_a_volunteer_with_the_same_id_number_is_skipped_by_default(store: Store, tmp_path: Path) -> None:
    existing(store, tmp_path)
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A.lower(), "13900000000", "县人民医院", ""]])
    plan = plan_import(path, store)
    assert plan.rows[0].action == "skip" and plan.rows[0].matched_by == "id_number"
    result = apply_import(store, plan)
    assert (result.inserted, result.updated, result.skipped) == (0, 0, 1)
    assert volunteers(store)[ID_A][ROSTER_FIELDS.index("work_unit")] == "县医院"


def test_on_duplicate_update_sets_the_filled_fields_only(store: Store, tmp_path: Path) -> None:
    existing(store, tmp_path)
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A, "13900000000", "县人民医院", None]])
    result = apply_import(store, plan_import(path, store, on_duplicate="update"))
    assert (result.inserted, result.updated) == (0, 1)
    row = volunteers(store)[ID_A]
    assert row[ROSTER_FIELDS.index("mobile")] == "13900000000"
    assert row[ROSTER_FIELDS.index("work_unit")] == "县人民医院"
    assert volunteer_count(store) == 2


def test_same_name_and_mobile_is_a_duplicate_even_with_another_id_type(store: Store, tmp_path: Path) -> None:
    existing(store, tmp_path)
    path = write_book(tmp_path / "v.xlsx", [["姓名", "证件类型", "证件号码", "手机号码"],
                                            ["李四", "居民身份证", ID_B, "138 0000 1235"],
                                            ["张三", "护照", "E12345678", "13800001234"]])
    plan = plan_import(path, store, on_duplicate="update")
    assert plan.rows[0].action == "update" and plan.rows[0].matched_by == "id_number"
    problem = plan.problems[0]
    assert (problem.row, problem.column) == (3, "C") and "证件号码不同" in problem.message


def test_duplicate_rows_within_the_file_are_reported(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A, "13800001234", "", ""],
                                            ["张三", ID_A, "13800001234", "", ""],
                                            ["张三", ID_B, "13800001234", "", ""]])
    plan = plan_import(path, store)
    assert [(p.row, p.column) for p in plan.problems] == [(3, "B"), (4, "C")]
    assert "与第2行重复" in plan.problems[0].message


def test_sex_or_birth_date_contradicting_the_id_number_is_a_problem(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [["姓名", "性别", "出生日期", "证件号码", "手机号码"],
                                            ["张三", "女", "1985-03-12", ID_A, "13800001234"],
                                            ["李四", "女", "1991-01-01", ID_B, "13800001235"]])
    plan = plan_import(path, store)
    assert [(p.row, p.column) for p in plan.problems] == [(2, "B"), (3, "C")]


def test_dates_as_text_serial_numbers_or_date_cells_are_all_read(store: Store, tmp_path: Path) -> None:
    rows = [["姓名", "证件号码", "手机号码", "登记日期", "平台注册日期"]]
    forms = ["2021-03-05", "2021/3/5", "2021年3月5日", "20210305", 44260, datetime(2021, 3, 5), date(2021, 3, 5)]
    for n, value in enumerate(forms):
        rows.append([f"志愿者{n}", resident_id("19850312", f"{n + 100:03d}"), f"1380000{n:04d}", value, None])
    path = write_book(tmp_path / "v.xlsx", rows)
    plan = plan_import(path, store)
    assert plan.problems == []
    assert {r.values["joined_on"] for r in plan.rows} == {date(2021, 3, 5)}


@pytest.mark.parametrize("value", ["2021-02-30", "明年", "13/13/2021", 9_999_999, "2099-01-01", -5])
def test_nonsense_dates_are_rejected(store: Store, tmp_path: Path, value: object) -> None:
    path = write_book(tmp_path / "v.xlsx", [["姓名", "证件号码", "手机号码", "登记日期"],
                                            ["张三", ID_A, "13800001234", value]])
    problems = plan_import(path, store).problems
    assert [(p.row, p.column) for p in problems] == [(2, "D")]


def test_an_id_number_that_excel_turned_into_a_number_is_explained(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", float(ID_A[:17] + "0"), "13800001234", "", ""]])
    problem = plan_import(path, store).problems[0]
    assert problem.column == "B" and "文本" in problem.message


def test_formulas_are_refused_cell_by_cell(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A, "=\"138\"&\"00001234\"", "", ""],
                                            ["李四", ID_B, "13800001235", "=A2", ""]])
    plan = plan_import(path, store)
    assert [(p.row, p.column) for p in plan.problems] == [(2, "C"), (3, "D")]
    assert all("公式" in p.message for p in plan.problems)


def test_a_unit_merged_down_over_rows_is_filled_into_each_row_and_a_merged_title_is_fine(store: Store,
                                                                                       tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A, "13800001234", "县医院", ""],
                                            ["李四", ID_B, "13800001235", None, ""]], above=[["名册"]])
    workbook = load_workbook(path)
    workbook.active.merge_cells("A1:E1")
    workbook.active.merge_cells("D3:D4")
    workbook.save(path)
    plan = plan_import(path, store)
    assert plan.problems == []
    assert [r.values["work_unit"] for r in plan.rows] == ["县医院", "县医院"]


def test_names_merged_over_rows_are_refused_row_by_row(store: Store, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_book(tmp_path / "v.xlsx", [HEADERS, ["张三", ID_A, "13800001234", "县医院", ""],
                                            [None, ID_B, "13800001235", "县医院", ""]])
    workbook = load_workbook(path)
    workbook.active.merge_cells("A2:A3")
    workbook.save(path)
    plan = plan_import(path, store)
    merged = [(p.row, p.column) for p in plan.problems if "合并单元格A2:A3" in p.message]
    assert merged == [(2, "A"), (3, "A")] and plan.rows == []


def test_other_id_types_keep_the_stated_sex_and_birth_date(store: Store, tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [["Name", "ID type", "ID number", "Mobile", "Sex", "Birth date"],
                                            ["Anna Li", "PASSPORT", "e1234567", "13800001234", "female", "1990-02-03"],
                                            ["王芳", "Resident ID Card", ID_B, "13800001235", "女", None]])
    plan = plan_import(path, store)
    assert plan.problems == []
    passport, resident = (r.values for r in plan.rows)
    assert (passport["id_type"], passport["id_number"], passport["sex"]) == ("passport", "E1234567", "female")
    assert passport["birth_date"] == date(1990, 2, 3)
    assert (resident["id_type"], resident["birth_date"]) == ("resident", date(1990, 1, 1))


def test_rows_holding_only_a_serial_number_are_blank(store: Store, tmp_path: Path) -> None:
    rows = [["序号", *HEADERS], [1, "张三", ID_A, "13800001234", "", ""], *([n, None, None, None, None, None]
                                                                           for n in range(2, 200))]
    plan = plan_import(write_book(tmp_path / "v.xlsx", rows), store)
    assert plan.problems == [] and len(plan.rows) == 1


def test_progress_is_reported_while_reading(store: Store, tmp_path: Path) -> None:
    rows = [HEADERS, *([f"志愿者{n}", resident_id(f"198503{n // 500 + 10}", f"{n % 500:03d}"), f"138{n:08d}", "", ""]
                       for n in range(1200))]
    seen: list[tuple[int, int | None]] = []
    plan_import(write_book(tmp_path / "v.xlsx", rows), store, progress=lambda done, total: seen.append((done, total)))
    assert [done for done, _ in seen] == [500, 1000, 1200] and seen[0][1] == 1200
