"""Server side of a pull: what changed in the caller's partitions after a change-sequence checkpoint.

The high-water mark is read first and rows are served only up to it; because sequence numbers are
allocated and committed under one lock, every number at or below a visible one is final, so a pull can
never skip a change that commits later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.models import SYNCED_TABLES
from sync.auth import Caller
from sync.bulk import driver_query, driver_values
from sync.hlc import wall_ms
from sync.partition import REBUILD, SERVER_CHANGE, county_digest, needs_refresh, read_digest
from sync.protocol import HelloRequest, NoopProbe, PulledRecord, PullResponse
from sync.push import CONFLICT, NODE, check_node, chunks, touch_node
from sync.records import DIGEST_ZERO, row_to_wire, table_of
from sync.serverdb import ServerDB


def _in_partitions(caller: Caller) -> sa.ColumnElement[bool]:
    partitions = caller.partitions()
    return sa.true() if partitions is None else SERVER_CHANGE.c.county_code.in_(partitions)


def high_water_mark(connection: Connection, caller: Caller) -> int:
    partitions = caller.partitions()
    if partitions is None:
        return int(driver_query(connection, "SELECT max(seq) FROM server_change")[0][0] or 0)
    # A max per county (one index probe each: a max over ``IN (...)`` would read every entry of both).
    return max(int(driver_query(connection, "SELECT max(seq) FROM server_change WHERE county_code = ?",
                                (county,))[0][0] or 0) for county in partitions)


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
    after = _probe_after(db, caller, probe)
    if after is False:
        return None
    with db.read() as connection:
        mark = _quiet_mark(connection, caller, node_id, probe, after)
    if mark is not None:
        note_quiet_pull(db, caller, node_id, mark)
    return mark


class QuietHello(NamedTuple):
    """``quiet_hello``'s answer: the node's new pull checkpoint, and whether the server's record of the node says so
    already, seen within ``QUIET_NOTE_SECONDS`` (then the pull is not noted again: ``note_quiet_pull``)."""

    mark: int
    noted: bool


# A sync with nothing to do by a node the server noted at the same pull checkpoint this recently is not noted
# again: the node's record (last seen, last pull) is then up to this much behind, and the no-op sync a read alone
# (no write transaction, no page for the WAL and its checkpoint).
QUIET_NOTE_SECONDS = 60


def quiet_hello(db: ServerDB, connection: Connection, caller: Caller, body: HelloRequest) -> QuietHello | None:
    """The answer to the hello of a store with nothing to do, read on ``connection`` (the hello's one read, which
    looked the token up; the caller then notes the pull, ``note_quiet_pull``, unless ``noted``): the new pull
    checkpoint when the node is one the server knows as it is (its county, its history, its key registered and
    not revoked, no new epoch proposed) and ``nothing_to_do`` holds. None in every other case, and the hello goes
    the whole way (``continues_history``, ``register_node_key``, ``nothing_to_do``), which decides and says why:
    this only ever answers what those would have answered, with a fraction of their queries."""
    probe = body.noop_probe
    if probe is None or body.next_epoch:
        return None
    after = _probe_after(db, caller, probe)
    if after is False:
        return None
    recently = driver_values(connection, NODE, {"last_seen": datetime.now() - timedelta(seconds=QUIET_NOTE_SECONDS)})
    found = driver_query(connection, QUIET_NODE, (*recently, body.node_id))
    if not found:
        return None
    county, epoch, key_county, public_key, revoked, last_pull_seq, seen_recently = found[0]
    if not caller.may_touch(county) or epoch not in ("", body.store_epoch):
        return None
    if body.public_key and (key_county != caller.county_code or public_key != body.public_key or revoked):
        return None
    mark = _quiet_mark(connection, caller, body.node_id, probe, after)
    return None if mark is None else QuietHello(mark, bool(seen_recently) and last_pull_seq == mark)


def note_quiet_pull(db: ServerDB, caller: Caller, node_id: str, mark: int) -> None:
    """The server's record of a node's pull that ``quiet_hello`` (or ``nothing_to_do``) answered, as
    ``read_pull`` notes a pull (no synced row is written: no engine mark for the hand-row triggers)."""
    db.run_write(lambda c: touch_node(c, node_id, caller, pulled=datetime.now(), pull_seq=mark), synced_rows=False)


# The node and its registered key, for ``quiet_hello``.
QUIET_NODE = ("SELECT n.county_code, n.store_epoch, k.county_code, k.public_key, k.revoked_at IS NOT NULL, "
              "n.last_pull_seq, n.last_seen >= ? FROM sync_node n LEFT JOIN node_key k ON k.node_id = n.node_id "
              "WHERE n.node_id = ?")


def _probe_after(db: ServerDB, caller: Caller, probe: NoopProbe) -> datetime | None | bool:
    """The probe's resolutions checkpoint (``_moment``), or False when the probe cannot settle the sync."""
    if caller.is_admin or probe.server_id != db.server_id:
        return False
    return _moment(probe.resolutions_after)


def _quiet_mark(connection: Connection, caller: Caller, node_id: str, probe: NoopProbe,
                after: datetime | None) -> int | None:
    """``nothing_to_do``'s reads, in one transaction, through the driver (a handful of index probes)."""
    mark = high_water_mark(connection, caller)
    if probe.pull_since > mark:  # the store has seen more than the server has: a restored server
        return None
    partitions = caller.partitions() or ()
    pending = driver_query(
        connection, f"SELECT seq FROM server_change WHERE county_code IN ({', '.join('?' * len(partitions))}) "
        "AND seq > ? AND seq <= ? AND origin_node <> ? LIMIT 1", (*partitions, probe.pull_since, mark, node_id))
    if pending:
        return None
    state = driver_query(connection, "SELECT last_seq, row_count, digest FROM partition_state WHERE county_code = ?",
                         (caller.county_code,))
    last_seq, row_count, digest = state[0] if state else (0, 0, DIGEST_ZERO)
    if digest == REBUILD or driver_query(connection, "SELECT 1 FROM row_recheck WHERE county_code = ? LIMIT 1",
                                         (caller.county_code,)):
        return None  # rows edited by hand: the full sync's pull sees to it
    if (row_count, digest) != (probe.row_count, probe.digest) or last_seq > mark:
        return None
    if after is None:
        decided = driver_query(connection, DECIDED, (caller.county_code,))
    else:
        decided = driver_query(connection, DECIDED_AFTER,
                               driver_values(connection, CONFLICT, {"county_code": caller.county_code, "resolved_at": after}))
    return None if decided else mark


_DECIDED_WHERE = "SELECT 1 FROM sync_conflict WHERE county_code = ? AND status = 'resolved'"
DECIDED = f"{_DECIDED_WHERE} LIMIT 1"
DECIDED_AFTER = f"{_DECIDED_WHERE} AND resolved_at > ? LIMIT 1"


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
