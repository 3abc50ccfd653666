"""The dashboard's figures: what it shows (``DashboardData``), and the first reading of them with sqlite3 alone.

``stvs_tui.queries.dashboard_data`` reads them with SQLAlchemy, as every refresh does. ``plain_dashboard_data``
reads the same figures with the same statements written out in SQL, for the county TUI's first screen: it is
shown before SQLAlchemy and the models are imported (``stvs_tui.county.start``). No SQLAlchemy here. The slow ones
are read in one statement answering one row (``read_slow_figures``), and kept between runs (``dashboard_cache``).
tests/test_tui_first_figures.py holds the two readings equal on demo data; tests/test_dashboard_cache.py the kept
figures to the ones read afresh.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import astuple, dataclass, field
from datetime import datetime
from typing import Any, Protocol

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


def _team_compliance(county: str, period: str) -> tuple[str, list[Any]]:
    """``schema.rules.team_compliance`` (active teams): a statement answering them as one JSON array
    (``_teams_of`` reads it)."""
    start, end = map(_stamp, month_bounds(period))
    san_zhang, san_zhang_args = _has_tag(_SAN_ZHANG_TAGS)
    expert, expert_args = _has_tag((TalentTag.EXPERT,))
    rural, rural_args = _has_tag((TalentTag.RURAL_TALENT,))
    statuses = ", ".join("?" * len(SCHEDULED_STATUSES))
    return (
        "SELECT json_group_array(json_array(c0, c1, c2, c3, c4, c5, c6, c7, c8)) FROM ("
        "SELECT team.id AS c0, team.name AS c1, team.tier AS c2, team.parent_id AS c3, "
        "coalesce(members.members, 0) AS c4, coalesce(members.san_zhang, 0) AS c5, "
        "coalesce(members.experts, 0) AS c6, coalesce(members.rural_talents, 0) AS c7, "
        "coalesce(activities.activities, 0) AS c8 "
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
        "WHERE team.county_code = ? AND team.deleted IS 0 AND team.status = ?)",
        [*san_zhang_args, *expert_args, *rural_args, county, *SCHEDULED_STATUSES, start, end, county, county,
         TeamStatus.ACTIVE.value])


def _teams_of(answer: str) -> list[TeamCompliance]:
    """The teams in the order of ``schema.rules.team_compliance`` (tier, name): SQLite's BINARY order is UTF-8's
    byte order, which is the code points' order, Python's for str (an aggregate need not keep a given order)."""
    return [TeamCompliance(*row) for row in sorted(json.loads(answer), key=lambda row: (row[2], row[1]))]


def _talent_coverage(county: str) -> tuple[str, list[Any]]:
    """``schema.rules.talent_coverage``: a statement answering it as a JSON array."""
    san_zhang, san_zhang_args = _has_tag(_SAN_ZHANG_TAGS)
    expert, expert_args = _has_tag((TalentTag.EXPERT,))
    rural, rural_args = _has_tag((TalentTag.RURAL_TALENT,))
    return (
        f"SELECT json_array(count(*), count(CASE WHEN {san_zhang} THEN 1 END), count(CASE WHEN {expert} THEN 1 END), "
        f"count(CASE WHEN {rural} THEN 1 END)) FROM volunteer "
        "WHERE volunteer.county_code = ? AND volunteer.deleted IS 0 AND volunteer.status = ?",
        [*san_zhang_args, *expert_args, *rural_args, county, "active"])


_MONTH = "substr(CAST(activity.starts_at AS VARCHAR), 1, 7)"
_HELD = ("activity.county_code = ? AND activity.deleted IS 0 AND activity.status != ? AND activity.starts_at >= ? "
         "AND activity.starts_at < ?")
_PENDING = "SELECT COUNT(*) FROM (SELECT DISTINCT tbl, row_id FROM change_log)"


def _held(county: str, periods: list[str]) -> list[Any]:
    return [county, ActivityStatus.CANCELLED.value, _stamp(month_bounds(periods[0])[0]),
            _stamp(month_bounds(periods[-1])[1])]


def _monthly_activities(county: str, periods: list[str]) -> tuple[str, list[Any]]:
    """``stvs_tui.queries.monthly_trend``'s activities held a month: a statement answering them as a JSON object."""
    return (f"SELECT json_group_object(month, held) FROM (SELECT {_MONTH} AS month, count(*) AS held FROM activity "
            f"WHERE {_HELD} GROUP BY {_MONTH})", _held(county, periods))


