"""City reporting on a fixed calendar: completeness, timeliness, nil reports, deadlines and locks as data."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from schema.errors import InvalidValue
from schema.models import CITY_CODE, Activity, Membership, MonthlyReport, ReportingDeadline, Team, Volunteer
from schema.reporting import (
    CellState,
    DeadlineKind,
    ReportingPolicy,
    activities_by_kind_and_venue,
    county_team_minimums,
    is_period_locked,
    load_calendar,
    lock_row,
    periods_between,
    policy_row,
    reporting_grid,
)
from schema.store import Store
from schema.validators import id_check_char

ANYANG_COUNTY, TANGYIN = "410522", "410523"
COUNTIES = [(ANYANG_COUNTY, "安阳县"), (TANGYIN, "汤阴县")]
PERIODS = ["2024-01", "2024-02", "2024-03", "2024-04"]


@pytest.fixture
def store(store: Store) -> Store:
    """The city's view (rows of every county, as the server holds them): a store of the city itself, which is
    not held to one county's records (migration 0009)."""
    store.set_settings(county_code=CITY_CODE)
    return store


def report(county: str, period: str, submitted: datetime | None, *, nil: bool = False,
           status: str = "submitted") -> MonthlyReport:
    return MonthlyReport(county_code=county, period=period, is_nil=nil, activities=0 if nil else 3,
                         status=status, submitted_at=submitted)


@pytest.fixture
def reports(store):
    with store.session() as session:
        session.add_all([
            report(ANYANG_COUNTY, "2024-01", datetime(2024, 2, 3, 16)),
            report(ANYANG_COUNTY, "2024-02", datetime(2024, 3, 5, 23, 59), nil=True),  # the due day itself
            report(ANYANG_COUNTY, "2024-03", datetime(2024, 4, 6, 9)),  # one day late
            report(TANGYIN, "2024-01", datetime(2024, 2, 10, 9)),
            report(TANGYIN, "2024-03", None, status="draft"),  # a draft is not a report received
        ])
        session.commit()
    return store


def test_grid_grades_each_county_and_month_on_a_fixed_day(reports) -> None:
    with reports.session() as session:
        grid = reporting_grid(session, PERIODS, date(2024, 4, 20), COUNTIES)
    states = {key: cell.state for key, cell in grid.cells.items()}
    assert [states[(ANYANG_COUNTY, p)] for p in PERIODS] == [CellState.ON_TIME, CellState.ON_TIME, CellState.LATE,
                                                             CellState.PENDING]  # April is in progress
    assert [states[(TANGYIN, p)] for p in PERIODS] == [CellState.LATE, CellState.MISSING, CellState.MISSING,
                                                       CellState.PENDING]


def test_completeness_is_received_over_expected_and_timeliness_on_time_over_expected(reports) -> None:
    with reports.session() as session:
        grid = reporting_grid(session, PERIODS, date(2024, 4, 20), COUNTIES)
    # Hand count on 20 April (April in progress counts as expected, not yet received):
    # 安阳县 Jan √, Feb √ (nil), Mar late, Apr pending → 3 of 4 received, 2 of 4 on time.
    assert (grid.completeness(ANYANG_COUNTY).count, grid.completeness(ANYANG_COUNTY).expected) == (3, 4)
    assert (grid.timeliness(ANYANG_COUNTY).count, grid.timeliness(ANYANG_COUNTY).expected) == (2, 4)
    # 汤阴县 Jan late, Feb missing, Mar draft only (missing), Apr pending → 1 of 4, none on time.
    assert grid.completeness(TANGYIN).percent() == "25.0%"
    assert grid.timeliness(TANGYIN).percent() == "0.0%"
    assert grid.completeness(period="2024-01").percent() == "100.0%"
    assert grid.completeness(period="2024-03").percent() == "50.0%"
    assert grid.completeness().count == 4 and grid.completeness().expected == 8
    assert grid.completeness(period="2024-04").percent() == "0.0%"
    with reports.session() as session:
        future = reporting_grid(session, ["2024-05"], date(2024, 4, 20), COUNTIES)
    assert future.completeness().percent() == "-"  # a month not begun: nothing expected, not applicable


