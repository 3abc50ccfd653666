"""Who or what a queue item or an upload row is about, by name: the city admin decides about people, not UUIDs.

A subject is the person's name with the ID number masked (``张三 410522********1234``), a team's name, an
activity's title, or a link row named by both ends (``张三 410522********1234 · 义诊``). Tombstoned rows keep
their names, so a deleted record is still named. The county's name comes from the region list.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.models import (
    Activity,
    Commendation,
    Membership,
    MonthlyReport,
    Participation,
    Region,
    Team,
    Volunteer,
)
from schema.regions import read_regions
from schema.validators import mask_id_number

VOLUNTEER, TEAM, ACTIVITY = Volunteer.__table__, Team.__table__, Activity.__table__  # type: ignore[attr-defined]
# Link tables: named by the rows they join (column → table of that row).
LINKS = {
    "membership": (Membership.__table__, ("volunteer_id", "team_id")),  # type: ignore[attr-defined]
    "participation": (Participation.__table__, ("volunteer_id", "activity_id")),  # type: ignore[attr-defined]
    "commendation": (Commendation.__table__, ("volunteer_id", "team_id")),  # type: ignore[attr-defined]
}
TARGET = {"volunteer_id": "volunteer", "team_id": "team", "activity_id": "activity"}


def _person(name: str, id_number: str) -> str:
    return f"{name} {mask_id_number(id_number)}".strip()


def _names(connection: Connection, table: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    if table == "volunteer":
        rows = connection.execute(sa.select(VOLUNTEER.c.id, VOLUNTEER.c.name, VOLUNTEER.c.id_number)
                                  .where(VOLUNTEER.c.id.in_(ids)))
        return {r.id: _person(r.name, r.id_number) for r in rows}
    if table == "team":
        return {i: n for i, n in connection.execute(sa.select(TEAM.c.id, TEAM.c.name).where(TEAM.c.id.in_(ids))).all()}
    if table == "activity":
        return {i: n for i, n in connection.execute(sa.select(ACTIVITY.c.id, ACTIVITY.c.title)
                                                    .where(ACTIVITY.c.id.in_(ids))).all()}
    if table == "monthly_report":
        report = MonthlyReport.__table__  # type: ignore[attr-defined]
        return {i: p for i, p in connection.execute(sa.select(report.c.id, report.c.period)
                                                    .where(report.c.id.in_(ids))).all()}
    if table in LINKS:
        return _link_names(connection, table, ids)
    return {}


def _link_names(connection: Connection, table: str, ids: set[str]) -> dict[str, str]:
    link, columns = LINKS[table]
    rows = connection.execute(sa.select(link.c.id, *(link.c[c] for c in columns)).where(link.c.id.in_(ids))).all()
    ends = {column: _names(connection, TARGET[column], {r._mapping[column] for r in rows} - {None})
            for column in columns}
    return {r.id: " · ".join(ends[c][r._mapping[c]] for c in columns if r._mapping[c] in ends[c]) for r in rows}


def subjects(connection: Connection, rows: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """``(table, row id)`` → the subject's name, for the rows that have one."""
    wanted: dict[str, set[str]] = {}
    for table, row_id in rows:
        wanted.setdefault(table, set()).add(row_id)
    found: dict[tuple[str, str], str] = {}
    for table, ids in wanted.items():
        found.update({(table, row_id): name for row_id, name in _names(connection, table, ids).items() if name})
    return found


def county_names(connection: Connection) -> dict[str, str]:
    """Code → name from the region list (安阳县 for 410522): the city's own, else the shipped one (the server
    installs it on first need, as the reports do; here it is only read)."""
    loaded = {code: name for code, name in connection.execute(sa.select(Region.code, Region.name)).all()}
    return loaded or {region.code: region.name for region in read_regions()}