def _monthly_hours(county: str, periods: list[str]) -> tuple[str, list[Any]]:
    """``stvs_tui.queries.monthly_trend``'s confirmed hours a month, summed as that statement sums them: a common
    table of the sums (``g``: month, hours) for the statement that reads them (its sums stay floats: through JSON
    or text they would come back at 15-16 digits, not always the same float)."""
    return (f"g AS MATERIALIZED (SELECT {_MONTH} AS month, sum(participation.hours) AS hours FROM activity "
            f"JOIN participation ON participation.activity_id = activity.id WHERE {_HELD} AND participation.deleted IS 0 "
            f"AND participation.attended IS 1 AND participation.hours_confirmed IS 1 GROUP BY {_MONTH})",
            _held(county, periods))


def read_slow_figures(db: sqlite3.Connection, county: str, period: str, months: int = 12) -> SlowFigures:
    """The slow figures read afresh, in one statement answering one row: the teams, talents and activities a month
    as JSON, the count waiting to sync, the hours of each month. Beside the start's imports, sqlite3 takes Python's
    lock back for each row it hands over: the team table's 780 rows took ~3× the statement's own time (~190 ms of
    wall time against ~65 of CPU), the 12 months' hours ~80 ms against ~20."""
    periods = previous_periods(period, months)
    hours_table, hours_args = _monthly_hours(county, periods)
    parts = [_team_compliance(county, period), _talent_coverage(county), _monthly_activities(county, periods)]
    teams, talents, held, pending, *hours = db.execute(
        f"WITH {hours_table} SELECT " + ", ".join(f"({sql})" for sql, _ in parts) + f", ({_PENDING}), "
        + ", ".join("(SELECT hours FROM g WHERE month = ?)" for _ in periods),
        [*hours_args, *(arg for _, args in parts for arg in args), *periods]).fetchone()
    activities = json.loads(held)
    trend = MonthlyTrend(periods, [int(activities.get(p, 0)) for p in periods], [float(h or 0.0) for h in hours])
    return SlowFigures(_teams_of(teams), TalentCoverage(*json.loads(talents)), trend, pending)


# -- the slow figures kept from their last reading (migration 0018) ----------------------------------------
# The team table, talent counts, trend and waiting count are the ~130 ms of the first screen's reading at 20k
# volunteers; the rest is a few indexed lookups. They are kept in ``dashboard_cache`` with the fingerprint of
# the store they were read from and used again only under the same fingerprint.

# Raise when what the kept figures mean changes (the statements above, TeamCompliance's fields, the trend's months):
# figures kept by an older version are then read afresh.
CACHE_FORMAT = 1
# Every write that can change the slow figures moves one of these: a write to a synced table outside the sync
# engine adds to the change log (capture triggers); a hand edit with the sync guard up adds to row_recheck; the
# sync engine raises ``generation`` in each of its write transactions (it is what deletes from either log); a
# migration moves the revision.
_FINGERPRINT = ("SELECT (SELECT generation FROM dashboard_cache WHERE id = 1), (SELECT max(seq) FROM change_log), "
                "(SELECT count(*) FROM change_log), (SELECT max(rowid) FROM row_recheck), "
                "(SELECT count(*) FROM row_recheck), (SELECT version_num FROM alembic_version)")