def test_month_in_progress_with_one_of_ten_counties_reported_is_ten_percent(store) -> None:
    """The issue's case: on 30 Nov 2026 one county's November report is in; the other nine are expected."""
    with store.session() as session:
        session.add(report(ANYANG_COUNTY, "2026-11", datetime(2026, 11, 28, 10)))
        session.add(report(TANGYIN, "2026-11", None, status="draft"))  # a draft is not received
        session.commit()
        grid = reporting_grid(session, ["2026-10", "2026-11"], date(2026, 11, 30))
    assert len(grid.counties) == 10
    november, october = grid.completeness(period="2026-11"), grid.completeness(period="2026-10")
    assert (november.count, november.expected, november.percent()) == (1, 10, "10.0%")
    assert (october.count, october.expected, october.percent()) == (0, 10, "0.0%")
    assert grid.timeliness(period="2026-11").percent() == "10.0%"
    assert grid.cell(TANGYIN, "2026-11").state == CellState.PENDING
    assert grid.cell(ANYANG_COUNTY, "2026-10").state == CellState.MISSING  # due 5 November, never came
    assert (grid.completeness(ANYANG_COUNTY).count, grid.completeness(ANYANG_COUNTY).expected) == (1, 2)


def test_hand_counted_mix_of_nil_late_missing_and_on_time_reports(store) -> None:
    """Three counties, three months, on 3 March 2024 (February's due day is 5 March)."""
    neihuang = "410527"
    with store.session() as session:
        session.add_all([
            report(ANYANG_COUNTY, "2024-01", datetime(2024, 2, 1, 9), nil=True),  # nil, on time
            report(ANYANG_COUNTY, "2024-02", datetime(2024, 3, 2, 9)),  # on time
            report(TANGYIN, "2024-01", datetime(2024, 2, 20, 9)),  # late
            report(neihuang, "2024-03", datetime(2024, 3, 3, 9)),  # early: the month in progress
        ])
        session.commit()
        grid = reporting_grid(session, ["2024-01", "2024-02", "2024-03"], date(2024, 3, 3),
                              [*COUNTIES, (neihuang, "内黄县")])
    # Jan: 2 of 3 received (安阳 nil √, 汤阴 late, 内黄 missing), 1 on time.
    assert (grid.completeness(period="2024-01").count, grid.completeness(period="2024-01").expected) == (2, 3)
    assert grid.timeliness(period="2024-01").percent() == "33.3%"
    # Feb: 1 of 3 (the others still pending until 5 March).  Mar: 1 of 3.
    assert grid.completeness(period="2024-02").percent() == "33.3%"
    assert grid.completeness(period="2024-03").percent() == "33.3%"
    # All: 4 received of 9 expected, 3 on time (安阳 Jan, 安阳 Feb, 内黄 Mar).
    assert (grid.completeness().count, grid.completeness().expected) == (4, 9)
    assert (grid.timeliness().count, grid.timeliness().expected) == (3, 9)
    assert grid.cell(ANYANG_COUNTY, "2024-01").is_nil and grid.cell(ANYANG_COUNTY, "2024-01").on_time


def test_nil_report_counts_as_received(reports) -> None:
    with reports.session() as session:
        cell = reporting_grid(session, ["2024-02"], date(2024, 4, 20), COUNTIES).cell(ANYANG_COUNTY, "2024-02")
    assert cell.is_nil and cell.received and cell.on_time


def test_missing_report_is_pending_until_the_due_day_passes(reports) -> None:
    with reports.session() as session:
        on_due_day = reporting_grid(session, ["2024-03"], date(2024, 4, 5), COUNTIES).cell(TANGYIN, "2024-03")
        day_after = reporting_grid(session, ["2024-03"], date(2024, 4, 6), COUNTIES).cell(TANGYIN, "2024-03")
    assert on_due_day.state == CellState.PENDING and on_due_day.expected and not on_due_day.received
    assert day_after.state == CellState.MISSING


def test_every_county_of_the_region_list_is_expected_by_default(reports) -> None:
    with reports.session() as session:
        grid = reporting_grid(session, ["2024-01"], date(2024, 4, 20))
    codes = [code for code, _ in grid.counties]
    assert "410500" not in codes and "410571" in codes and len(codes) == 10
    assert grid.completeness(period="2024-01").expected == 10


def test_timely_days_come_from_a_policy_row_and_never_regrade_earlier_months(reports) -> None:
    with reports.session() as session:
        session.add(policy_row(ReportingPolicy(timely_days=10, lock_days=20), effective_from=date(2024, 2, 1)))
        session.commit()
        grid = reporting_grid(session, PERIODS, date(2024, 4, 20), COUNTIES)
    assert grid.cell(TANGYIN, "2024-01").state == CellState.LATE  # January keeps the 5-day rule
    assert grid.cell(ANYANG_COUNTY, "2024-03").state == CellState.ON_TIME  # 6 April is within 10 days
    assert grid.cell(ANYANG_COUNTY, "2024-03").due_on == date(2024, 4, 10)


