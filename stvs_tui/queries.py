"""The county TUI's reads and writes, as plain functions over a session (no Textual here).

Lists are read a page at a time (LIMIT/OFFSET, newest first by rowid so a page stops early) and counted
separately; writes set the store's county on new records and leave sync metadata to the triggers.
"""

from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from schema.enums import (
    ActivityStatus,
    DemandStatus,
    MemberRole,
    ReportStatus,
    SyncState,
    TalentTag,
    TeamStatus,
)
from schema.models import (
    TABLE_MODELS,
    Activity,
    Commendation,
    Demand,
    HoursCorrection,
    Membership,
    MonthlyReport,
    Participation,
    Region,
    Team,
    Volunteer,
)
from schema.reporting import is_period_locked
from schema.rules import (
    MonthlyFigures,
    TeamCompliance,
    active_memberships,
    activity_step_error,
    hours_cap,
    hours_corrections,
    month_bounds,
    monthly_figures,
    planned_hours,
    star_level,
    talent_coverage,
    team_compliance,
    volunteer_hours,
)
from schema.rules import correct_hours as rules_correct_hours
from schema.validators import mask_id_number
from stvs_tui.dashboard_figures import (  # noqa: F401  (named here by their users)
    SAN_ZHANG,
    DashboardData,
    MonthlyTrend,
    previous_periods,
    report_status_text,
    shown_time,
)
from stvs_tui.i18n import language
from sync.status import SyncStatus

_ID_FRAGMENT = re.compile(r"[0-9]+[xX]?")


class WorkflowError(ValueError):
    """A step the record's state does not allow (e.g. confirming hours of a cancelled activity)."""


def team_label() -> sa.ColumnElement[str]:
    """A team's name as lists show it: a dissolved team says so, wherever it appears."""
    mark = f"（{TeamStatus.DISSOLVED.label(language())}）" if language() == "zh" else \
        f" ({TeamStatus.DISSOLVED.label(language())})"
    return sa.case((Team.status == TeamStatus.DISSOLVED.value, Team.name + mark), else_=Team.name)


def shown_team_name(team: Team | None) -> str:
    if team is None:
        return ""
    if team.status != TeamStatus.DISSOLVED.value:
        return team.name
    label = TeamStatus.DISSOLVED.label(language())
    return f"{team.name}（{label}）" if language() == "zh" else f"{team.name} ({label})"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has_tag(tag: str) -> sa.ColumnElement[bool]:
    return (sa.literal(",") + Volunteer.talent_tags + sa.literal(",")).like(f"%,{tag},%")


def _current_member() -> sa.ColumnElement[bool]:
    return sa.and_(Membership.deleted.is_(False), Membership.left_on.is_(None))


# ---------------------------------------------------------------- regions and settings

def _count(session: Session, model: type[SQLModel], where: list[sa.ColumnElement[bool]]) -> int:
    """How many rows of ``model`` a list's filter matches (the pager's total)."""
    return session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def counties(session: Session) -> list[Region]:
    """Regions a county store may belong to: every region below the city."""
    return list(session.exec(select(Region).where(Region.parent_code.is_not(None)).order_by(Region.code)))


# ---------------------------------------------------------------- volunteers

# What the volunteer filter looks in, one narrow row per volunteer (migration 0014, kept by triggers on
# ``volunteer``): ``rid`` is the volunteer's rowid; ``digits`` the mobile and the parts of the ID number the list
# shows (``mask_id_number``), apart with spaces, upper case: a fragment never matches the hidden digits or runs
# across the parts.
VOLUNTEER_SEARCH = sa.table(
    "volunteer_search", sa.column("rid", sa.Integer), sa.column("name", sa.String), sa.column("digits", sa.String),
    sa.column("county_code", sa.String), sa.column("deleted", sa.Integer))
# The migration's ``digits``, over ``volunteer`` (to fill the table again).
SEARCH_DIGITS = ("upper(mobile || ' ' || CASE WHEN length(id_number) > 8 THEN substr(id_number, 1, 6) || ' ' || "
                 "substr(id_number, -4) WHEN length(id_number) > 2 THEN substr(id_number, 1, 1) || ' ' || "
                 "substr(id_number, -1) ELSE '' END)")


def rebuild_volunteer_search(connection: sa.Connection) -> None:
    """Fill ``volunteer_search`` again from ``volunteer``, inside the caller's transaction: for a store whose
    rowids were renumbered behind the triggers' back (restored from a ``.dump``)."""
    connection.exec_driver_sql("DELETE FROM volunteer_search")
    connection.exec_driver_sql(
        "INSERT INTO volunteer_search (rid, name, digits, county_code, deleted) "
        f"SELECT rowid, name, {SEARCH_DIGITS}, county_code, deleted FROM volunteer")


