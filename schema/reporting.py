"""City-wide reporting rules: which monthly reports are expected, received and on time, when a period locks.

As in DHIS2: **completeness** = reports received ÷ reports expected, **timeliness** = reports received
within N days after month end ÷ reports expected. A nil report (本月无活动) is a report. A county's
report for a month is expected once the month has ended.

The reporting calendar is data, in ``reporting_deadline`` rows that travel to every county as city-wide
reference data, so the county sees the same deadlines the city grades by:

- ``reporting_policy``: N (days to report on time) and M (days until the period locks), effective from
  ``due_on`` (a changed policy never re-grades earlier months); JSON in ``note``.
- ``monthly_report``: an explicit due date for one period (e.g. moved for the Spring Festival).
- ``period_lock``: the last day one period may be edited; with ``county_code`` 410500 for every county,
  or one county's code: how the city reopens (or locks) a period for that county only.

Without rows the defaults apply: N = 5, M = 15. Only the city writes these rows (the server refuses a
county's change to them); this module computes and builds rows, it does not write.

On the city server a report counts as received on the day (Beijing time) the server first received it as
submitted (``report_receipt``, written by a trigger), never by the county laptop's clock; a county's own
store, which has no receipts, can only show its own submission time.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from schema.enums import LabeledEnum, ReportStatus, TeamTier
from schema.errors import InvalidValue
from schema.models import CITY_CODE, Activity, MonthlyReport, Region, ReportingDeadline
from schema.regions import county_regions
from schema.rules import HELD_STATUSES, month_bounds, team_compliance
from schema.validators import normalize_period

DEFAULT_TIMELY_DAYS = 5
DEFAULT_LOCK_DAYS = 15
# A policy row effective from this day applies to every period (the defaults' own effective date).
EPOCH = date(2000, 1, 1)
RECEIVED_STATUSES = (ReportStatus.SUBMITTED.value, ReportStatus.ACCEPTED.value)
# Deadlines are calendar days in China, which keeps UTC+8 all year (no daylight saving): a fixed offset is exact.
REPORTING_TIMEZONE = timezone(timedelta(hours=8), "Asia/Shanghai")


class DeadlineKind(StrEnum):
    POLICY = "reporting_policy"
    DUE = "monthly_report"
    LOCK = "period_lock"


class CellState(LabeledEnum):
    """One county's report for one month, as the city sees it."""

    NOT_DUE = ("not_due", "未到期", "not due")  # the month has not begun: nothing is expected yet
    # Expected, not received, the due day not passed: the month in progress or the N days after it. The month in
    # progress counts as expected so that "1 of 10 counties reported" reads 10 %, not 1 of 1 = 100 %.
    PENDING = ("pending", "待报", "pending")
    MISSING = ("missing", "未报", "missing")  # expected, not received, past the due date
    LATE = ("late", "逾期报送", "late")  # received after the due date
    ON_TIME = ("on_time", "按时报送", "on time")  # received by the due date


def last_day(period: str) -> date:
    return month_bounds(period)[1].date() - timedelta(days=1)


