"""Domain rules on hand-made records: minimums, monthly activity, talent coverage, hours, stars, figures."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import select

from schema.enums import ActivityStatus
from schema.errors import InvalidRecord
from schema.models import Activity, Membership, Participation, Team, Volunteer
from schema.rules import (
    active_memberships,
    activity_step_error,
    change_errors,
    confirmed_hours_error,
    monthly_figures,
    star_level,
    talent_coverage,
    team_compliance,
    volunteer_hours,
)
from schema.validation import clean_record
from schema.validators import id_check_char

COUNTY = "410522"


def resident_id(serial: int) -> str:
    body = f"41052219800101{serial:03d}"
    return body + id_check_char(body)


def add_team(session, name: str, tier: str, members: list[Volunteer]) -> Team:
    team = Team(county_code=COUNTY, name=name, tier=tier, founded_on=date(2026, 3, 5))
    session.add(team)
    session.flush()
    for volunteer in members:
        session.add(Membership(county_code=COUNTY, team_id=team.id, volunteer_id=volunteer.id))
    return team


@pytest.fixture
def people(store):
    with store.session() as session:
        tags = ["hospital_director", "expert", "rural_talent,sci_worker"] + ["enthusiast"] * 27
        volunteers = [Volunteer(county_code=COUNTY, name=f"志愿者{i}", id_number=resident_id(i), mobile="13800138000",
                                talent_tags=tags[i], joined_on=date(2026, 3, 1 + i % 20)) for i in range(30)]
        session.add_all(volunteers)
        session.flush()
        brigade = add_team(session, "安阳县科技志愿服务大队", "county", volunteers)
        small = add_team(session, "白璧镇科技志愿服务队", "grassroots", volunteers[:9])
        activity = Activity(county_code=COUNTY, title="义诊", team_id=small.id, service_kind="health",
                            venue_kind="village", starts_at=datetime(2026, 3, 10, 9), ends_at=datetime(2026, 3, 10, 12),
                            status="finished", beneficiaries=120)
        cancelled = Activity(county_code=COUNTY, title="取消的讲座", team_id=brigade.id, service_kind="health",
                             venue_kind="campus", starts_at=datetime(2026, 3, 12, 9),
                             ends_at=datetime(2026, 3, 12, 10), status="cancelled", beneficiaries=50)
        session.add_all([activity, cancelled])
        session.flush()
        for index, volunteer in enumerate(volunteers[:5]):
            session.add(Participation(county_code=COUNTY, activity_id=activity.id, volunteer_id=volunteer.id,
                                      attended=index < 4, hours=3.0 if index < 4 else 0, hours_confirmed=index < 3))
        session.commit()
        return {"volunteers": volunteers, "brigade": brigade, "small": small}


def test_team_minimums_and_monthly_activity_are_checked(store, people) -> None:
    with store.session() as session:
        rows = {row.name: row for row in team_compliance(session, COUNTY, "2026-03")}
    brigade, small = rows["安阳县科技志愿服务大队"], rows["白璧镇科技志愿服务队"]
    assert (brigade.members, brigade.minimum, brigade.meets_minimum) == (30, 30, True)
    assert (small.members, small.minimum, small.meets_minimum) == (9, 10, False)
    assert small.meets_monthly_activity and not brigade.meets_monthly_activity  # a cancelled one does not count
    assert (brigade.san_zhang, brigade.experts, brigade.rural_talents) == (1, 1, 1)


def test_a_member_who_left_no_longer_counts(store, people) -> None:
    with store.session() as session:
        membership = session.exec(select(Membership).where(Membership.team_id == people["small"].id)).first()
        membership.left_on = date(2026, 4, 1)
        session.commit()
        rows = {row.name: row for row in team_compliance(session, COUNTY, "2026-03")}
        assert rows["白璧镇科技志愿服务队"].members == 8
        assert active_memberships(session, membership.volunteer_id) == 1


def test_talent_coverage_counts_san_zhang_experts_and_rural_talents(store, people) -> None:
    with store.session() as session:
        coverage = talent_coverage(session, COUNTY)
    assert (coverage.volunteers, coverage.san_zhang, coverage.experts, coverage.rural_talents) == (30, 1, 1, 1)


def test_hours_count_only_confirmed_attendance(store, people) -> None:
    with store.session() as session:
        hours = [volunteer_hours(session, v.id) for v in people["volunteers"][:5]]
    assert hours == [3.0, 3.0, 3.0, 0.0, 0.0]


@pytest.mark.parametrize(("hours", "stars"), [(0, 0), (99.5, 0), (100, 1), (299, 1), (300, 2), (1500, 5), (9999, 5)])
def test_star_level_follows_the_scale(hours: float, stars: int) -> None:
    assert star_level(hours) == stars


def test_monthly_figures_come_from_the_records(store, people) -> None:
    with store.session() as session:
        march = monthly_figures(session, COUNTY, "2026-03")
        april = monthly_figures(session, COUNTY, "2026-04")
    assert (march.activities, march.by_kind, march.by_venue) == (1, {"health": 1}, {"village": 1})
    assert (march.person_times, march.volunteers, march.hours, march.beneficiaries) == (4, 4, 12.0, 120)
    assert (march.new_volunteers, march.new_teams) == (30, 2)
    assert april.is_empty and april.activities == 0 and april.new_volunteers == 0


@pytest.mark.parametrize(("before", "after", "allowed"), [
    ("draft", "published", True), ("published", "in_progress", True), ("in_progress", "finished", True),
    ("draft", "cancelled", True), ("in_progress", "in_progress", True), ("finished", "draft", False),
    ("in_progress", "published", False), ("cancelled", "in_progress", False), ("draft", "finished", False)])
def test_an_activity_moves_only_along_its_workflow(before: str, after: str, allowed: bool) -> None:
    error = activity_step_error(before, after)
    assert (error is None) == allowed
    assert change_errors("activity", {"status": before}, {"status": after}) == ([] if allowed else [error])


def test_confirmed_hours_change_only_to_a_corrections_value() -> None:
    confirmed = {"hours": 4.0, "hours_confirmed": True}
    assert confirmed_hours_error(confirmed, {"hours": 104.0, "hours_confirmed": True}).field == "hours"
    assert confirmed_hours_error(confirmed, {"hours": 6.0, "hours_confirmed": True}, corrected_to={6.0}) is None
    assert confirmed_hours_error(confirmed, {"hours": 4.0, "hours_confirmed": False}).field == "hours_confirmed"
    assert confirmed_hours_error({"hours": 4.0, "hours_confirmed": False}, {"hours": 9.0}) is None


def test_the_county_screens_refuse_a_step_with_the_rule_the_server_applies(store) -> None:
    """queries.change_status (the activity screen's action) decides by schema.rules.activity_step_error."""
    from stvs_tui.queries import WorkflowError, change_status

    with store.session() as session:
        team = Team(county_code=COUNTY, name="队", tier="grassroots")
        session.add(team)
        session.flush()
        activity = Activity(county_code=COUNTY, title="讲座", team_id=team.id, status="finished",
                            starts_at=datetime(2026, 3, 2, 9), ends_at=datetime(2026, 3, 2, 11))
        session.add(activity)
        session.commit()
        with pytest.raises(WorkflowError):
            change_status(session, activity.id, ActivityStatus.DRAFT)
    assert activity_step_error("finished", "draft") is not None


@pytest.mark.parametrize("value", [-5.5, -1e14, 1e14, float("nan"), "many"])
def test_monthly_hours_are_non_negative_and_bounded(value: object) -> None:
    with pytest.raises(InvalidRecord, match="hours"):
        clean_record("monthly_report", {"hours": value}, partial=True)
    assert clean_record("monthly_report", {"hours": 1234.5}, partial=True) == {"hours": 1234.5}