# Stores whose ``volunteer_search`` was checked against ``volunteer`` in this process (see ensure_volunteer_search).
_SEARCH_CHECKED: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def ensure_volunteer_search(session: Session) -> bool:
    """Check, once per store and process, that ``volunteer_search`` holds one row per volunteer under its current
    rowid, and fill it again if not; True when it was refilled. The triggers keep it whoever writes a row, but a
    store restored from a ``.dump`` (or a VACUUM, which may renumber the rowids of a table without an INTEGER
    PRIMARY KEY) moves the rowids behind their back, and a filter would then show the wrong people or miss the
    right ones. Both renumber the rows 1..n in their order, which changes the highest rowid wherever a hard
    delete had left a gap (and changes nothing where none had): so the count, the lowest and the highest rowid on
    both sides, each answered by SQLite without a scan (a few ms at 100k volunteers, once)."""
    engine = session.get_bind()
    if not isinstance(engine, sa.Engine) or engine in _SEARCH_CHECKED:
        return False
    ours = session.execute(sa.text("SELECT (SELECT count(*) FROM volunteer), (SELECT min(rowid) FROM volunteer), "
                                   "(SELECT max(rowid) FROM volunteer)")).one()
    kept = session.execute(sa.text("SELECT (SELECT count(*) FROM volunteer_search), (SELECT min(rid) FROM "
                                   "volunteer_search), (SELECT max(rid) FROM volunteer_search)")).one()
    refilled = tuple(ours) != tuple(kept)
    if refilled:
        with engine.begin() as connection:
            rebuild_volunteer_search(connection)
    _SEARCH_CHECKED.add(engine)
    return refilled


@dataclass(frozen=True)
class VolunteerFilter:
    text: str = ""
    tag: str = ""
    team_id: str = ""
    team_name: str = ""

    @property
    def narrows(self) -> bool:
        """Whether the filter keeps only some rows (then a scan and a sort of the matches beats an index walk)."""
        return bool(self.text.strip() or self.tag or self.team_id or self.team_name.strip())

    @property
    def searches(self) -> bool:
        """Whether the filter has text: then ``volunteer_search`` is scanned, not the volunteer rows."""
        return bool(self.text.strip())

    def search_conditions(self, county_code: str) -> list[sa.ColumnElement[bool]]:
        """The text on ``volunteer_search``: digits (an ID number's last may be X, in either case) are looked for
        in the mobile and the shown parts of the ID number, anything else in the name. instr (a plain substring
        search, cheaper than LIKE) comes first: the county and the deleted flag are read for its matches only."""
        search = VOLUNTEER_SEARCH.c
        where: list[sa.ColumnElement[bool]] = []
        text = self.text.strip()
        if _ID_FRAGMENT.fullmatch(text):
            where.append(sa.func.instr(search.digits, text.upper()) > 0)
        elif text:
            where.append(sa.func.instr(search.name, text) > 0)
        return [*where, search.county_code == county_code, search.deleted == 0]

    def conditions(self, county_code: str, indexed: bool = False) -> list[sa.ColumnElement[bool]]:
        """Conditions on ``volunteer``: its county, and the tag and team filters (the text is
        ``search_conditions``', on ``volunteer_search``, which has said the county already)."""
        # ``|| ''`` keeps SQLite off the county index (every row of a county store matches it): a plain scan
        # in rowid order lets ORDER BY rowid DESC LIMIT stop early instead of sorting every match. ``indexed``
        # (a sort by a column, nothing filtered) names the county plainly so that the list's index on
        # (county_code, deleted, column) gives the order and OFFSET skips through the index alone.
        where: list[sa.ColumnElement[bool]] = []
        if not self.searches:
            county = Volunteer.county_code if indexed else Volunteer.county_code + ""
            where += [county == county_code, Volunteer.deleted.is_(False)]
        if self.tag == SAN_ZHANG:
            where.append(sa.or_(*(_has_tag(tag.value) for tag in TalentTag if tag.is_san_zhang)))
        elif self.tag:
            where.append(_has_tag(self.tag))
        if self.team_id:
            where.append(Volunteer.id.in_(select(Membership.volunteer_id)
                                          .where(Membership.team_id == self.team_id, _current_member())))
        if self.team_name.strip():
            teams = select(Team.id).where(Team.name.like(_like(self.team_name.strip()), escape="\\"))
            where.append(Volunteer.id.in_(select(Membership.volunteer_id)
                                          .where(Membership.team_id.in_(teams), _current_member())))
        return where