@dataclass(frozen=True)
class SlowFigures:
    teams: list[TeamCompliance]
    talents: TalentCoverage
    trend: MonthlyTrend
    pending_changes: int

    def encoded(self) -> str:
        return json.dumps([[astuple(team) for team in self.teams], astuple(self.talents),
                           [self.trend.months, self.trend.activities, self.trend.hours], self.pending_changes],
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decoded(cls, text: str) -> SlowFigures:
        teams, talents, trend, pending = json.loads(text)
        return cls([TeamCompliance(*team) for team in teams], TalentCoverage(*talents), MonthlyTrend(*trend),
                   int(pending))

    @classmethod
    def of(cls, data: DashboardData) -> SlowFigures:
        return cls(data.teams, data.talents, data.trend, data.pending_changes)


def fingerprint(row: tuple[object, ...], county: str, period: str) -> str:
    """The key the slow figures of ``county``'s ``period`` are kept under: ``row`` is what ``_FINGERPRINT`` read."""
    return json.dumps([CACHE_FORMAT, county, period, *row], separators=(",", ":"))


def read_fingerprint(db: sqlite3.Connection, county: str, period: str) -> str:
    return fingerprint(db.execute(_FINGERPRINT).fetchone(), county, period)


def kept_figures(db: sqlite3.Connection, key: str) -> SlowFigures | None:
    """The slow figures kept under ``key``; None when the store has changed since they were read (or none are
    kept, or the store predates the cache)."""
    try:
        found = db.execute("SELECT figures FROM dashboard_cache WHERE id = 1 AND fingerprint = ?", (key,)).fetchone()
        return SlowFigures.decoded(found[0]) if found else None
    except (sqlite3.Error, ValueError, TypeError):  # a kept value this version cannot read: read afresh
        return None


def keep_figures(db: sqlite3.Connection, key: str, figures: SlowFigures) -> None:
    """Keep ``figures`` read under ``key``. Best effort: a store on read-only media, or held by another writer for
    more than a moment (a long import, a sync), is simply not given them; the caller does not wait for it."""
    waited = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout = 100")
    try:
        db.execute("UPDATE dashboard_cache SET fingerprint = ?, figures = ? WHERE id = 1", (key, figures.encoded()))
    except sqlite3.Error:
        pass
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(waited)}")


@dataclass(frozen=True)
class _Report:
    status: str
    sync_state: str


def plain_slow_figures(db: sqlite3.Connection, county: str, period: str) -> tuple[SlowFigures, str | None]:
    """The slow figures, kept ones when the store has not changed since; with the key to keep them under when they
    were read afresh (None: kept ones, or the store changed while they were read)."""
    before = read_fingerprint(db, county, period)
    kept = kept_figures(db, before)
    if kept is not None:
        return kept, None
    figures = read_slow_figures(db, county, period)
    # (a plain connection reads each statement in its own snapshot: a write in between changes the fingerprint)
    return figures, before if read_fingerprint(db, county, period) == before else None


def plain_dashboard_data(db: sqlite3.Connection, county: str, period: str,
                         slow: SlowFigures | None = None) -> DashboardData:
    """``stvs_tui.queries.dashboard_data`` with the sync status of ``sync.status.sync_status``, read with sqlite3;
    ``slow``: the slow figures (``plain_slow_figures``: kept ones when nothing changed), read afresh when not given."""
    if slow is None:
        slow = read_slow_figures(db, county, period)
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
    return DashboardData(
        period=period, teams=slow.teams, talents=slow.talents,
        activities_this_month=activities, report_status=report_status_text(report, last_sync),
        report_waiting=report is not None and report.status == ReportStatus.SUBMITTED.value
        and report.sync_state != SyncState.SYNCED.value,
        pending_changes=slow.pending_changes, last_sync=last_sync, conflicts=int(issues.get("conflict", 0)),
        trend=slow.trend,
    )
