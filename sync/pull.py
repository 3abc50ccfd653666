"""Server side of a pull: what changed in the caller's partitions after a change-sequence checkpoint.

The high-water mark is read first and rows are served only up to it; because sequence numbers are
allocated and committed under one lock, every number at or below a visible one is final, so a pull can
never skip a change that commits later.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.models import SYNCED_TABLES
from sync.auth import Caller
from sync.hlc import wall_ms
from sync.partition import SERVER_CHANGE, county_digest, needs_refresh, read_digest
from sync.protocol import NoopProbe, PulledRecord, PullResponse
from sync.push import CONFLICT, check_node, chunks, touch_node
from sync.records import row_to_wire, table_of
from sync.serverdb import ServerDB


def _in_partitions(caller: Caller) -> sa.ColumnElement[bool]:
    partitions = caller.partitions()
    return sa.true() if partitions is None else SERVER_CHANGE.c.county_code.in_(partitions)


def high_water_mark(connection: Connection, caller: Caller) -> int:
    partitions = caller.partitions()
    if partitions is None:
        return int(connection.execute(sa.select(sa.func.max(SERVER_CHANGE.c.seq))).scalar() or 0)
    marks = [connection.execute(sa.select(sa.func.max(SERVER_CHANGE.c.seq))
                                .where(SERVER_CHANGE.c.county_code == county)).scalar() or 0
             for county in partitions]
    return int(max(marks))


def read_pull(db: ServerDB, caller: Caller, node_id: str, since: int, limit: int) -> PullResponse:
    with db.read() as connection:
        if node_id:
            check_node(connection, node_id, caller)
        mark = high_water_mark(connection, caller)
        entries = connection.execute(
            sa.select(SERVER_CHANGE.c.seq, SERVER_CHANGE.c.tbl, SERVER_CHANGE.c.row_id)
            .where(_in_partitions(caller), SERVER_CHANGE.c.seq > since, SERVER_CHANGE.c.seq <= mark,
                   SERVER_CHANGE.c.origin_node != node_id)
            .order_by(SERVER_CHANGE.c.seq).limit(limit)).all()
        has_more = len(entries) == limit
        next_since = entries[-1].seq if has_more else max(since, mark)
        latest = {(e.tbl, e.row_id): e.seq for e in entries}
        records = fetch_records(connection, latest)
        partition = None if has_more else read_digest(connection, caller.county_code)
        stale = partition is not None and needs_refresh(connection, caller.county_code)
    if stale:  # rows edited by hand since the digest was last brought up to date
        partition = county_digest(db, caller.county_code)
    if node_id:
        db.run_write(lambda c: touch_node(c, node_id, caller, pulled=datetime.now(), pull_seq=next_since))
    return PullResponse(changes=records, next_since=next_since, has_more=has_more, server_time_ms=wall_ms(),
                        partition=partition)


def nothing_to_do(db: ServerDB, caller: Caller, node_id: str, probe: NoopProbe) -> int | None:
    """The node's new pull checkpoint when a sync from where ``probe`` says the store stands would do nothing:
    no change a pull from ``probe.pull_since`` would bring (the same query as ``read_pull``), the county
    partition's digest equal to the store's, no decision on the county's conflicts after the store's last one.
    None when any of that may not hold (an admin caller, checkpoints of another server): the full sync decides.
    The server notes the node's pull as ``read_pull`` does."""
    if caller.is_admin or probe.server_id != db.server_id:
        return None
    after = _moment(probe.resolutions_after)
    if after is False:
        return None
    with db.read() as connection:
        mark = high_water_mark(connection, caller)
        if probe.pull_since > mark:  # the store has seen more than the server has: a restored server
            return None
        pending = connection.execute(
            sa.select(SERVER_CHANGE.c.seq)
            .where(_in_partitions(caller), SERVER_CHANGE.c.seq > probe.pull_since, SERVER_CHANGE.c.seq <= mark,
                   SERVER_CHANGE.c.origin_node != node_id).limit(1)).first()
        if pending is not None:
            return None
        if needs_refresh(connection, caller.county_code):  # rows edited by hand: the full sync's pull sees to it
            return None
        partition = read_digest(connection, caller.county_code)
        if (partition.row_count, partition.digest) != (probe.row_count, probe.digest) or partition.last_seq > mark:
            return None
        decided = sa.select(CONFLICT.c.id).where(CONFLICT.c.county_code == caller.county_code,
                                                 CONFLICT.c.status == "resolved")
        if after is not None:
            decided = decided.where(CONFLICT.c.resolved_at > after)
        if connection.execute(decided.limit(1)).first() is not None:
            return None
    db.run_write(lambda c: touch_node(c, node_id, caller, pulled=datetime.now(), pull_seq=mark))
    return mark


def _moment(text: str) -> datetime | None | bool:
    """The resolutions checkpoint as the server compares it (its naive local time); None for none, False when
    it is no date and time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo is None else moment.astimezone().replace(tzinfo=None)
    except (ValueError, OverflowError):
        return False


def fetch_records(connection: Connection, latest: dict[tuple[str, str], int]) -> list[PulledRecord]:
    """The current state of each (table, id), tagged with the sequence number it was listed under."""
    records: list[PulledRecord] = []
    for name in SYNCED_TABLES:
        ids = sorted(row_id for table, row_id in latest if table == name)
        table = table_of(name)
        for part in chunks(ids):
            for row in connection.execute(sa.select(table).where(table.c.id.in_(part))).mappings():
                records.append(PulledRecord(seq=latest[(name, row["id"])], table=name, id=row["id"],
                                            version=row["version"], updated_hlc=row["updated_hlc"],
                                            updated_by=row["updated_by"], record=row_to_wire(name, row)))
    records.sort(key=lambda r: r.seq)
    return records