@dataclass(frozen=True)
class VolunteerRow:
    id: str
    name: str
    sex: str
    masked_id: str
    mobile: str
    work_unit: str
    talent_tags: str
    stvs_status: str
    teams: str


# The shown part of an ID number as one sortable string (``mask_id_number``'s visible characters), written
# exactly as migration 0010's index on it, so SQLite orders by the index: a list sorted by the ID column is
# never ordered by the hidden digits.
VISIBLE_ID_ORDER = ("CASE WHEN length(id_number) > 8 THEN substr(id_number, 1, 6) || substr(id_number, -4) "
                    "WHEN length(id_number) > 2 THEN substr(id_number, 1, 1) || substr(id_number, -1) ELSE '' END")


@dataclass(frozen=True)
class ListSort:
    """A list's order: ``column`` (a key of the list's sortable columns; None: the list's own order),
    ``descending``, and ``reverse`` (the same order read from its end, for a window near the last row)."""

    column: str | None = None
    descending: bool = False
    reverse: bool = False


UNSORTED = ListSort()


def sort_terms(sort: ListSort, columns: dict[str, Any], default: list[Any], rowid: str) -> list[Any]:
    """ORDER BY for a list: the sort column then the rowid, so the order is total and OFFSET windows never
    overlap or skip; without a column, ``default`` (each term descending: newest first). ``reverse`` flips
    every term."""
    if sort.column is None:
        terms, descending = [*default, sa.literal_column(f"{rowid}.rowid")], True
    else:
        terms, descending = [columns[sort.column], sa.literal_column(f"{rowid}.rowid")], sort.descending
    if sort.reverse:
        descending = not descending
    return [term.desc() if descending else term.asc() for term in terms]


VOLUNTEER_SORTS: dict[str, Any] = {
    "name": Volunteer.name, "sex": Volunteer.sex, "id_number": sa.literal_column(VISIBLE_ID_ORDER),
    "mobile": Volunteer.mobile, "work_unit": Volunteer.work_unit, "talent_tags": Volunteer.talent_tags,
    "stvs_status": Volunteer.stvs_status,
}


def _volunteers(flt: VolunteerFilter, county_code: str, *columns: Any, indexed: bool = False) -> sa.Select[Any]:
    """SELECT ``columns`` of the volunteers ``flt`` matches. With text, ``volunteer_search`` is scanned in the
    list's order (newest first) and each match's volunteer row is read by its rowid: the search table is the
    outer loop, so the scan for a page stops at the page's last match."""
    query = sa.select(*columns)
    if flt.searches:
        search = VOLUNTEER_SEARCH
        query = query.select_from(search.join(Volunteer, sa.literal_column("volunteer.rowid") == search.c.rid)) \
            .where(*flt.search_conditions(county_code))
    else:
        query = query.select_from(Volunteer)
    return query.where(*flt.conditions(county_code, indexed))


def volunteer_page(session: Session, county_code: str, flt: VolunteerFilter, offset: int,
                   limit: int, sort: ListSort = UNSORTED) -> list[VolunteerRow]:
    teams = (select(sa.func.group_concat(team_label(), "、"))
             .join(Membership, Membership.team_id == Team.id)
             .where(Membership.volunteer_id == Volunteer.id, _current_member())
             .scalar_subquery())
    if flt.searches:
        ensure_volunteer_search(session)
    indexed = sort.column is not None and not flt.narrows
    query = _volunteers(flt, county_code, Volunteer.id, Volunteer.name, Volunteer.sex, Volunteer.id_number,
                        Volunteer.mobile, Volunteer.work_unit, Volunteer.talent_tags, Volunteer.stvs_status, teams,
                        indexed=indexed)
    # With text, the order's rowid is the search table's (the same number), the order its scan reads.
    rowid = "volunteer_search" if flt.searches else "volunteer"
    rows = session.execute(query.order_by(*sort_terms(sort, VOLUNTEER_SORTS, [], rowid)).offset(offset).limit(limit)
                           ).all()
    return [VolunteerRow(r[0], r[1], r[2], mask_id_number(r[3]), r[4], r[5], r[6], r[7], r[8] or "")
            for r in rows]


def volunteer_count(session: Session, county_code: str, flt: VolunteerFilter) -> int:
    if flt.searches:
        ensure_volunteer_search(session)
    if flt.searches and not (flt.tag or flt.team_id or flt.team_name.strip()):
        # Text alone: the search table answers by itself.
        return session.execute(sa.select(sa.func.count()).select_from(VOLUNTEER_SEARCH)
                               .where(*flt.search_conditions(county_code))).scalar_one()
    # Unfiltered, the count reads a list index (county, deleted, name) instead of every row.
    return session.execute(_volunteers(flt, county_code, sa.func.count(), indexed=not flt.narrows)).scalar_one()


