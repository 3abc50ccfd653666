"""The city's reporting work on the server: city reports from the server's records, and period locks
(reopen or lock a month for one county or all) written as calendar rows that every county pulls."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from schema.models import Region
from schema.regions import install_regions, read_regions
from schema.reporting import CityReports, DeadlineKind, city_reports, find_deadline, lock_row
from sync.city_writes import insert_as_city, update_as_city
from sync.records import row_to_wire
from sync.serverdb import ServerDB


def server_city_reports(db: ServerDB, first: str, last: str, today: date) -> CityReports:
    with Session(db.engine) as session:
        if session.execute(sa.select(Region.code).limit(1)).first() is None:
            install_regions(session, read_regions())  # the shipped list, until the city loads its own
        return city_reports(session, first, last, today)


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

