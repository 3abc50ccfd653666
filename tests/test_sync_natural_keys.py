"""Two devices file the same month's report, or put the same volunteer in the same team: one logical record
(issue 10, item 5). The second device's row merges into the first (or becomes a conflict for the city),
never a unique-key failure, never a dead device; on SQLite and PostgreSQL servers, through the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from city_server import DATABASES, database_url
from clerk import COUNTY, Clerk, assert_in_sync, open_conflicts, server_rows
from sync_fixtures import ThreadServer, thread_server

from schema.models import Membership, MonthlyReport

PERIOD = datetime.now().strftime("%Y-%m")  # the month being worked on: open for filing


@pytest.fixture(params=DATABASES)
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(database_url(request, tmp_path / "city")) as server:
        yield server


def two_devices(city: ThreadServer, tmp_path: Path) -> tuple[Clerk, Clerk]:
    token = city.token(COUNTY)
    a = Clerk(tmp_path / "a").setup()
    a.sync(city.url, token)
    b = Clerk(tmp_path / "b")
    assert b.cli("init", "--county", COUNTY)[0] == 0
    b.sync(city.url, token)
    return a, b


def file_report(clerk: Clerk, activities: int, highlights: str) -> str:
    """The monthly report as the report screen files it (through the model, captured by the triggers)."""
    store = clerk.open()
    try:
        report = MonthlyReport(county_code=COUNTY, period=PERIOD, activities=activities, highlights=highlights,
                               status="submitted", submitted_at=datetime(2026, 5, 31, 17, 0), submitted_by="王芳")
        with store.session() as session:
            session.add(report)
            session.commit()
        return report.id
    finally:
        store.close()


def reports(clerk: Clerk) -> list[tuple[str, int, str]]:
    return clerk.query("SELECT id, activities, highlights FROM monthly_report WHERE period = ?", PERIOD)


def test_the_same_months_report_filed_on_two_devices_is_one_report_and_a_conflict_for_the_city(
        city: ThreadServer, tmp_path: Path) -> None:
    a, b = two_devices(city, tmp_path)
    first = file_report(a, 3, "甲机填报")
    second = file_report(b, 5, "乙机填报")
    assert a.sync()["applied"] == 1
    outcome = b.sync()
    assert (outcome["conflicts"], outcome["rejected"], outcome["quarantined"]) == (1, 0, 0)
    # B's report became A's: one row, the city's value provisional, B's in the conflict queue.
    assert reports(b) == [(first, 3, "甲机填报")]
    assert b.query("SELECT sync_state FROM monthly_report WHERE id = ?", first) == [("conflict",)]
    assert open_conflicts(city.db) == 1
    admin = city.token("410500", admin=True)
    desk = Clerk(tmp_path / "citydesk")
    code, out, err = desk.cli("conflicts", "list", "--county", COUNTY, "--json", "--server", city.url, "--token", admin)
    assert code == 0, out + err
    [item] = json.loads(out)["items"]
    assert item["row_id"] == first and item["fields"]["highlights"]["incoming"] == "乙机填报"
    code, out, err = desk.cli("conflicts", "resolve", item["id"], "--take", "county", "--reason", "以乙机为准",
                              "--server", city.url, "--token", admin)
    assert code == 0, out + err
    for device in (a, b):
        assert device.sync()["digest"] == "match"
        assert reports(device) == [(first, 5, "乙机填报")]
        assert_in_sync(device, city.db)
    assert [key for key in server_rows(city.db) if key[0] == "monthly_report"] == [("monthly_report", first)]
    assert second not in {row_id for _table, row_id in server_rows(city.db)}


def test_the_same_membership_added_on_two_devices_is_one_membership(city: ThreadServer, tmp_path: Path) -> None:
    """Both devices put the same volunteer in the same team with the same values: merged without a conflict,
    one membership everywhere."""
    token = city.token(COUNTY)
    a = Clerk(tmp_path / "a").setup()
    team, volunteer = a.query("SELECT team_id, volunteer_id FROM membership LIMIT 1")[0]
    a.sql("DELETE FROM membership WHERE team_id = ? AND volunteer_id = ?", team, volunteer)  # never synced
    a.sync(city.url, token)
    b = Clerk(tmp_path / "b")
    assert b.cli("init", "--county", COUNTY)[0] == 0
    b.sync(city.url, token)
    ids = []
    for clerk in (a, b):
        store = clerk.open()
        with store.session() as session:
            row = Membership(county_code=COUNTY, team_id=team, volunteer_id=volunteer, role="member",
                             created_at=datetime(2026, 5, 1, 9, 0))
            session.add(row)
            session.commit()
            ids.append(row.id)
        store.close()
    a.sync()
    outcome = b.sync()
    assert (outcome["conflicts"], outcome["rejected"]) == (0, 0)
    a.sync()
    query = "SELECT id FROM membership WHERE team_id = ? AND volunteer_id = ? AND deleted = 0"
    for device in (a, b):
        assert device.query(query, team, volunteer) == [(ids[0],)]
        assert_in_sync(device, city.db)
    assert open_conflicts(city.db) == 0