@dataclass(frozen=True)
class Resolution:
    """The city's decision on a conflict of this record, as the last sync brought it (see sync.resolutions)."""

    resolved_by: str
    resolved_on: str
    reason: str
    values: dict[str, Any]


def record_resolution(session: Session, table: str, row_id: str) -> Resolution | None:
    """The record's "resolved" sync mark, if any; a newer conflict or error mark replaces it."""
    message = session.execute(sa.text(
        "SELECT message FROM sync_issue WHERE tbl = :t AND row_id = :r AND status = 'resolved'"),
        {"t": table, "r": row_id}).scalar()
    try:
        data = json.loads(message) if message else None
    except ValueError:
        return None  # a mark this version cannot read is not worth failing the record's screen for
    if not isinstance(data, dict):
        return None
    values = data.get("resolution")
    return Resolution(resolved_by=str(data.get("resolved_by") or ""), resolved_on=str(data.get("resolved_at") or "")[:10],
                      reason=str(data.get("reason") or ""), values=values if isinstance(values, dict) else {})


@dataclass
class VolunteerDetail:
    volunteer: Volunteer
    hours: float
    stars: int
    memberships: list[tuple[str, str, date | None]] = field(default_factory=list)
    services: list[tuple[str, datetime, float, bool]] = field(default_factory=list)
    commendations: list[Commendation] = field(default_factory=list)
    corrections: list[tuple[str, HoursCorrection]] = field(default_factory=list)
    resolution: Resolution | None = None


def volunteer_detail(session: Session, volunteer_id: str) -> VolunteerDetail:
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise WorkflowError(volunteer_id)
    hours = volunteer_hours(session, volunteer_id)
    memberships = session.execute(
        sa.select(team_label(), Membership.role, Membership.joined_on)
        .join(Team, Team.id == Membership.team_id)
        .where(Membership.volunteer_id == volunteer_id, _current_member())
        .order_by(Membership.joined_on)
    ).all()
    services = session.execute(
        sa.select(Activity.title, Activity.starts_at, Participation.hours, Participation.hours_confirmed)
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.volunteer_id == volunteer_id, Participation.deleted.is_(False),
               Participation.attended.is_(True))
        .order_by(Activity.starts_at.desc()).limit(50)
    ).all()
    commendations = list(session.exec(select(Commendation).where(
        Commendation.volunteer_id == volunteer_id, Commendation.deleted.is_(False))
        .order_by(Commendation.awarded_on.desc())))
    return VolunteerDetail(volunteer, hours, star_level(hours), [tuple(m) for m in memberships],
                           [tuple(s) for s in services], commendations, hours_corrections(session, volunteer_id),
                           record_resolution(session, "volunteer", volunteer_id))


def _save(session: Session, table: str, county_code: str, record_id: str | None, values: dict[str, Any]) -> Any:
    model = TABLE_MODELS[table]
    record = session.get(model, record_id) if record_id else model(county_code=county_code, **values)
    if record is None:
        raise WorkflowError(record_id)
    for name, value in values.items():
        setattr(record, name, value)
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def save_volunteer(session: Session, county_code: str, volunteer_id: str | None, values: dict[str, Any]) -> Volunteer:
    return _save(session, "volunteer", county_code, volunteer_id, values)


def add_commendation(session: Session, county_code: str, values: dict[str, Any]) -> Commendation:
    return _save(session, "commendation", county_code, None, values)


def id_number_taken(session: Session, county_code: str, id_number: str, except_id: str | None) -> bool:
    query = select(Volunteer.id).where(Volunteer.county_code == county_code, Volunteer.id_number == id_number,
                                       Volunteer.deleted.is_(False))
    if except_id:
        query = query.where(Volunteer.id != except_id)
    return session.exec(query).first() is not None


# ---------------------------------------------------------------- teams

def teams_overview(session: Session, county_code: str, period: str, dissolved: bool = False) -> list[TeamCompliance]:
    """The county's active teams, or its dissolved ones."""
    status = TeamStatus.DISSOLVED if dissolved else TeamStatus.ACTIVE
    return team_compliance(session, county_code, period, status=status.value)


@dataclass(frozen=True)
class MemberRow:
    membership_id: str
    volunteer_id: str
    name: str
    role: str
    talent_tags: str
    mobile: str
    joined_on: date | None


