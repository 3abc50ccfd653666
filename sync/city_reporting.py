"""The city's reporting work on the server: city reports from the server's records, and period locks
(reopen or lock a month for one county or all) written as calendar rows that every county pulls."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Connection
from sqlmodel import Session

from schema.errors import InvalidValue
from schema.reporting import CityReports, DeadlineKind, city_reports, find_deadline, lock_row
from sync.city_writes import insert_as_city, update_as_city
from sync.records import row_to_wire
from sync.serverdb import ServerDB

# Reports cover the years the city can have records for, at most ten years at a time (each month is a
# column of the grid and a query per county: an unbounded range is a denial of service, and year 0 has no
# calendar at all).
FIRST_YEAR, LAST_YEAR = 1990, 2100
MAX_MONTHS = 120


def check_report_range(first: str, last: str, today: date) -> None:
    """Raise ``InvalidValue`` (422 at the API) unless ``first``..``last`` (YYYY-MM) is a range we report on."""
    bounds = f"{FIRST_YEAR}-01 … {LAST_YEAR}-12"
    months: list[int] = []
    for name, period in (("first", first), ("last", last)):
        year, _, month = period.partition("-")
        if not (year.isdigit() and month.isdigit() and FIRST_YEAR <= int(year) <= LAST_YEAR
                and 1 <= int(month) <= 12):
            raise InvalidValue(name, f"“{period}”须为 {bounds} 之间的月份 (a month YYYY-MM within {bounds})")
        months.append(int(year) * 12 + int(month) - 1)
    if months[0] > months[1]:
        raise InvalidValue("first", f"{first} 晚于 {last} (the first month is after the last)")
    if months[1] - months[0] + 1 > MAX_MONTHS:
        raise InvalidValue("last", f"一次最多 {MAX_MONTHS} 个月 (at most {MAX_MONTHS} months at a time)")
    if not FIRST_YEAR <= today.year <= LAST_YEAR:
        raise InvalidValue("today", f"“{today}”须在 {FIRST_YEAR}–{LAST_YEAR} 年之间 (a day within {FIRST_YEAR}–{LAST_YEAR})")


def server_city_reports(db: ServerDB, first: str, last: str, today: date) -> CityReports:
    check_report_range(first, last, today)
    with Session(db.engine) as session:  # the region list is there from the database's opening (serverdb)
        # Timeliness by the server's own receipt of each report, never the county laptop's clock.
        return city_reports(session, first, last, today, by_receipt=True)


def set_period_lock(db: ServerDB, county_code: str, period: str, open_until: date, reason: str, by: str) -> str:
    """Reopen (a later day) or lock (an earlier day) ``period`` for ``county_code`` (410500: every county).

    Returns the calendar row's id; the row is a new version the county pulls, so its store enforces the
    same lock the city grades by.
    """
    row = lock_row(county_code, period, open_until, reason)
    with Session(db.engine) as session:
        existing = find_deadline(session, DeadlineKind.LOCK, county_code, row.period)
        existing_id = existing.id if existing else None
    values = {"due_on": open_until.isoformat(), "note": row.note}

    def write(connection: Connection) -> str:
        if existing_id:
            update_as_city(db, connection, "reporting_deadline", existing_id, values, by)
            return existing_id
        fresh = row_to_wire("reporting_deadline", row.model_dump())
        return insert_as_city(db, connection, "reporting_deadline",
                              {k: v for k, v in fresh.items() if k != "deleted"}, by)

    return db.run_write(write)