def shift_period(period: str, months: int) -> str:
    year, month = map(int, normalize_period(period).split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def periods_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (YYYY-MM)."""
    first, last = normalize_period(first), normalize_period(last)
    if first > last:
        raise InvalidValue("period", f"{first} 晚于 {last} (the first month is after the last)")
    periods = [first]
    while periods[-1] < last:
        periods.append(shift_period(periods[-1], 1))
    return periods


@dataclass(frozen=True)
class ReportingPolicy:
    """N days after month end to report on time; M days after month end until the period locks."""

    timely_days: int = DEFAULT_TIMELY_DAYS
    lock_days: int = DEFAULT_LOCK_DAYS

    def __post_init__(self) -> None:
        if not 0 <= self.timely_days <= self.lock_days <= 366:
            raise InvalidValue("lock_days", f"需满足 0 ≤ 及时天数({self.timely_days}) ≤ 锁定天数({self.lock_days}) ≤ 366 "
                                            "(need 0 ≤ timely days ≤ lock days ≤ 366)")

    def to_note(self) -> str:
        return json.dumps({"timely_days": self.timely_days, "lock_days": self.lock_days})

    @classmethod
    def from_note(cls, note: str) -> ReportingPolicy:
        try:
            values = json.loads(note or "{}")
            return cls(int(values.get("timely_days", DEFAULT_TIMELY_DAYS)),
                       int(values.get("lock_days", DEFAULT_LOCK_DAYS)))
        except (ValueError, TypeError, AttributeError):
            raise InvalidValue("note", f"报送规则无法读取：{note!r} (unreadable reporting policy)") from None


@dataclass(frozen=True)
class PeriodDates:
    """A period's deadlines for one county: report by ``due_on``; editable through ``open_until``."""

    period: str
    due_on: date
    open_until: date

    def is_locked(self, today: date) -> bool:
        return today > self.open_until


@dataclass
class ReportingCalendar:
    """The reporting calendar read from ``reporting_deadline`` rows (see the module docstring)."""

    policies: list[tuple[date, ReportingPolicy]] = field(default_factory=list)
    due: dict[str, date] = field(default_factory=dict)
    locks: dict[tuple[str, str], date] = field(default_factory=dict)

    def policy_for(self, period: str) -> ReportingPolicy:
        """The newest policy in effect on the period's last day."""
        end = last_day(period)
        chosen = ReportingPolicy()
        for effective, policy in sorted(self.policies, key=lambda item: item[0]):
            if effective <= end:
                chosen = policy
        return chosen

    def dates(self, period: str, county_code: str) -> PeriodDates:
        period = normalize_period(period)
        policy, end = self.policy_for(period), last_day(period)
        due_on = self.due.get(period, end + timedelta(days=policy.timely_days))
        open_until = self.locks.get((county_code, period)) or self.locks.get((CITY_CODE, period))
        return PeriodDates(period, due_on, open_until or end + timedelta(days=policy.lock_days))


def calendar_from_rows(rows: Iterable[ReportingDeadline]) -> ReportingCalendar:
    calendar = ReportingCalendar()
    for row in rows:
        if row.deleted:
            continue
        if row.kind == DeadlineKind.POLICY:
            calendar.policies.append((row.due_on, ReportingPolicy.from_note(row.note)))
        elif row.kind == DeadlineKind.DUE and row.period:
            calendar.due[row.period] = row.due_on
        elif row.kind == DeadlineKind.LOCK and row.period:
            calendar.locks[(row.county_code, row.period)] = row.due_on
    return calendar


def load_calendar(session: Session) -> ReportingCalendar:
    rows = session.execute(sa.select(ReportingDeadline).where(ReportingDeadline.deleted.is_(False))).scalars()
    return calendar_from_rows(rows)


def is_period_locked(session: Session, county_code: str, period: str, today: date) -> bool:
    """Whether a county's report (and its figures) for ``period`` may no longer be edited."""
    return load_calendar(session).dates(period, county_code).is_locked(today)


def find_deadline(session: Session, kind: DeadlineKind, county_code: str, period: str) -> ReportingDeadline | None:
    return session.execute(
        sa.select(ReportingDeadline).where(ReportingDeadline.kind == kind.value,
                                           ReportingDeadline.county_code == county_code,
                                           ReportingDeadline.period == period,
                                           ReportingDeadline.deleted.is_(False))
    ).scalars().first()


def policy_row(policy: ReportingPolicy, effective_from: date) -> ReportingDeadline:
    """A new policy row; the caller writes it as the city (it then reaches every county)."""
    return ReportingDeadline(county_code=CITY_CODE, kind=DeadlineKind.POLICY.value, name="月报报送规则",
                             period="", due_on=effective_from, note=policy.to_note())


def lock_row(county_code: str, period: str, open_until: date, reason: str) -> ReportingDeadline:
    """A row that reopens (later date) or locks (earlier date) ``period`` for one county or all (410500)."""
    return ReportingDeadline(county_code=county_code, kind=DeadlineKind.LOCK.value, name="月报锁定",
                             period=normalize_period(period), due_on=open_until, note=reason[:500])


# ---- the counties × months grid ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportCell:
    county_code: str
    period: str
    state: CellState
    due_on: date
    open_until: date
    submitted_on: date | None = None
    is_nil: bool = False
    locked: bool = False

    @property
    def expected(self) -> bool:
        return self.state != CellState.NOT_DUE

    @property
    def received(self) -> bool:
        return self.state in (CellState.LATE, CellState.ON_TIME)

    @property
    def on_time(self) -> bool:
        return self.state == CellState.ON_TIME


@dataclass(frozen=True)
class Rate:
    """A share like 9 of 10; ``ratio`` is None where nothing was expected (shown as "-", not 0)."""

    count: int
    expected: int

    @property
    def ratio(self) -> float | None:
        return self.count / self.expected if self.expected else None

    def percent(self) -> str:
        return "-" if self.ratio is None else f"{self.ratio * 100:.1f}%"


@dataclass(frozen=True)
class ReportingGrid:
    periods: list[str]
    counties: list[tuple[str, str]]
    cells: dict[tuple[str, str], ReportCell]

    def cell(self, county_code: str, period: str) -> ReportCell:
        return self.cells[(county_code, period)]

    def _select(self, county_code: str | None, period: str | None) -> list[ReportCell]:
        return [c for (county, p), c in self.cells.items()
                if county_code in (None, county) and period in (None, p)]

    def completeness(self, county_code: str | None = None, period: str | None = None) -> Rate:
        cells = [c for c in self._select(county_code, period) if c.expected]
        return Rate(sum(c.received for c in cells), len(cells))

    def timeliness(self, county_code: str | None = None, period: str | None = None) -> Rate:
        cells = [c for c in self._select(county_code, period) if c.expected]
        return Rate(sum(c.on_time for c in cells), len(cells))


def expected_counties(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every unit that reports to the city: the region list below the city."""
    regions = session.execute(sa.select(Region).order_by(Region.code)).scalars().all()
    return [(r.code, r.name) for r in county_regions(list(regions))]


def _received_reports(session: Session, periods: Sequence[str]) -> dict[tuple[str, str], MonthlyReport]:
    rows = session.execute(
        sa.select(MonthlyReport).where(MonthlyReport.period.in_(list(periods)), MonthlyReport.deleted.is_(False),
                                       MonthlyReport.status.in_(RECEIVED_STATUSES))
    ).scalars()
    return {(r.county_code, r.period): r for r in rows}


def server_receipts(session: Session, report_ids: Iterable[str]) -> dict[str, datetime]:
    """When the server first received each report as submitted (UTC), from ``report_receipt``."""
    # The server's tables are imported here, not with this module: the county TUI's first screen imports this
    # module for its figures and never reads a receipt (the server models took ~0.1 s of its start).
    from schema.server_models import ReportReceipt

    ids = list(report_ids)
    if not ids:
        return {}
    rows = session.execute(sa.select(ReportReceipt.report_id, ReportReceipt.received_at)
                           .where(ReportReceipt.report_id.in_(ids))).all()
    return {report_id: received for report_id, received in rows}


def received_day(received_utc: datetime) -> date:
    """The calendar day in China of a UTC time (the server's receipt)."""
    return received_utc.replace(tzinfo=UTC).astimezone(REPORTING_TIMEZONE).date()


def _received_on(report: MonthlyReport, receipts: Mapping[str, datetime] | None) -> date:
    """The day a report counts as received: the server's receipt where there are receipts (the city), else
    the county's own submission time (its own store, or a report no trigger saw)."""
    if receipts is not None and report.id in receipts:
        return received_day(receipts[report.id])
    return (report.submitted_at or report.created_at).date()


def grade_cell(dates: PeriodDates, county_code: str, report: MonthlyReport | None, today: date,
               receipts: Mapping[str, datetime] | None = None) -> ReportCell:
    """The state of one county's report for one month on ``today``."""
    locked = dates.is_locked(today)
    if report is None:
        if today < month_bounds(dates.period)[0].date():
            state = CellState.NOT_DUE
        else:
            state = CellState.PENDING if today <= dates.due_on else CellState.MISSING
        return ReportCell(county_code, dates.period, state, dates.due_on, dates.open_until, locked=locked)
    submitted = _received_on(report, receipts)
    state = CellState.ON_TIME if submitted <= dates.due_on else CellState.LATE
    return ReportCell(county_code, dates.period, state, dates.due_on, dates.open_until, submitted, report.is_nil,
                      locked)


def reporting_grid(session: Session, periods: Sequence[str], today: date,
                   counties: Sequence[tuple[str, str]] | None = None, *, by_receipt: bool = False) -> ReportingGrid:
    """Counties × months: each county's monthly report expected / received / on time on ``today``.

    ``by_receipt`` (the city server): a report's day is the server's receipt, not the county's clock.
    """
    periods = [normalize_period(p) for p in periods]
    counties = list(counties) if counties is not None else expected_counties(session)
    calendar = load_calendar(session)
    reports = _received_reports(session, periods)
    receipts = server_receipts(session, (r.id for r in reports.values())) if by_receipt else None
    cells = {(code, period): grade_cell(calendar.dates(period, code), code, reports.get((code, period)), today,
                                        receipts)
             for code, _ in counties for period in periods}
    return ReportingGrid(periods, counties, cells)


# ---- team minimums and activities per county ---------------------------------------------------------------


@dataclass(frozen=True)
class CountyTeams:
    """A county's teams against the notice: a 大队 of ≥ 30, grassroots teams of ≥ 10, ≥ 1 activity a month."""

    county_code: str
    teams: int
    brigades: int
    brigade_members: int
    grassroots: int
    below_minimum: int
    without_activity: int

    @property
    def has_brigade(self) -> bool:
        return self.brigades > 0

    @property
    def brigade_meets_minimum(self) -> bool:
        return self.brigade_members >= TeamTier.COUNTY.minimum_members


def county_team_minimums(session: Session, counties: Sequence[str], period: str) -> list[CountyTeams]:
    result = []
    for code in counties:
        teams = team_compliance(session, code, period)
        brigades = [t for t in teams if t.tier == TeamTier.COUNTY.value]
        result.append(CountyTeams(
            county_code=code,
            teams=len(teams),
            brigades=len(brigades),
            brigade_members=max((t.members for t in brigades), default=0),
            grassroots=sum(t.tier == TeamTier.GRASSROOTS.value for t in teams),
            below_minimum=sum(not t.meets_minimum for t in teams),
            without_activity=sum(not t.meets_monthly_activity for t in teams),
        ))
    return result


@dataclass
class ActivityBreakdown:
    """Held activities of one county over some months, by service kind and by venue."""

    county_code: str
    total: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_venue: Counter[str] = field(default_factory=Counter)


def activities_by_kind_and_venue(session: Session, first: str, last: str) -> dict[str, ActivityBreakdown]:
    """Held (in progress or finished) activities per county from ``first`` to ``last`` (months, inclusive)."""
    start, end = month_bounds(first)[0], month_bounds(last)[1]
    rows = session.execute(
        sa.select(Activity.county_code, Activity.service_kind, Activity.venue_kind, sa.func.count())
        .where(Activity.deleted.is_(False), Activity.status.in_(HELD_STATUSES),
               Activity.starts_at >= start, Activity.starts_at < end)
        .group_by(Activity.county_code, Activity.service_kind, Activity.venue_kind)
    ).all()
    breakdown: dict[str, ActivityBreakdown] = defaultdict(lambda: ActivityBreakdown(""))
    for county, kind, venue, count in rows:
        item = breakdown[county]
        item.county_code = county
        item.total += count
        item.by_kind[kind] += count
        item.by_venue[venue] += count
    return dict(breakdown)



# ---- everything the city's report screen and export show, and its JSON form for the admin API ---------------


@dataclass(frozen=True)
class CityReports:
    """The city's reports for months ``first``..``last`` on ``today``; team minimums as of ``last``."""

    first: str
    last: str
    today: date
    grid: ReportingGrid
    teams: list[CountyTeams]
    activities: dict[str, ActivityBreakdown]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first, "last": self.last, "today": self.today.isoformat(),
            "counties": [list(c) for c in self.grid.counties],
            "cells": [_cell_to_dict(c) for c in self.grid.cells.values()],
            "teams": [asdict(t) for t in self.teams],
            "activities": [{"county_code": a.county_code, "total": a.total, "by_kind": dict(a.by_kind),
                            "by_venue": dict(a.by_venue)} for a in self.activities.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CityReports:
        periods = periods_between(data["first"], data["last"])
        cells = [_cell_from_dict(c) for c in data["cells"]]
        grid = ReportingGrid(periods, [(code, name) for code, name in data["counties"]],
                             {(c.county_code, c.period): c for c in cells})
        activities = {a["county_code"]: ActivityBreakdown(a["county_code"], a["total"], Counter(a["by_kind"]),
                                                          Counter(a["by_venue"])) for a in data["activities"]}
        return cls(data["first"], data["last"], date.fromisoformat(data["today"]), grid,
                   [CountyTeams(**t) for t in data["teams"]], activities)


def _cell_to_dict(cell: ReportCell) -> dict[str, Any]:
    values = asdict(cell)
    for name in ("due_on", "open_until", "submitted_on"):
        values[name] = values[name].isoformat() if values[name] else None
    values["state"] = cell.state.value
    return values


def _cell_from_dict(values: dict[str, Any]) -> ReportCell:
    dates = {name: date.fromisoformat(values[name]) if values.get(name) else None
             for name in ("due_on", "open_until", "submitted_on")}
    return ReportCell(values["county_code"], values["period"], CellState(values["state"]), dates["due_on"],
                      dates["open_until"], dates["submitted_on"], values["is_nil"], values["locked"])


def city_reports(session: Session, first: str, last: str, today: date, *, by_receipt: bool = False) -> CityReports:
    """Everything the city's reports show; ``by_receipt`` on the server (see ``reporting_grid``)."""
    periods = periods_between(first, last)
    grid = reporting_grid(session, periods, today, by_receipt=by_receipt)
    teams = county_team_minimums(session, [code for code, _ in grid.counties], periods[-1])
    return CityReports(periods[0], periods[-1], today, grid, teams,
                       activities_by_kind_and_venue(session, periods[0], periods[-1]))
