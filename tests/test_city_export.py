"""The city's reports workbook: marks per county and month, rates, team minimums, activities by kind/venue."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from schema.models import CITY_CODE, Activity, MonthlyReport, Team
from schema.reporting import CityReports, city_reports
from schema.store import Store
from stvs_tui.city.export import export_city_reports


@pytest.fixture
def store(store: Store) -> Store:
    """The city's view (rows of every county, as the server holds them): a store of the city itself, which is
    not held to one county's records (migration 0009)."""
    store.set_settings(county_code=CITY_CODE)
    return store


def test_city_reports_workbook_has_grid_teams_and_activities(store, tmp_path) -> None:
    with store.session() as session:
        team = Team(county_code="410522", name="安阳县大队", tier="county")
        session.add(team)
        session.flush()
        session.add_all([
            MonthlyReport(county_code="410522", period="2024-01", status="submitted",
                          submitted_at=datetime(2024, 2, 2, 10)),
            MonthlyReport(county_code="410522", period="2024-02", status="submitted", is_nil=True,
                          submitted_at=datetime(2024, 3, 9, 10)),
            Activity(county_code="410522", title="义诊", team_id=team.id, service_kind="health", venue_kind="village",
                     starts_at=datetime(2024, 2, 3, 9), ends_at=datetime(2024, 2, 3, 11), status="finished"),
        ])
        session.commit()
        reports = city_reports(session, "2024-01", "2024-03", date(2024, 3, 20))
    path = tmp_path / "city.xlsx"
    export_city_reports(reports, path)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["月报报送情况", "队伍达标情况", "活动分类统计"]
    grid = [[c for c in row] for row in workbook["月报报送情况"].iter_rows(values_only=True)]
    header = next(row for row in grid if row[0] == "县（市、区）")
    assert list(header[1:4]) == ["2024-01", "2024-02", "2024-03"]
    anyang = next(row for row in grid if row[0] == "安阳县")
    # March is in progress on 20 March: expected, not received yet (待报), so 2 of 3.
    assert list(anyang[1:9]) == ["√", "逾期（零报告）", "待报", 3, 2, 1, "66.7%", "33.3%"]
    total = next(row for row in grid if row[0] == "完整率")
    assert list(total[1:4]) == ["10.0%", "10.0%", "0.0%"]
    teams = next(row for row in workbook["队伍达标情况"].iter_rows(values_only=True) if row[0] == "安阳县")
    assert list(teams[1:]) == [1, 1, 0, 0, 1, 1, "未达标"]
    activities = next(row for row in workbook["活动分类统计"].iter_rows(values_only=True) if row[0] == "安阳县")
    assert activities[1] == 1 and 1 in activities[2:]


def test_city_reports_survive_their_json_form(store) -> None:
    with store.session() as session:
        session.add(MonthlyReport(county_code="410523", period="2024-01", status="submitted",
                                  submitted_at=datetime(2024, 2, 9, 10)))
        session.commit()
        reports = city_reports(session, "2024-01", "2024-02", date(2024, 3, 20))
    again = CityReports.from_dict(reports.to_dict())
    assert again == reports
