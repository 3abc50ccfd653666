"""The figures the dashboard and the report count, as plain values, and the month arithmetic they share: no
SQLAlchemy here, so that the county TUI's first screen (read with sqlite3, ``stvs_tui.dashboard_figures``) builds
the same values as ``schema.rules`` does with SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from schema.enums import ActivityStatus, TeamTier
from schema.validators import normalize_period

# Activities that count for a month: held ones for the report, scheduled ones for the dashboard check.
HELD_STATUSES = (ActivityStatus.IN_PROGRESS.value, ActivityStatus.FINISHED.value)
SCHEDULED_STATUSES = (ActivityStatus.PUBLISHED.value, *HELD_STATUSES)


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of a ``YYYY-MM`` month."""
    year, month = map(int, normalize_period(period).split("-"))
    start = datetime(year, month, 1)
    end = datetime(year + month // 12, month % 12 + 1, 1)
    return start, end


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


_MINIMUM_MEMBERS = {tier.value: tier.minimum_members for tier in TeamTier}


@dataclass(frozen=True)
class TeamCompliance:
    """One team against the notice's rules: minimum size and at least one activity a month."""

    team_id: str
    name: str
    tier: str
    parent_id: str | None
    members: int
    san_zhang: int
    experts: int
    rural_talents: int
    activities_in_month: int

    @property
    def minimum(self) -> int:
        return _MINIMUM_MEMBERS[self.tier]  # TeamTier(tier).minimum_members, without the enum lookup (780 teams)

    @property
    def meets_minimum(self) -> bool:
        return self.members >= self.minimum

    @property
    def meets_monthly_activity(self) -> bool:
        return self.activities_in_month >= 1


@dataclass(frozen=True)
class TalentCoverage:
    volunteers: int
    san_zhang: int
    experts: int
    rural_talents: int