def test_a_due_date_moved_for_one_month_is_data(reports) -> None:
    with reports.session() as session:
        session.add(ReportingDeadline(county_code="410500", kind=DeadlineKind.DUE.value, name="春节顺延",
                                      period="2024-01", due_on=date(2024, 2, 18)))
        session.commit()
        grid = reporting_grid(session, ["2024-01"], date(2024, 4, 20), COUNTIES)
    assert grid.cell(TANGYIN, "2024-01").state == CellState.ON_TIME


def test_period_locks_after_the_configured_days(store) -> None:
    with store.session() as session:
        dates = load_calendar(session).dates("2024-01", ANYANG_COUNTY)
        assert dates.open_until == date(2024, 2, 15)
        assert not is_period_locked(session, ANYANG_COUNTY, "2024-01", date(2024, 2, 15))
        assert is_period_locked(session, ANYANG_COUNTY, "2024-01", date(2024, 2, 16))
        session.add(policy_row(ReportingPolicy(timely_days=5, lock_days=30), effective_from=date(2024, 1, 1)))
        session.commit()
        assert not is_period_locked(session, ANYANG_COUNTY, "2024-01", date(2024, 2, 16))


def test_city_reopens_a_period_for_one_county_only(store) -> None:
    with store.session() as session:
        session.add(lock_row(ANYANG_COUNTY, "2024-01", date(2024, 5, 31), "县里申请更正"))
        session.commit()
        assert not is_period_locked(session, ANYANG_COUNTY, "2024-01", date(2024, 5, 1))
        assert is_period_locked(session, TANGYIN, "2024-01", date(2024, 5, 1))
        grid = reporting_grid(session, ["2024-01"], date(2024, 5, 1), COUNTIES)
    assert not grid.cell(ANYANG_COUNTY, "2024-01").locked and grid.cell(TANGYIN, "2024-01").locked


def test_city_wide_lock_row_applies_to_every_county_without_its_own(store) -> None:
    with store.session() as session:
        session.add(lock_row("410500", "2024-01", date(2024, 2, 7), "提前锁定"))
        session.commit()
        assert is_period_locked(session, TANGYIN, "2024-01", date(2024, 2, 8))


def test_policy_refuses_lock_before_due() -> None:
    with pytest.raises(InvalidValue):
        ReportingPolicy(timely_days=10, lock_days=5)
    assert ReportingPolicy.from_note(ReportingPolicy(3, 9).to_note()) == ReportingPolicy(3, 9)


def test_periods_between_crosses_the_year() -> None:
    assert periods_between("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    with pytest.raises(InvalidValue):
        periods_between("2024-03", "2024-01")


def resident_id(serial: int) -> str:
    body = f"41052219800101{serial:03d}"
    return body + id_check_char(body)


def test_team_minimums_and_activities_per_county(store) -> None:
    with store.session() as session:
        people = [Volunteer(county_code=ANYANG_COUNTY, name=f"志愿者{i}", id_number=resident_id(i),
                            mobile="13800138000") for i in range(12)]
        session.add_all(people)
        brigade = Team(county_code=ANYANG_COUNTY, name="安阳县大队", tier="county")
        small = Team(county_code=ANYANG_COUNTY, name="白璧镇队", tier="grassroots")
        session.add_all([brigade, small])
        session.flush()
        session.add_all([Membership(county_code=ANYANG_COUNTY, team_id=t.id, volunteer_id=v.id)
                         for t in (brigade, small) for v in people])
        for day, kind, venue, status in [(3, "health", "village", "finished"), (9, "health", "campus", "finished"),
                                         (15, "emergency", "village", "cancelled")]:
            session.add(Activity(county_code=ANYANG_COUNTY, title="活动", team_id=small.id, service_kind=kind,
                                 venue_kind=venue, starts_at=datetime(2024, 3, day, 9),
                                 ends_at=datetime(2024, 3, day, 11), status=status))
        session.commit()
        minimums = {c.county_code: c for c in county_team_minimums(session, [ANYANG_COUNTY, TANGYIN], "2024-03")}
        breakdown = activities_by_kind_and_venue(session, "2024-01", "2024-03")
    anyang = minimums[ANYANG_COUNTY]
    assert (anyang.teams, anyang.brigades, anyang.brigade_members, anyang.grassroots) == (2, 1, 12, 1)
    assert (anyang.below_minimum, anyang.without_activity) == (1, 1)  # the 大队 of 12 < 30, and it held nothing
    assert not anyang.brigade_meets_minimum
    assert minimums[TANGYIN].teams == 0 and not minimums[TANGYIN].has_brigade
    assert breakdown[ANYANG_COUNTY].total == 2  # the cancelled one does not count
    assert breakdown[ANYANG_COUNTY].by_kind == {"health": 2}
    assert breakdown[ANYANG_COUNTY].by_venue == {"village": 1, "campus": 1}
    assert TANGYIN not in breakdown
