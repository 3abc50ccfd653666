"""Domain rules both sides need: team minimums, talent coverage, service hours and stars, monthly figures.

Queries are plain SQLAlchemy and run on SQLite (county) and PostgreSQL (city) alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from schema.enums import ACTIVITY_TRANSITIONS, ActivityStatus, TalentTag, TeamStatus
from schema.errors import FieldError
from schema.figures import (  # noqa: F401  (named here by their users)
    HELD_STATUSES,
    SCHEDULED_STATUSES,
    TalentCoverage,
    TeamCompliance,
    month_bounds,
    period_of,
)
from schema.models import Activity, HoursCorrection, Membership, Participation, Team, Volunteer
from schema.validation import clean_record
from schema.validators import normalize_period

# Display-only star scale (not an official credential): hours needed for 1★ … 5★. Configurable.
DEFAULT_STAR_SCALE: tuple[int, ...] = (100, 300, 600, 1000, 1500)
# The national platform lets a volunteer belong to at most this many organisations.
MAX_ACTIVE_MEMBERSHIPS = 5


# No one serves more than a day's hours in a day; more than the activity lasted needs a reason.
MAX_HOURS_PER_DAY = 24.0


def planned_hours(starts_at: datetime, ends_at: datetime) -> float:
    """The activity's planned duration in hours: what an attendee is credited by default."""
    return round(max((ends_at - starts_at).total_seconds(), 0) / 3600, 2)


def hours_cap(starts_at: datetime, ends_at: datetime) -> float:
    """The most hours one person can serve at an activity: 24 for each calendar day it spans."""
    return MAX_HOURS_PER_DAY * max(1, (ends_at.date() - starts_at.date()).days + 1)


def star_level(hours: float, scale: tuple[int, ...] = DEFAULT_STAR_SCALE) -> int:
    """Stars earned by ``hours`` of confirmed service (0 below the first threshold)."""
    return sum(1 for threshold in scale if hours >= threshold)


def _has_tag(tag: TalentTag) -> sa.ColumnElement[bool]:
    return (sa.literal(",") + Volunteer.talent_tags + sa.literal(",")).like(f"%,{tag.value},%")


def _active_membership() -> sa.ColumnElement[bool]:
    return sa.and_(Membership.deleted.is_(False), Membership.left_on.is_(None))


def volunteer_hours(session: Session, volunteer_id: str) -> float:
    """Confirmed service hours of a volunteer over all held activities."""
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Participation.hours), 0.0))
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.volunteer_id == volunteer_id, counted_service())
    ).scalar_one()
    return float(total)


def active_memberships(session: Session, volunteer_id: str) -> int:
    """Teams a volunteer currently belongs to (warn beyond ``MAX_ACTIVE_MEMBERSHIPS``)."""
    return session.execute(
        sa.select(sa.func.count()).select_from(Membership)
        .where(Membership.volunteer_id == volunteer_id, _active_membership())
    ).scalar_one()


