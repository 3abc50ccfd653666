"""What a county may not change at push, whatever its own store says: the city's reporting calendar, and the
monthly report of a month that has locked. Only the city reopens a month (DOMAIN.md "Reporting")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from schema.reporting import REPORTING_TIMEZONE, ReportingCalendar, load_calendar
from sync.auth import Caller

CITY_OWNED_TABLES = frozenset({"reporting_deadline"})


class PeriodGuard:
    """Per push batch: refuses county writes the reporting rules forbid; reads the calendar once, if needed."""

    def __init__(self, connection: Connection, caller: Caller, today: date | None = None) -> None:
        self.connection, self.caller = connection, caller
        self.today = today or datetime.now(REPORTING_TIMEZONE).date()
        self._calendar: ReportingCalendar | None = None

    def refusal(self, table: str, record: Mapping[str, Any]) -> tuple[str, str] | None:
        """``(reason code, message)`` when the change must be rejected, else None."""
        if self.caller.is_admin:
            return None
        if table in CITY_OWNED_TABLES:
            return "city_owned", "报送日历由市科协维护，县区不能修改 (the reporting calendar is kept by the city)"
        if table == "monthly_report" and self._locked(str(record.get("county_code")), str(record.get("period"))):
            return "period_locked", (f"{record.get('period')} 月报已锁定，须由市科协重新开放后才能修改 "
                                     "(the month is locked: only the city can reopen it)")
        return None

    def _locked(self, county_code: str, period: str) -> bool:
        if self._calendar is None:
            self._calendar = load_calendar(Session(bind=self.connection))
        return self._calendar.dates(period, county_code).is_locked(self.today)