@dataclass
class TeamDetail:
    team: Team
    members: list[MemberRow]


def team_detail(session: Session, team_id: str) -> TeamDetail:
    team = session.get(Team, team_id)
    if team is None:
        raise WorkflowError(team_id)
    role_order = sa.case({MemberRole.LEADER.value: 0, MemberRole.DEPUTY.value: 1}, value=Membership.role, else_=2)
    rows = session.execute(
        sa.select(Membership.id, Volunteer.id, Volunteer.name, Membership.role, Volunteer.talent_tags,
                  Volunteer.mobile, Membership.joined_on)
        .join(Volunteer, Volunteer.id == Membership.volunteer_id)
        .where(Membership.team_id == team_id, _current_member(), Volunteer.deleted.is_(False))
        .order_by(role_order, Membership.joined_on, Volunteer.name)
    ).all()
    return TeamDetail(team, [MemberRow(*row) for row in rows])


def save_team(session: Session, county_code: str, team_id: str | None, values: dict[str, Any]) -> Team:
    return _save(session, "team", county_code, team_id, values)


def restore_team(session: Session, team_id: str) -> Team:
    """A dissolved team active again (its members were never removed)."""
    return _set_team_status(session, team_id, TeamStatus.ACTIVE, None)


def dissolve_team(session: Session, team_id: str, today: date) -> Team:
    return _set_team_status(session, team_id, TeamStatus.DISSOLVED, today)


def _set_team_status(session: Session, team_id: str, status: TeamStatus, dissolved_on: date | None) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise WorkflowError(team_id)
    team.status = status.value
    team.dissolved_on = dissolved_on
    session.add(team)
    session.commit()
    return team


def team_choices(session: Session, county_code: str) -> list[tuple[str, str]]:
    """(name, id) of the county's active teams, for pickers."""
    rows = session.execute(sa.select(Team.name, Team.id).where(
        Team.county_code == county_code, Team.deleted.is_(False), Team.status == TeamStatus.ACTIVE.value)
        .order_by(Team.tier, Team.name)).all()
    return [(name, team_id) for name, team_id in rows]


def current_member_ids(session: Session, team_id: str) -> set[str]:
    return set(session.exec(select(Membership.volunteer_id).where(Membership.team_id == team_id, _current_member())))


def add_members(session: Session, county_code: str, team_id: str, volunteer_ids: list[str], today: date) -> int:
    """Add volunteers to a team as members; those already in it are skipped."""
    present = current_member_ids(session, team_id)
    added = 0
    for volunteer_id in volunteer_ids:
        if volunteer_id in present:
            continue
        session.add(Membership(county_code=county_code, team_id=team_id, volunteer_id=volunteer_id,
                               role=MemberRole.MEMBER.value, joined_on=today))
        added += 1
    session.commit()
    return added


def set_member_role(session: Session, membership_id: str, role: str) -> None:
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise WorkflowError(membership_id)
    membership.role = role
    session.add(membership)
    session.commit()


def remove_member(session: Session, membership_id: str, today: date) -> None:
    """A member leaves: the membership keeps its history with a leaving date."""
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise WorkflowError(membership_id)
    membership.left_on = max(today, membership.joined_on or today)
    session.add(membership)
    session.commit()


def membership_counts(session: Session, volunteer_ids: list[str]) -> dict[str, int]:
    return {vid: active_memberships(session, vid) for vid in volunteer_ids}


# ---------------------------------------------------------------- activities

@dataclass(frozen=True)
class ActivityFilter:
    text: str = ""
    period: str = ""
    team_id: str = ""
    status: str = ""

    def conditions(self, county_code: str) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = [Activity.county_code == county_code, Activity.deleted.is_(False)]
        if self.text.strip():
            pattern = _like(self.text.strip())
            where.append(sa.or_(Activity.title.like(pattern, escape="\\"), Activity.place.like(pattern, escape="\\")))
        if self.period:
            start, end = month_bounds(self.period)
            where.extend([Activity.starts_at >= start, Activity.starts_at < end])
        if self.team_id:
            where.append(Activity.team_id == self.team_id)
        if self.status:
            where.append(Activity.status == self.status)
        return where


@dataclass(frozen=True)
class ActivityRow:
    id: str
    title: str
    team: str
    service_kind: str
    venue_kind: str
    starts_at: datetime
    status: str
    signed_up: int


def _signed_up() -> sa.ScalarSelect[int]:
    return (select(sa.func.count()).select_from(Participation)
            .where(Participation.activity_id == Activity.id, Participation.deleted.is_(False)).scalar_subquery())


