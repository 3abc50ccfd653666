"""The forms and lists look like the paper ones and hold the same figures as the domain rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from excel_helpers import DEMO_TODAY, fill_demo
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from schema.enums import RegistrationStatus, TeamTier
from schema.models import Activity, Team, Volunteer
from schema.rules import hours_by_volunteer, monthly_figures, team_compliance, volunteer_hours
from schema.store import Store
from stvs_tui.excel import (
    ExportFailed,
    export_activities,
    export_certificate,
    export_hours,
    export_monthly,
    export_roster,
    export_teams,
    export_template,
    plan_import,
)
from stvs_tui.excel.sheet import display_width


@pytest.fixture
def demo_store(store: Store) -> Store:
    fill_demo(store, 150)
    return store


def sheet_of(path: Path) -> Worksheet:
    return load_workbook(path).worksheets[0]


def rows_of(ws: Worksheet) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def merged(ws: Worksheet) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


def assert_a4_landscape(ws: Worksheet, frozen: str) -> None:
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.freeze_panes == frozen


def test_cjk_characters_count_double_for_column_widths() -> None:
    assert display_width("安阳县") == 6 and display_width("abc") == 3 and display_width("Ａ1") == 3


def test_teams_form_is_annex_2_with_title_unit_date_two_row_header_and_totals(demo_store: Store,
                                                                               tmp_path: Path) -> None:
    path = tmp_path / "teams.xlsx"
    count = export_teams(demo_store, path, today=DEMO_TODAY)
    ws = sheet_of(path)
    assert ws["A1"].value == "附件2" and ws["A2"].value == "科技志愿服务队基本情况表"
    assert [c.value for c in ws[3] if c.value] == ["填报单位：安阳县科学技术协会", "统计截至：2026年06月15日"]
    assert (ws["H4"].value, ws["H5"].value, ws["I5"].value, ws["J5"].value) == ("其中", "三长", "科技专家", "乡土科技人才")
    assert {"A1:N1", "A2:N2", "H4:J4", "L4:M4", "A4:A5", "G4:G5"} <= merged(ws)
    assert_a4_landscape(ws, "A6")
    assert ws.print_title_rows == "$4:$5"
    with demo_store.session() as session:
        figures = team_compliance(session, "410522", "2026-06")
    body = rows_of(ws)[5:5 + count]
    assert count == len(figures) and [r[1] for r in body] == [f.name for f in figures]
    assert [r[6] for r in body] == [f.members for f in figures]
    total = rows_of(ws)[5 + count]
    assert total[0] == "合计" and total[6:10] == tuple(sum(getattr(f, a) for f in figures)
                                                     for a in ("members", "san_zhang", "experts", "rural_talents"))


def test_teams_form_writes_dash_for_not_applicable_and_notes_short_teams(demo_store: Store, tmp_path: Path) -> None:
    with demo_store.session() as session:
        team = session.execute(sa.select(Team).where(Team.tier == TeamTier.GRASSROOTS.value)).scalars().first()
        team.stvs_status, team.stvs_org_no = RegistrationStatus.UNREGISTERED.value, ""
        session.add(team)
        session.add(Team(name="新成立科技志愿服务队", county_code="410522", notes="筹建中"))
        session.commit()
        short = [f.name for f in team_compliance(session, "410522", "2026-06") if not f.meets_minimum]
    path = tmp_path / "teams.xlsx"
    export_teams(demo_store, path, today=DEMO_TODAY)
    by_name = {r[1]: r for r in rows_of(sheet_of(path))[5:]}
    assert by_name[team.name][11:13] == ("未注册", "-")
    assert by_name["新成立科技志愿服务队"][6:14] == (0, 0, 0, 0, None, "未注册", "-", "筹建中；队员不足10人")
    assert all("队员不足10人" in (by_name[n][13] or "") for n in short)


def test_monthly_form_matches_the_monthly_figures_with_zero_dash_and_signature(demo_store: Store,
                                                                              tmp_path: Path) -> None:
    path = tmp_path / "monthly.xlsx"
    export_monthly(demo_store, path, period="2026-05", today=DEMO_TODAY)
    ws = sheet_of(path)
    with demo_store.session() as session:
        figures = monthly_figures(session, "410522", "2026-05")
    rows = {r[0].strip(): r for r in rows_of(ws) if r[0]}
    assert ws["A2"].value == "报告期：2026年05月" and ws.freeze_panes == "A4"
    assert rows["一、活动次数"][2] == figures.activities > 0
    assert rows["二、参与志愿者人次"][2] == figures.person_times
    assert rows["四、服务时长"][2] == pytest.approx(figures.hours)
    assert rows["三、参与志愿者人数"][2:4] == (figures.volunteers, "-")
    assert rows["其他"][2] == 0
    assert "☐ 本月无活动（零报告）" in rows
    assert any(str(r[0]).startswith("负责人：") and "填报人：王芳" in r[0] for r in rows_of(ws) if r[0])
    assert any("填报单位（盖章）：安阳县科学技术协会" in str(v) and "填报日期：2026年06月15日" in str(v)
               for r in rows_of(ws) for v in r)


def test_a_month_without_activity_is_a_nil_report_of_zeros(demo_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "monthly.xlsx"
    export_monthly(demo_store, path, period="2019-02", today=DEMO_TODAY)
    rows = {r[0].strip(): r for r in rows_of(sheet_of(path)) if r[0]}
    assert rows["一、活动次数"][2:4] == (0, 0) and rows["四、服务时长"][2] == 0
    assert "☑ 本月无活动（零报告）" in rows


def test_monthly_needs_a_month(demo_store: Store, tmp_path: Path) -> None:
    with pytest.raises(ExportFailed):
        export_monthly(demo_store, tmp_path / "m.xlsx", period="2026")
    with pytest.raises(ExportFailed):
        export_monthly(demo_store, tmp_path / "m.xlsx", period="2026-13")
    assert not (tmp_path / "m.xlsx").exists()


def test_roster_masks_id_numbers_unless_unmasked(demo_store: Store, tmp_path: Path) -> None:
    export_roster(demo_store, tmp_path / "masked.xlsx")
    export_roster(demo_store, tmp_path / "full.xlsx", unmasked=True)
    masked = sheet_of(tmp_path / "masked.xlsx")
    full = sheet_of(tmp_path / "full.xlsx")
    assert masked["E3"].value == "证件号码" and masked.freeze_panes == "A4"
    numbers = [r[4] for r in rows_of(masked)[3:3 + 150]]
    assert len(numbers) == 150 and all(n.startswith("410522********") for n in numbers)
    assert all("*" not in r[4] and len(r[4]) == 18 for r in rows_of(full)[3:3 + 150])
    assert rows_of(masked)[3 + 150] == (None,) * 20  # then the sign-off under a spacer
    assert rows_of(masked)[3 + 151][0].startswith("负责人：")
    assert oct((tmp_path / "full.xlsx").stat().st_mode & 0o777) == "0o600"


def test_roster_declares_its_size_so_readers_need_not_scan_it(demo_store: Store, tmp_path: Path) -> None:
    export_roster(demo_store, tmp_path / "roster.xlsx")
    streamed = load_workbook(tmp_path / "roster.xlsx", read_only=True).worksheets[0]
    assert (streamed.max_row, streamed.max_column) == (3 + 150 + 2, 20)  # and the sign-off


def test_activity_ledger_lists_the_period_with_dash_for_activities_not_held(demo_store: Store,
                                                                            tmp_path: Path) -> None:
    path = tmp_path / "acts.xlsx"
    count = export_activities(demo_store, path, period="2026-06")
    with demo_store.session() as session:
        statuses = session.execute(sa.select(Activity.status).where(
            Activity.starts_at >= "2026-06-01", Activity.starts_at < "2026-07-01")).scalars().all()
    body = rows_of(sheet_of(path))[3:3 + count]
    assert count == len(statuses) > 0
    not_held = [r for r in body if r[13] not in ("已结束", "进行中")]
    assert all(r[10:13] == ("-", "-", "-") for r in not_held)
    assert rows_of(sheet_of(path))[3 + count][0] == "合计"


def test_hours_list_matches_confirmed_hours_and_hides_who_did_not_consent(demo_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "hours.xlsx"
    count = export_hours(demo_store, path, period="2026")
    with demo_store.session() as session:
        hours = hours_by_volunteer(session, "410522", *_year(2026))
        consent = dict(session.execute(sa.select(Volunteer.name, Volunteer.publicity_consent)).all())
    body = rows_of(sheet_of(path))[3:3 + count]
    assert count == len(hours)
    assert sum(r[6] for r in body) == pytest.approx(sum(h for _, h in hours.values()))
    assert [r[6] for r in body] == sorted((r[6] for r in body), reverse=True)
    hidden = [r for r in body if r[3] == "-"]
    assert hidden and all("*" in r[1] for r in hidden)
    assert all(consent.get(r[1], False) for r in body if r[3] != "-")


def _year(year: int) -> tuple:
    from datetime import datetime

    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


def test_certificate_totals_the_confirmed_hours_with_a_seal_area(demo_store: Store, tmp_path: Path) -> None:
    with demo_store.session() as session:
        served = hours_by_volunteer(session, "410522")
        volunteer_id = max(served, key=lambda v: served[v][1])
        person = session.get(Volunteer, volunteer_id)
        expected = volunteer_hours(session, volunteer_id)
    path = tmp_path / "cert.xlsx"
    assert export_certificate(demo_store, path, person.id_number, today=DEMO_TODAY) == pytest.approx(expected)
    ws = sheet_of(path)
    assert ws["A1"].value == "志愿服务记录证明" and ws.page_setup.orientation == "portrait"
    assert person.name in ws["A3"].value and "410522********" in ws["A3"].value
    assert f"{expected:g}小时" in ws["A3"].value
    texts = [str(v) for r in rows_of(ws) for v in r if v]
    assert "出具单位（盖章）：安阳县科学技术协会\n\n出具日期：2026年06月15日" in texts
    export_certificate(demo_store, tmp_path / "full.xlsx", volunteer_id, unmasked=True)
    assert person.id_number in sheet_of(tmp_path / "full.xlsx")["A3"].value


def test_certificate_for_an_unknown_volunteer_fails_and_writes_nothing(demo_store: Store, tmp_path: Path) -> None:
    with pytest.raises(ExportFailed, match="找不到志愿者"):
        export_certificate(demo_store, tmp_path / "c.xlsx", "nobody")
    assert not (tmp_path / "c.xlsx").exists()


def test_template_has_headers_drop_downs_text_columns_and_instructions(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    export_template(path)
    workbook = load_workbook(path)
    roster, hidden, notes = workbook.worksheets
    assert roster.title == "志愿者名册" and roster["A1"].value == "姓名" and roster["E1"].value == "证件号码"
    assert roster["A1"].font.color.rgb.endswith("C00000") and roster.freeze_panes == "A2"
    lists = {str(v.sqref): v for v in roster.data_validations.dataValidation}
    assert {"D2:D2001", "K2:K2001", "M2:M2001", "N2:N2001", "P2:P2001", "B2:B2001"} <= set(lists)
    id_types = [c.value for c in hidden[lists["D2:D2001"].formula1.split("!")[1].replace("$", "").split(":")[0][0]]
                if c.value]
    assert id_types == ["居民身份证", "护照", "港澳居民居住证", "台湾居民居住证", "其他证件"]
    assert hidden.sheet_state == "hidden" and roster.column_dimensions["E"].number_format == "@"
    assert notes.title == "填写说明" and any("必填" in str(r) for r in rows_of(notes))
    assert plan_import(path, store).rows == []


def test_a_filled_in_template_imports(store: Store, tmp_path: Path) -> None:
    from excel_helpers import resident_id

    path = tmp_path / "template.xlsx"
    export_template(path)
    workbook = load_workbook(path)
    roster = workbook["志愿者名册"]
    roster.append(["王芳", None, None, "居民身份证", resident_id("19900101", "246"), "13800001234", None, "县一中",
                   "教师", "物理", "科技工作者、科普爱好者", "周末", "是", "已注册", "2021-05-01", "在册", "2021-04-01"])
    workbook.save(path)
    plan = plan_import(path, store)
    assert plan.problems == [] and plan.rows[0].values["talent_tags"] == "sci_worker,enthusiast"
    assert plan.rows[0].values["publicity_consent"] is True and plan.rows[0].values["sex"] == "female"