def team_compliance(session: Session, county_code: str, period: str,
                    status: str = TeamStatus.ACTIVE.value) -> list[TeamCompliance]:
    """Every active team of a county (or every one in ``status``) with its member counts and its activities
    in ``period``."""
    start, end = month_bounds(period)
    member_counts = (
        sa.select(
            Membership.team_id.label("team_id"),
            sa.func.count(sa.distinct(Membership.volunteer_id)).label("members"),
            sa.func.count(sa.distinct(sa.case(
                (sa.or_(*(_has_tag(t) for t in TalentTag if t.is_san_zhang)), Membership.volunteer_id)))
            ).label("san_zhang"),
            sa.func.count(sa.distinct(sa.case((_has_tag(TalentTag.EXPERT), Membership.volunteer_id)))).label("experts"),
            sa.func.count(sa.distinct(sa.case((_has_tag(TalentTag.RURAL_TALENT), Membership.volunteer_id))))
            .label("rural_talents"),
        )
        .join(Volunteer, Volunteer.id == Membership.volunteer_id)
        .where(_active_membership(), Volunteer.deleted.is_(False), Membership.county_code == county_code)
        .group_by(Membership.team_id)
        .subquery()
    )
    activity_counts = (
        sa.select(Activity.team_id.label("team_id"), sa.func.count().label("activities"))
        .where(Activity.deleted.is_(False), Activity.status.in_(SCHEDULED_STATUSES),
               Activity.starts_at >= start, Activity.starts_at < end, Activity.county_code == county_code)
        .group_by(Activity.team_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(Team.id, Team.name, Team.tier, Team.parent_id,
                  *(sa.func.coalesce(member_counts.c[c], 0) for c in ("members", "san_zhang", "experts",
                                                                       "rural_talents")),
                  sa.func.coalesce(activity_counts.c.activities, 0))
        .outerjoin(member_counts, member_counts.c.team_id == Team.id)
        .outerjoin(activity_counts, activity_counts.c.team_id == Team.id)
        .where(Team.county_code == county_code, Team.deleted.is_(False), Team.status == status)
        .order_by(Team.tier, Team.name)
    ).all()
    return [TeamCompliance(*row) for row in rows]


def talent_coverage(session: Session, county_code: str) -> TalentCoverage:
    """How many active volunteers of the county are 三长, experts and rural talents."""
    row = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case((sa.or_(*(_has_tag(t) for t in TalentTag if t.is_san_zhang)), 1))),
            sa.func.count(sa.case((_has_tag(TalentTag.EXPERT), 1))),
            sa.func.count(sa.case((_has_tag(TalentTag.RURAL_TALENT), 1))),
        ).where(Volunteer.county_code == county_code, Volunteer.deleted.is_(False), Volunteer.status == "active")
    ).one()
    return TalentCoverage(*row)


@dataclass
class MonthlyFigures:
    """What the monthly report to the city says, computed from the records."""

    period: str
    activities: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_venue: dict[str, int] = field(default_factory=dict)
    person_times: int = 0
    volunteers: int = 0
    hours: float = 0.0
    beneficiaries: int = 0
    new_volunteers: int = 0
    new_teams: int = 0

    @property
    def is_empty(self) -> bool:
        """No activity held: the clerk may file a nil report (本月无活动)."""
        return self.activities == 0


def monthly_figures(session: Session, county_code: str, period: str) -> MonthlyFigures:
    start, end = month_bounds(period)
    held = sa.and_(Activity.county_code == county_code, Activity.deleted.is_(False),
                   Activity.status.in_(HELD_STATUSES), Activity.starts_at >= start, Activity.starts_at < end)
    activities = session.execute(sa.select(Activity.service_kind, Activity.venue_kind, Activity.beneficiaries)
                                 .where(held)).all()
    attended = session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(Participation.volunteer_id)),
                  sa.func.coalesce(sa.func.sum(Participation.hours), 0.0))
        .join(Activity, Activity.id == Participation.activity_id)
        .where(held, Participation.deleted.is_(False), Participation.attended.is_(True))
    ).one()
    joined = sa.func.coalesce(Volunteer.joined_on, sa.cast(Volunteer.created_at, sa.Date))
    new_volunteers = session.execute(
        sa.select(sa.func.count()).where(Volunteer.county_code == county_code, Volunteer.deleted.is_(False),
                                         joined >= start.date(), joined < end.date())
    ).scalar_one()
    new_teams = session.execute(
        sa.select(sa.func.count()).where(Team.county_code == county_code, Team.deleted.is_(False),
                                         Team.founded_on >= start.date(), Team.founded_on < end.date())
    ).scalar_one()
    return MonthlyFigures(
        period=normalize_period(period),
        activities=len(activities),
        by_kind=dict(Counter(kind for kind, _, _ in activities)),
        by_venue=dict(Counter(venue for _, venue, _ in activities)),
        person_times=attended[0],
        volunteers=attended[1],
        hours=round(float(attended[2]), 2),
        beneficiaries=sum(b for _, _, b in activities),
        new_volunteers=new_volunteers,
        new_teams=new_teams,
    )


def counted_service() -> sa.ColumnElement[bool]:
    """Participation that counts as service hours: attended, confirmed by the team, in a held activity."""
    return sa.and_(Participation.deleted.is_(False), Participation.attended.is_(True),
                   Participation.hours_confirmed.is_(True), Activity.deleted.is_(False),
                   Activity.status.in_(HELD_STATUSES))