def activity_sorts() -> dict[str, Any]:
    return {"title": Activity.title, "team": team_label(), "service_kind": Activity.service_kind,
            "venue_kind": Activity.venue_kind, "starts_at": Activity.starts_at, "status": Activity.status,
            "signed_up": _signed_up()}


def activity_page(session: Session, county_code: str, flt: ActivityFilter, offset: int, limit: int,
                  sort: ListSort = UNSORTED) -> list[ActivityRow]:
    rows = session.execute(
        sa.select(Activity.id, Activity.title, team_label(), Activity.service_kind, Activity.venue_kind,
                  Activity.starts_at, Activity.status, _signed_up())
        # (outer: an activity whose team was hard-deleted in the sqlite3 shell is still listed, and counted)
        .outerjoin(Team, Team.id == Activity.team_id)
        .where(*flt.conditions(county_code))
        .order_by(*sort_terms(sort, activity_sorts(), [Activity.starts_at], "activity"))
        .offset(offset).limit(limit)
    ).all()
    return [ActivityRow(*row) for row in rows]


def activity_count(session: Session, county_code: str, flt: ActivityFilter) -> int:
    return _count(session, Activity, flt.conditions(county_code))


@dataclass(frozen=True)
class ParticipantRow:
    participation_id: str
    volunteer_id: str
    name: str
    attended: bool | None
    hours: float
    confirmed: bool
    evaluation: str = ""


@dataclass
class ActivityDetail:
    activity: Activity
    team_name: str
    participants: list[ParticipantRow]
    resolution: Resolution | None = None

    @property
    def default_hours(self) -> float:
        """Hours an attendee is credited by default: the activity's planned duration."""
        return planned_hours(self.activity.starts_at, self.activity.ends_at)

    @property
    def hours_cap(self) -> float:
        return hours_cap(self.activity.starts_at, self.activity.ends_at)


def activity_detail(session: Session, activity_id: str) -> ActivityDetail:
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise WorkflowError(activity_id)
    team = session.get(Team, activity.team_id)
    rows = session.execute(
        sa.select(Participation.id, Volunteer.id, Volunteer.name, Participation.attended, Participation.hours,
                  Participation.hours_confirmed, Participation.evaluation)
        .join(Volunteer, Volunteer.id == Participation.volunteer_id)
        .where(Participation.activity_id == activity_id, Participation.deleted.is_(False))
        .order_by(Participation.signed_up_at, Volunteer.name)
    ).all()
    return ActivityDetail(activity, shown_team_name(team), [ParticipantRow(*row) for row in rows],
                          record_resolution(session, "activity", activity_id))


def save_activity(session: Session, county_code: str, activity_id: str | None, values: dict[str, Any]) -> Activity:
    return _save(session, "activity", county_code, activity_id, values)


def change_status(session: Session, activity_id: str, target: ActivityStatus) -> Activity:
    """Move an activity along its workflow; a step the workflow does not allow is refused."""
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise WorkflowError(activity_id)
    if activity_step_error(activity.status, target.value) is not None:  # the rule the server applies too
        raise WorkflowError(activity.status)
    if target is ActivityStatus.FINISHED:
        unconfirmed = session.exec(select(sa.func.count()).select_from(Participation).where(
            Participation.activity_id == activity_id, Participation.deleted.is_(False),
            Participation.attended.is_(True), Participation.hours_confirmed.is_(False))).one()
        if unconfirmed:
            raise WorkflowError("unconfirmed")
    activity.status = target.value
    session.add(activity)
    session.commit()
    return activity


def signed_up_ids(session: Session, activity_id: str) -> set[str]:
    return set(session.exec(select(Participation.volunteer_id).where(
        Participation.activity_id == activity_id, Participation.deleted.is_(False))))


def sign_up(session: Session, county_code: str, activity_id: str, volunteer_ids: list[str], now: datetime) -> int:
    present = signed_up_ids(session, activity_id)
    added = 0
    for volunteer_id in volunteer_ids:
        if volunteer_id not in present:
            session.add(Participation(county_code=county_code, activity_id=activity_id, volunteer_id=volunteer_id,
                                      signed_up_at=now))
            added += 1
    session.commit()
    return added


def record_attendance(session: Session, participation_id: str, attended: bool, hours: float,
                      note: str | None = None) -> Participation:
    """Attendance and hours before confirmation; confirmed hours are not overwritten, and no one is credited
    more than 24 hours a day of the activity (``note`` replaces the evaluation note when given)."""
    participation = session.get(Participation, participation_id)
    if participation is None:
        raise WorkflowError(participation_id)
    if participation.hours_confirmed:
        raise WorkflowError("confirmed")
    activity = session.get(Activity, participation.activity_id)
    if activity is not None and attended and hours > hours_cap(activity.starts_at, activity.ends_at):
        raise WorkflowError("hours_over_cap")
    participation.attended = attended
    participation.hours = hours if attended else 0.0
    if note is not None:
        participation.evaluation = note
    session.add(participation)
    session.commit()
    return participation


