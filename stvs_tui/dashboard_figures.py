"""The dashboard's figures: what it shows (``DashboardData``), and the first reading of them with sqlite3 alone.

``stvs_tui.queries.dashboard_data`` reads them with SQLAlchemy, as every refresh does. ``plain_dashboard_data``
reads the same figures with the same statements written out in SQL, for the county TUI's first screen: it is
shown before SQLAlchemy and the models are imported (``stvs_tui.county.start``). No SQLAlchemy here.
tests/test_tui_first_figures.py holds the two readings equal on demo data.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from schema.enums import ActivityStatus, ReportStatus, SyncState, TalentTag, TeamStatus
from schema.figures import SCHEDULED_STATUSES, TalentCoverage, TeamCompliance, month_bounds
from stvs_tui.i18n import enum_label, t

# A tag filter value meaning "any of the three heads" (三长).
SAN_ZHANG = "san_zhang"


class ReportRow(Protocol):
    status: str
    sync_state: str


def report_status_text(report: ReportRow | None, last_sync: str) -> str:
    """The report's status as the clerk must read it: submitted is not delivered until a sync has brought the
    city's acknowledgement (the row is then ``synced``: the server took it and nothing of it waits to go)."""
    if report is None:
        return t("dash.report_missing")
    if report.status != ReportStatus.SUBMITTED.value:
        return enum_label(ReportStatus, report.status)
    if report.sync_state in (SyncState.ERROR.value, SyncState.CONFLICT.value):
        return t("rep.not_accepted")  # the city answered, but did not take it: the sync screen says why
    if report.sync_state != SyncState.SYNCED.value:
        return t("rep.waiting_sync")
    return t("rep.delivered", when=shown_time(last_sync)) if last_sync else t("rep.delivered_untimed")


def shown_time(iso: str) -> str:
    """An ISO timestamp as a clerk reads it: minutes, no "T"."""
    return iso[:16].replace("T", " ")


@dataclass(frozen=True)
class MonthlyTrend:
    """Activities held and hours confirmed in each of the last months, oldest first (the dashboard's charts)."""

    months: list[str]
    activities: list[int]
    hours: list[float]


@dataclass
class DashboardData:
    period: str
    teams: list[TeamCompliance]
    talents: TalentCoverage
    activities_this_month: int
    report_status: str
    report_waiting: bool
    pending_changes: int
    last_sync: str
    conflicts: int
    trend: MonthlyTrend = field(default_factory=lambda: MonthlyTrend([], [], []))

    def tier_summary(self) -> list[tuple[str, int, int, int]]:
        """(tier, teams, teams below minimum, minimum) for each tier present, top tier first."""
        summary: dict[str, list[int]] = {}
        for team in self.teams:
            entry = summary.setdefault(team.tier, [0, 0, team.minimum])
            entry[0] += 1
            entry[1] += 0 if team.meets_minimum else 1
        order = {"city": 0, "county": 1, "grassroots": 2}
        return [(tier, *summary[tier]) for tier in sorted(summary, key=lambda k: order.get(k, 9))]  # type: ignore[misc]

    @property
    def idle_teams(self) -> int:
        return sum(1 for team in self.teams if not team.meets_monthly_activity)


def previous_periods(period: str, count: int) -> list[str]:
    """The ``count`` months up to ``period`` (``YYYY-MM``), oldest first."""
    year, month = map(int, period.split("-"))
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


# -- the first reading, with sqlite3 ----------------------------------------------------------------------
# Each statement is the one SQLAlchemy makes of its counterpart (named beside it), with the same parameters:
# datetimes as SQLAlchemy stores them in SQLite, booleans as 0/1.

def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _has_tag(tags: tuple[TalentTag, ...]) -> tuple[str, list[str]]:
    """``schema.rules._has_tag`` over any of ``tags``: SQL and its parameters."""
    sql = " OR ".join("(',' || volunteer.talent_tags || ',') LIKE ?" for _ in tags)
    return f"({sql})", [f"%,{tag.value},%" for tag in tags]


_SAN_ZHANG_TAGS = tuple(tag for tag in TalentTag if tag.is_san_zhang)