def hours_by_volunteer(session: Session, county_code: str, start: datetime | None = None,
                       end: datetime | None = None) -> dict[str, tuple[int, float]]:
    """Per volunteer of a county: (activities served, confirmed hours), for activities starting in [start, end)."""
    query = (
        sa.select(Participation.volunteer_id, sa.func.count(), sa.func.coalesce(sa.func.sum(Participation.hours), 0.0))
        .join(Activity, Activity.id == Participation.activity_id)
        .where(counted_service(), Participation.county_code == county_code)
        .group_by(Participation.volunteer_id)
    )
    if start is not None:
        query = query.where(Activity.starts_at >= start)
    if end is not None:
        query = query.where(Activity.starts_at < end)
    return {volunteer: (count, round(float(total), 2)) for volunteer, count, total in session.execute(query)}


def activity_step_error(before: str, after: str) -> FieldError | None:
    """An activity's status moves only along the workflow (草稿 → 已发布 → 进行中 → 已结束, or 已取消)."""
    if before == after:
        return None
    try:
        allowed = ACTIVITY_TRANSITIONS[ActivityStatus(before)]
        target = ActivityStatus(after)
    except ValueError:
        return FieldError("status", f"“{after}”不是有效状态 (not an activity status)")
    if target in allowed:
        return None
    source = ActivityStatus(before)
    return FieldError("status", f"活动状态不能从“{source.zh}”改为“{target.zh}” "
                                f"(an activity cannot go from {source.en} to {target.en})")


CONFIRMED_HOURS_MESSAGE = "已确认的服务时长只能通过时长更正修改 (confirmed hours change only through an hours correction)"


def confirmed_hours_error(before: Mapping[str, object], after: Mapping[str, object],
                          corrected_to: Collection[float] = ()) -> FieldError | None:
    """Confirmed hours stay as confirmed: they are not unconfirmed, and they change only to the value of an
    ``hours_correction`` of the record (``corrected_to``: the corrections' new hours)."""
    if not before.get("hours_confirmed"):
        return None
    if not after.get("hours_confirmed"):
        return FieldError("hours_confirmed", "已确认的服务时长不能取消确认 (confirmed hours cannot be unconfirmed)")
    hours = after.get("hours")
    if hours != before.get("hours") and hours not in corrected_to:
        return FieldError("hours", CONFIRMED_HOURS_MESSAGE)
    return None


def change_errors(table: str, before: Mapping[str, object], after: Mapping[str, object],
                  corrected_to: Collection[float] = ()) -> list[FieldError]:
    """What a change of a stored record (``before`` → ``after``, field values in stored or wire form) breaks
    of the domain's rules: the county's screens check these before they write, the server at every push."""
    if table == "activity":
        error = activity_step_error(str(before.get("status")), str(after.get("status")))
    elif table == "participation":
        error = confirmed_hours_error(before, after, corrected_to)
    else:
        return []
    return [] if error is None else [error]


class HoursNotConfirmed(ValueError):
    """Hours not yet confirmed are edited directly; only confirmed hours take a correction."""


def correct_hours(session: Session, participation: Participation, new_hours: float, reason: str,
                  corrected_by: str, at: datetime) -> HoursCorrection:
    """Append a correction of confirmed hours and apply it, in the caller's transaction.

    The confirmed value is never overwritten silently: the correction row keeps before, after, who, when
    and why, and travels to the city like any record. Raises ``InvalidRecord`` (e.g. no reason given).
    """
    if not participation.hours_confirmed:
        raise HoursNotConfirmed(participation.id)
    cleaned = clean_record("hours_correction", {
        "participation_id": participation.id, "old_hours": participation.hours, "new_hours": new_hours,
        "reason": reason, "corrected_by": corrected_by, "corrected_at": at})
    correction = HoursCorrection(county_code=participation.county_code, **cleaned)
    participation.hours = correction.new_hours
    session.add_all([correction, participation])
    return correction


def hours_corrections(session: Session, volunteer_id: str) -> list[tuple[str, HoursCorrection]]:
    """A volunteer's hours corrections, newest first, with the title of the activity each concerns."""
    rows = session.execute(
        sa.select(Activity.title, HoursCorrection)
        .join(Participation, Participation.id == HoursCorrection.participation_id)
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.volunteer_id == volunteer_id, HoursCorrection.deleted.is_(False))
        .order_by(HoursCorrection.corrected_at.desc())
    ).all()
    return [(title, correction) for title, correction in rows]