def correct_hours(session: Session, participation_id: str, new_hours: float, reason: str, corrected_by: str,
                  now: datetime) -> HoursCorrection:
    """Append a correction of confirmed hours and apply it, in one transaction."""
    participation = session.get(Participation, participation_id)
    if participation is None:
        raise WorkflowError(participation_id)
    correction = rules_correct_hours(session, participation, new_hours, reason, corrected_by, now)
    session.commit()
    return correction


def confirm_hours(session: Session, activity_id: str, confirmed_by: str) -> int:
    """The organising team confirms every attendee's hours (absentees are marked as such)."""
    rows = list(session.exec(select(Participation).where(
        Participation.activity_id == activity_id, Participation.deleted.is_(False),
        Participation.hours_confirmed.is_(False))))
    confirmed = 0
    for participation in rows:
        if participation.attended:
            participation.hours_confirmed = True
            participation.confirmed_by = confirmed_by
            confirmed += 1
        elif participation.attended is None:
            participation.attended = False
        session.add(participation)
    session.commit()
    return confirmed


def complete_activity(session: Session, activity_id: str, values: dict[str, Any]) -> Activity:
    """Record the publicity summary and beneficiaries, then finish the activity."""
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise WorkflowError(activity_id)
    for name, value in values.items():
        setattr(activity, name, value)
    session.add(activity)
    session.commit()
    return change_status(session, activity_id, ActivityStatus.FINISHED)


# ---------------------------------------------------------------- demands

@dataclass(frozen=True)
class DemandRow:
    id: str
    requesting_unit: str
    need: str
    wanted_service_kind: str
    wanted_on: date | None
    status: str
    activity: str


def _demand_conditions(county_code: str, text: str) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Demand.county_code == county_code, Demand.deleted.is_(False)]
    if text.strip():
        pattern = _like(text.strip())
        where.append(sa.or_(Demand.requesting_unit.like(pattern, escape="\\"), Demand.need.like(pattern, escape="\\")))
    return where


DEMAND_SORTS: dict[str, Any] = {
    "requesting_unit": Demand.requesting_unit, "need": Demand.need, "wanted_service_kind": Demand.wanted_service_kind,
    "wanted_on": Demand.wanted_on, "status": Demand.status, "activity": sa.func.coalesce(Activity.title, ""),
}


def demand_page(session: Session, county_code: str, text: str, offset: int, limit: int,
                sort: ListSort = UNSORTED) -> list[DemandRow]:
    rows = session.execute(
        sa.select(Demand.id, Demand.requesting_unit, Demand.need, Demand.wanted_service_kind, Demand.wanted_on,
                  Demand.status, sa.func.coalesce(Activity.title, ""))
        .outerjoin(Activity, Activity.id == Demand.activity_id)
        .where(*_demand_conditions(county_code, text))
        .order_by(*sort_terms(sort, DEMAND_SORTS, [], "demand")).offset(offset).limit(limit)
    ).all()
    return [DemandRow(*row) for row in rows]


def demand_count(session: Session, county_code: str, text: str) -> int:
    return _count(session, Demand, _demand_conditions(county_code, text))


def save_demand(session: Session, county_code: str, demand_id: str | None, values: dict[str, Any]) -> Demand:
    return _save(session, "demand", county_code, demand_id, values)


def link_demand(session: Session, demand_id: str, activity_id: str) -> Demand:
    return _save(session, "demand", "", demand_id, {"activity_id": activity_id, "status": DemandStatus.MATCHED.value})


def close_demand(session: Session, demand_id: str) -> Demand:
    return _save(session, "demand", "", demand_id, {"status": DemandStatus.CLOSED.value})


# ---------------------------------------------------------------- monthly report

@dataclass
class ReportState:
    figures: MonthlyFigures
    report: MonthlyReport | None
    # Past its lock day in the city's reporting calendar (pulled from the city): only the city reopens it.
    period_locked: bool = False
    last_sync: str = ""  # when the last sync ended (ISO), "" before the first


