"""What the city admin reads beside the decisions: who sent each value and upload, search over the queue and the
audit trail (resolved items), a per-county summary, and the duplicate persons a bundle import brought to light.

- Senders: a device by its node id, the label it was enrolled with (``node_key.label``) and the label of the
  token it synced with (``sync_token.label``, the clerk or office the city issued it to). The value the server
  held when a conflict opened was written by the node that sent that version (``server_change.origin_node``).
- Search: a person's name (part of it), full ID number or mobile, a team's name or an activity's title (part),
  or words of the reason / the deciding admin's label; matched in SQL with bound parameters (``LIKE`` escaped),
  so odd text is only text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.models import Activity, Team, Volunteer
from schema.reporting import expected_counties, shift_period
from schema.server_models import NodeKey, ReportReceipt, ServerChange, SyncToken
from schema.validators import mask_id_number
from sync.admin_protocol import CountySummary, Sender, SummaryPage
from sync.city_queue import DUPLICATE_PERSON
from sync.push import BATCH, CONFLICT, NODE
from sync.serverdb import ServerDB
from sync.subjects import LINKS, county_names

TOKEN = SyncToken.__table__  # type: ignore[attr-defined]
KEY = NodeKey.__table__  # type: ignore[attr-defined]
CHANGE = ServerChange.__table__  # type: ignore[attr-defined]
RECEIPT = ReportReceipt.__table__  # type: ignore[attr-defined]
VOLUNTEER, TEAM, ACTIVITY = Volunteer.__table__, Team.__table__, Activity.__table__  # type: ignore[attr-defined]


# ---- senders ----------------------------------------------------------------------------------------------


def senders(connection: Connection, nodes: Iterable[str]) -> dict[str, Sender]:
    """node id → its sender (device label and token label where the server knows them)."""
    wanted = {n for n in nodes if n}
    if not wanted:
        return {}
    keys = {r.node_id: r for r in connection.execute(sa.select(KEY.c.node_id, KEY.c.label, KEY.c.token_id)
                                                    .where(KEY.c.node_id.in_(wanted)))}
    seen = dict(connection.execute(sa.select(NODE.c.node_id, NODE.c.token_id).where(NODE.c.node_id.in_(wanted))).all())
    token_ids = {seen.get(n) or (keys[n].token_id if n in keys else "") for n in wanted} - {""}
    labels = dict(connection.execute(sa.select(TOKEN.c.id, TOKEN.c.label).where(TOKEN.c.id.in_(token_ids))).all()) \
        if token_ids else {}
    found = {}
    for node in wanted:
        key = keys.get(node)
        token = seen.get(node) or (key.token_id if key else "")
        found[node] = Sender(node_id=node, device_label=key.label if key else "", token_label=labels.get(token, ""))
    return found


def value_senders(connection: Connection, items: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """Conflict id → (node that sent the server's value, node that sent this upload).

    A field conflict's first value came with the row's ``server_version``; a duplicate person's two records were
    last written by their own devices (``updated_by``); the city's own items name no device."""
    found: dict[str, tuple[str, str]] = {}
    for item in items:
        if item.kind == DUPLICATE_PERSON:
            first, later = item.fields["id"]["server"], item.fields["id"]["incoming"]
            writers = dict(connection.execute(sa.select(VOLUNTEER.c.id, VOLUNTEER.c.updated_by)
                                              .where(VOLUNTEER.c.id.in_([first, later]))).all())
            found[item.id] = (writers.get(first, ""), writers.get(later, ""))
            continue
        origin = connection.execute(sa.select(CHANGE.c.origin_node).where(
            CHANGE.c.tbl == item.table, CHANGE.c.row_id == item.row_id, CHANGE.c.version == item.server_version)
            .limit(1)).scalar()
        found[item.id] = (origin or "", item.node_id)
    return found


# ---- search -----------------------------------------------------------------------------------------------


def search_where(text: str) -> sa.ColumnElement[bool]:
    """Items about a person (name, full ID number or mobile), a team or an activity (name / title), or whose
    reason or deciding admin contains ``text``. Link rows (memberships…) match through the person or team."""
    words = text.strip()
    people = sa.select(VOLUNTEER.c.id).where(sa.or_(
        VOLUNTEER.c.name.contains(words, autoescape=True), VOLUNTEER.c.id_number == words.upper(),
        VOLUNTEER.c.mobile == words))
    teams = sa.select(TEAM.c.id).where(TEAM.c.name.contains(words, autoescape=True))
    activities = sa.select(ACTIVITY.c.id).where(ACTIVITY.c.title.contains(words, autoescape=True))
    ends = {"volunteer_id": people, "team_id": teams, "activity_id": activities}
    matches = [sa.and_(CONFLICT.c.tbl == "volunteer", CONFLICT.c.row_id.in_(people)),
               sa.and_(CONFLICT.c.tbl == "team", CONFLICT.c.row_id.in_(teams)),
               sa.and_(CONFLICT.c.tbl == "activity", CONFLICT.c.row_id.in_(activities)),
               CONFLICT.c.reason.contains(words, autoescape=True),
               CONFLICT.c.resolved_by.contains(words, autoescape=True)]
    for table, (link, columns) in LINKS.items():
        rows = sa.select(link.c.id).where(sa.or_(*(link.c[c].in_(ends[c]) for c in columns)))
        matches.append(sa.and_(CONFLICT.c.tbl == table, CONFLICT.c.row_id.in_(rows)))
    return sa.or_(*matches)


def resolved_between(first: date | None, last: date | None) -> list[sa.ColumnElement[bool]]:
    """Resolved on ``first`` … ``last`` (whole days, server time)."""
    where = []
    if first:
        where.append(CONFLICT.c.resolved_at >= datetime.combine(first, time()))
    if last and last < date.max:
        where.append(CONFLICT.c.resolved_at < datetime.combine(last + timedelta(days=1), time()))
    return where


# ---- per-county summary -----------------------------------------------------------------------------------


def county_summary(db: ServerDB, today: date, months: int = 6) -> SummaryPage:
    """Every expected county: open conflicts, last upload, last report received, and per month the uploads and
    conflicts received over the ``months`` months up to ``today``'s."""
    this_month = f"{today.year:04d}-{today.month:02d}"
    periods = [shift_period(this_month, n - months + 1) for n in range(months)]
    start = datetime.fromisoformat(f"{periods[0]}-01")
    from sqlmodel import Session

    with Session(db.engine) as session:  # the region list is there from the database's opening (serverdb)
        counties = expected_counties(session)
    with db.read() as connection:
        names = county_names(connection)
        open_counts = dict(connection.execute(sa.select(CONFLICT.c.county_code, sa.func.count())
                                              .where(CONFLICT.c.status == "open")
                                              .group_by(CONFLICT.c.county_code)).all())
        last_upload = dict(connection.execute(sa.select(BATCH.c.county_code, sa.func.max(BATCH.c.received_at))
                                              .group_by(BATCH.c.county_code)).all())
        last_report = {r.county_code: r for r in connection.execute(
            sa.select(RECEIPT.c.county_code, RECEIPT.c.period, RECEIPT.c.received_at)
            .order_by(RECEIPT.c.received_at))}
        uploads = _per_month(connection.execute(sa.select(BATCH.c.county_code, BATCH.c.received_at)
                                                .where(BATCH.c.received_at >= start)))
        conflicts = _per_month(connection.execute(sa.select(CONFLICT.c.county_code, CONFLICT.c.created_at)
                                                  .where(CONFLICT.c.created_at >= start)))
    rows = []
    for code, name in counties:
        report = last_report.get(code)
        rows.append(CountySummary(
            county_code=code, county_name=names.get(code, name), open_conflicts=int(open_counts.get(code, 0)),
            last_upload=_when(last_upload.get(code)), last_report=_when(report.received_at if report else None),
            last_report_period=report.period if report else "",
            uploads=[uploads.get((code, p), 0) for p in periods],
            conflicts=[conflicts.get((code, p), 0) for p in periods]))
    return SummaryPage(months=periods, counties=rows)


def _per_month(rows: Iterable[Any]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for county, when in rows:
        key = (county, f"{when.year:04d}-{when.month:02d}")
        counts[key] = counts.get(key, 0) + 1
    return counts


def _when(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="minutes") if value else ""


# ---- duplicate persons opened by an import ----------------------------------------------------------------


def open_duplicate_ids(db: ServerDB) -> set[str]:
    with db.read() as connection:
        return set(connection.execute(sa.select(CONFLICT.c.id).where(CONFLICT.c.kind == DUPLICATE_PERSON)).scalars())


def describe_duplicates(db: ServerDB, ids: Iterable[str]) -> list[dict[str, str]]:
    """Each duplicate-person item named: the person (ID masked) and the two counties by name."""
    wanted = sorted(ids)
    if not wanted:
        return []
    with db.read() as connection:
        names = county_names(connection)
        items = connection.execute(sa.select(CONFLICT.c.id, CONFLICT.c.fields).where(CONFLICT.c.id.in_(wanted))
                                   .order_by(CONFLICT.c.created_at, CONFLICT.c.id)).all()
        described = []
        for item in items:
            fields = json.loads(item.fields)
            person = connection.execute(sa.select(VOLUNTEER.c.name, VOLUNTEER.c.id_number)
                                        .where(VOLUNTEER.c.id == fields["id"]["incoming"])).first()
            first, later = fields["county_code"]["server"], fields["county_code"]["incoming"]
            described.append({"conflict_id": item.id, "name": person.name if person else "",
                              "id_number": mask_id_number(person.id_number) if person else "",
                              "first_county": names.get(first, first), "later_county": names.get(later, later)})
    return described