def _team_compliance(db: sqlite3.Connection, county: str, period: str) -> list[TeamCompliance]:
    """``schema.rules.team_compliance`` (active teams)."""
    start, end = map(_stamp, month_bounds(period))
    san_zhang, san_zhang_args = _has_tag(_SAN_ZHANG_TAGS)
    expert, expert_args = _has_tag((TalentTag.EXPERT,))
    rural, rural_args = _has_tag((TalentTag.RURAL_TALENT,))
    statuses = ", ".join("?" * len(SCHEDULED_STATUSES))
    rows = db.execute(
        "SELECT team.id, team.name, team.tier, team.parent_id, coalesce(members.members, 0), "
        "coalesce(members.san_zhang, 0), coalesce(members.experts, 0), coalesce(members.rural_talents, 0), "
        "coalesce(activities.activities, 0) "
        "FROM team LEFT OUTER JOIN ("
        " SELECT membership.team_id AS team_id, count(DISTINCT membership.volunteer_id) AS members,"
        f" count(DISTINCT CASE WHEN {san_zhang} THEN membership.volunteer_id END) AS san_zhang,"
        f" count(DISTINCT CASE WHEN {expert} THEN membership.volunteer_id END) AS experts,"
        f" count(DISTINCT CASE WHEN {rural} THEN membership.volunteer_id END) AS rural_talents"
        " FROM membership JOIN volunteer ON volunteer.id = membership.volunteer_id"
        " WHERE membership.deleted IS 0 AND membership.left_on IS NULL AND volunteer.deleted IS 0"
        " AND membership.county_code = ? GROUP BY membership.team_id"
        ") AS members ON members.team_id = team.id LEFT OUTER JOIN ("
        " SELECT activity.team_id AS team_id, count(*) AS activities FROM activity"
        f" WHERE activity.deleted IS 0 AND activity.status IN ({statuses}) AND activity.starts_at >= ?"
        " AND activity.starts_at < ? AND activity.county_code = ? GROUP BY activity.team_id"
        ") AS activities ON activities.team_id = team.id "
        "WHERE team.county_code = ? AND team.deleted IS 0 AND team.status = ? ORDER BY team.tier, team.name",
        [*san_zhang_args, *expert_args, *rural_args, county, *SCHEDULED_STATUSES, start, end, county, county,
         TeamStatus.ACTIVE.value]).fetchall()
    return [TeamCompliance(*row) for row in rows]


def _talent_coverage(db: sqlite3.Connection, county: str) -> TalentCoverage:
    """``schema.rules.talent_coverage``."""
    san_zhang, san_zhang_args = _has_tag(_SAN_ZHANG_TAGS)
    expert, expert_args = _has_tag((TalentTag.EXPERT,))
    rural, rural_args = _has_tag((TalentTag.RURAL_TALENT,))
    row = db.execute(
        f"SELECT count(*), count(CASE WHEN {san_zhang} THEN 1 END), count(CASE WHEN {expert} THEN 1 END), "
        f"count(CASE WHEN {rural} THEN 1 END) FROM volunteer "
        "WHERE volunteer.county_code = ? AND volunteer.deleted IS 0 AND volunteer.status = ?",
        [*san_zhang_args, *expert_args, *rural_args, county, "active"]).fetchone()
    return TalentCoverage(*row)


_MONTH = "substr(CAST(activity.starts_at AS VARCHAR), 1, 7)"
_HELD = ("activity.county_code = ? AND activity.deleted IS 0 AND activity.status != ? AND activity.starts_at >= ? "
         "AND activity.starts_at < ?")


def _monthly_trend(db: sqlite3.Connection, county: str, period: str, months: int = 12) -> MonthlyTrend:
    """``stvs_tui.queries.monthly_trend``."""
    periods = previous_periods(period, months)
    held = [county, ActivityStatus.CANCELLED.value, _stamp(month_bounds(periods[0])[0]),
            _stamp(month_bounds(periods[-1])[1])]
    activities = dict(db.execute(f"SELECT {_MONTH}, count(*) FROM activity WHERE {_HELD} GROUP BY {_MONTH}",
                                 held).fetchall())
    hours = dict(db.execute(
        f"SELECT {_MONTH}, sum(participation.hours) FROM activity "
        f"JOIN participation ON participation.activity_id = activity.id WHERE {_HELD} AND participation.deleted IS 0 "
        f"AND participation.attended IS 1 AND participation.hours_confirmed IS 1 GROUP BY {_MONTH}", held).fetchall())
    return MonthlyTrend(periods, [int(activities.get(p, 0)) for p in periods],
                        [float(hours.get(p) or 0.0) for p in periods])


@dataclass(frozen=True)
class _Report:
    status: str
    sync_state: str


def plain_dashboard_data(db: sqlite3.Connection, county: str, period: str) -> DashboardData:
    """``stvs_tui.queries.dashboard_data`` with the sync status of ``sync.status.sync_status``, read with sqlite3."""
    found = db.execute("SELECT status, sync_state FROM monthly_report WHERE county_code = ? AND period = ? "
                       "AND deleted IS 0 LIMIT 1", (county, period)).fetchone()
    report = _Report(*found) if found else None
    start, end = map(_stamp, month_bounds(period))
    activities = db.execute(f"SELECT count(*) FROM activity WHERE {_HELD}",
                            (county, ActivityStatus.CANCELLED.value, start, end)).fetchone()[0]
    # sync.status.sync_status
    issues = dict(db.execute("SELECT status, COUNT(*) FROM sync_issue GROUP BY status").fetchall())
    last = db.execute("SELECT value FROM sync_checkpoint WHERE key = 'last_sync_at'").fetchone()
    last_sync = (last[0] if last else None) or ""
    pending = db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT tbl, row_id FROM change_log)").fetchone()[0]
    return DashboardData(
        period=period, teams=_team_compliance(db, county, period), talents=_talent_coverage(db, county),
        activities_this_month=activities, report_status=report_status_text(report, last_sync),
        report_waiting=report is not None and report.status == ReportStatus.SUBMITTED.value
        and report.sync_state != SyncState.SYNCED.value,
        pending_changes=pending, last_sync=last_sync, conflicts=int(issues.get("conflict", 0)),
        trend=_monthly_trend(db, county, period),
    )