def report_state(session: Session, county_code: str, period: str, today: date | None = None) -> ReportState:
    report = session.exec(select(MonthlyReport).where(MonthlyReport.county_code == county_code,
                                                      MonthlyReport.period == period,
                                                      MonthlyReport.deleted.is_(False))).first()
    locked = today is not None and is_period_locked(session, county_code, period, today)
    last_sync = session.execute(sa.text("SELECT value FROM sync_checkpoint WHERE key = 'last_sync_at'")).scalar()
    return ReportState(monthly_figures(session, county_code, period), report, locked, last_sync or "")


def _report_values(figures: MonthlyFigures, nil: bool, highlights: str) -> dict[str, Any]:
    return {
        "is_nil": nil, "activities": figures.activities,
        "by_kind": json.dumps(figures.by_kind, ensure_ascii=False, sort_keys=True),
        "by_venue": json.dumps(figures.by_venue, ensure_ascii=False, sort_keys=True),
        "person_times": figures.person_times, "volunteers": figures.volunteers, "hours": figures.hours,
        "beneficiaries": figures.beneficiaries, "new_volunteers": figures.new_volunteers,
        "new_teams": figures.new_teams, "highlights": highlights,
    }


def save_report(session: Session, county_code: str, period: str, *, nil: bool, highlights: str,
                submit_by: str | None = None, now: datetime | None = None, today: date | None = None) -> MonthlyReport:
    """Write the month's report from freshly computed figures; ``submit_by`` also submits it.

    A nil report (本月无活动) is only allowed for a month with no activity held; a submitted report is locked.
    """
    state = report_state(session, county_code, period, today or (now or datetime.now()).date())
    if state.report is not None and state.report.status in (ReportStatus.SUBMITTED.value, ReportStatus.ACCEPTED.value):
        raise WorkflowError("locked")
    if state.period_locked:
        raise WorkflowError("period_locked")
    if nil and not state.figures.is_empty:
        raise WorkflowError("nil")
    values = _report_values(state.figures, nil, highlights)
    if submit_by is not None:
        values |= {"status": ReportStatus.SUBMITTED.value, "submitted_by": submit_by, "submitted_at": now}
    report = state.report or MonthlyReport(county_code=county_code, period=period)
    for name, value in values.items():
        setattr(report, name, value)
    session.add(report)
    session.commit()
    session.refresh(report)
    return report


# ---------------------------------------------------------------- dashboard

def monthly_trend(session: Session, county_code: str, period: str, months: int = 12) -> MonthlyTrend:
    """Per month of the last ``months`` up to ``period``: activities held (not cancelled) and confirmed hours of
    those months' activities, two grouped queries over the activity's start."""
    periods = previous_periods(period, months)
    start, end = month_bounds(periods[0])[0], month_bounds(periods[-1])[1]
    month = sa.func.substr(sa.cast(Activity.starts_at, sa.String), 1, 7).label("month")
    held = (Activity.county_code == county_code, Activity.deleted.is_(False),
            Activity.status != ActivityStatus.CANCELLED.value, Activity.starts_at >= start, Activity.starts_at < end)
    activities = dict(session.execute(sa.select(month, sa.func.count()).where(*held).group_by(month)).all())
    hours = dict(session.execute(
        sa.select(month, sa.func.sum(Participation.hours)).join(Participation, Participation.activity_id == Activity.id)
        .where(*held, Participation.deleted.is_(False), Participation.attended.is_(True),
               Participation.hours_confirmed.is_(True)).group_by(month)).all())
    return MonthlyTrend(periods, [int(activities.get(p, 0)) for p in periods],
                        [float(hours.get(p) or 0.0) for p in periods])


def dashboard_data(session: Session, county_code: str, period: str, sync: SyncStatus) -> DashboardData:
    report = session.exec(select(MonthlyReport).where(MonthlyReport.county_code == county_code,
                                                      MonthlyReport.period == period,
                                                      MonthlyReport.deleted.is_(False))).first()
    start, end = month_bounds(period)
    activities = session.execute(sa.select(sa.func.count()).select_from(Activity).where(
        Activity.county_code == county_code, Activity.deleted.is_(False),
        Activity.status != ActivityStatus.CANCELLED.value,
        Activity.starts_at >= start, Activity.starts_at < end)).scalar_one()
    return DashboardData(
        period=period, teams=team_compliance(session, county_code, period),
        talents=talent_coverage(session, county_code), activities_this_month=activities,
        report_status=report_status_text(report, sync.last_sync_at),
        report_waiting=report is not None and report.status == ReportStatus.SUBMITTED.value
        and report.sync_state != SyncState.SYNCED.value,
        pending_changes=sync.unsynced_changes, last_sync=sync.last_sync_at,
        conflicts=sync.conflicts_waiting, trend=monthly_trend(session, county_code, period),
    )


