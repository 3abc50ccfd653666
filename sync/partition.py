"""Server side of the change sequence and the partition digests.

Every applied change gets a row in ``server_change`` (allocated under ``ServerDB.lock_sequence``), and
the county's ``partition_state`` keeps the XOR of row hashes (table, id, version, canonical content) of
all its rows, updated in the same transaction, so the end-of-sync comparison costs one row read however
large the county is. A hand edit of the database that keeps a row's version is noted by a trigger in
``row_recheck`` (migration 0011), and the digest is brought up to the row's content before it is next read
or changed (``refresh_digest``): a divergence in content is seen even when the versions agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.models import SYNCED_TABLES
from schema.server_models import PartitionState, RowRecheck, ServerChange
from sync.bulk import driver_execute, driver_query, insert_params
from sync.protocol import PartitionDigest, RediffPage
from sync.records import DIGEST_ZERO, digest_xor, row_hash, row_to_wire, table_of
from sync.serverdb import ServerDB

SERVER_CHANGE = ServerChange.__table__  # type: ignore[attr-defined]
PARTITION = PartitionState.__table__  # type: ignore[attr-defined]
RECHECK = RowRecheck.__table__  # type: ignore[attr-defined]
_UNNOTED: Any = object()
REBUILD = ""  # a partition digest to be rebuilt from the rows (set by migration 0011)


class PartitionRow(NamedTuple):
    """A county's ``partition_state`` row, as ``_fold`` reads it."""

    last_seq: int | None
    row_count: int
    digest: str


class RowChange(NamedTuple):
    """A row that got a new version: ``old_version`` None for a new row (a tuple: one per pushed record);
    ``old_record`` and ``new_record`` are its content before and after (wire form, or as read)."""

    county_code: str
    table: str
    row_id: str
    old_version: int | None
    new_version: int
    origin_node: str
    old_record: Mapping[str, Any] | None
    new_record: Mapping[str, Any]


def record_changes(db: ServerDB, connection: Connection, changes: list[RowChange]) -> None:
    """Append the changes to the sequence and fold them into their partitions' digests."""
    if not changes:
        return
    db.lock_sequence(connection)
    insert_params(connection, SERVER_CHANGE, ("county_code", "tbl", "row_id", "version", "origin_node"),
                  [(c.county_code, c.table, c.row_id, c.new_version, c.origin_node) for c in changes])
    by_county: dict[str, list[RowChange]] = defaultdict(list)
    for c in changes:
        by_county[c.county_code].append(c)
    for county, of_county in by_county.items():
        _fold(connection, county, of_county)


def _fold(connection: Connection, county: str, changes: list[RowChange]) -> None:
    """Fold rows into the county's digest: hand edits noted since (see ``refresh_digest``), then ``changes``."""
    # Through the driver: the statements of every push batch (SQLAlchemy built and compiled each anew, ~0.1-0.3 ms).
    last_seq = None
    if changes:
        last_seq = driver_query(connection, "SELECT max(seq) FROM server_change WHERE county_code = ?", (county,))[0][0]
    lock = " FOR UPDATE" if connection.dialect.name == "postgresql" else ""
    found = driver_query(connection, f"SELECT last_seq, row_count, digest FROM partition_state WHERE county_code = ?{lock}",
                         (county,))
    state = PartitionRow(*found[0]) if found else None
    if state is not None and state.digest == REBUILD:
        count, value = _rebuilt(connection, county)  # from the rows as written, changes included
        connection.execute(sa.update(PARTITION).where(PARTITION.c.county_code == county).values(
            row_count=count, digest=value, **({} if last_seq is None else {"last_seq": last_seq})))
        return
    if state is None and not changes:
        return
    marks = driver_query(connection, "DELETE FROM row_recheck WHERE county_code = ? RETURNING tbl, row_id, old",
                         (county,))
    # A row edited or deleted by hand is in the digest as it was before (the trigger kept that); a row inserted
    # by hand (``old`` NULL) is not in it at all.
    before: dict[tuple[str, str], dict[str, Any] | None] = {
        (t, r): orjson.loads(old) if old else None for t, r, old in marks if t in SYNCED_TABLES}
    count = state.row_count if state is not None else 0
    hashes: list[int] = []
    if changes:  # each change folds its new version in (column by column in C) ...
        _, tables, row_ids, _, new_versions, _, _, new_records = zip(*changes, strict=True)
        hashes = list(map(row_hash, tables, row_ids, new_versions, new_records))
    for c in changes:  # ... and its old one out: the one in the digest, which a hand edit may have noted
        was = before.pop((c.table, c.row_id), _UNNOTED)
        if was is _UNNOTED:
            if c.old_version is None:
                count += 1
            else:
                hashes.append(row_hash(c.table, c.row_id, c.old_version, c.old_record or {}))
        elif was is None:
            count += 1
        else:
            hashes.append(row_hash(c.table, c.row_id, int(was["version"]), was))
    for (table_name, row_id), was in before.items():
        if was is not None:
            hashes.append(row_hash(table_name, row_id, int(was["version"]), was))
            count -= 1
        table = table_of(table_name)
        row = connection.execute(sa.select(table).where(table.c.id == row_id)).mappings().first()
        if row is not None and row["county_code"] == county:  # not moved to another county, nor deleted by hand
            hashes.append(row_hash(table_name, row_id, row["version"], row_to_wire(table_name, row)))
            count += 1
    if state is None:
        connection.execute(sa.insert(PARTITION), {"county_code": county, "last_seq": last_seq, "row_count": count,
                                                  "digest": digest_xor(DIGEST_ZERO, *hashes)})
        return
    if last_seq is None:
        driver_execute(connection, "UPDATE partition_state SET row_count = ?, digest = ? WHERE county_code = ?",
                       (count, digest_xor(state.digest, *hashes), county))
    else:
        driver_execute(connection, "UPDATE partition_state SET row_count = ?, digest = ?, last_seq = ? "
                       "WHERE county_code = ?", (count, digest_xor(state.digest, *hashes), last_seq, county))


def needs_refresh(connection: Connection, county: str) -> bool:
    """Whether the county's digest waits for a rebuild or for rows edited by hand (two index probes)."""
    digest = connection.execute(sa.select(PARTITION.c.digest).where(PARTITION.c.county_code == county)).scalar()
    return digest == REBUILD or connection.execute(
        sa.select(sa.literal(1)).where(RECHECK.c.county_code == county).limit(1)).first() is not None


def refresh_digest(connection: Connection, county: str) -> None:
    """Bring the county's digest up to what its rows hold (in a write transaction). A row edited by hand
    since its version was written is folded out as it was (the trigger kept it) and in as it is now; a
    digest waiting since migration 0011 is rebuilt from the rows."""
    _fold(connection, county, [])


def _rebuilt(connection: Connection, county: str) -> tuple[int, str]:
    count, value = 0, DIGEST_ZERO
    for name in SYNCED_TABLES:
        table = table_of(name)
        for row in connection.execute(sa.select(table).where(table.c.county_code == county)).mappings():
            value = digest_xor(value, row_hash(name, row["id"], row["version"], row_to_wire(name, row)))
            count += 1
    connection.execute(sa.delete(RECHECK).where(RECHECK.c.county_code == county))
    return count, value


def county_digest(db: ServerDB, county: str) -> PartitionDigest:
    """The county's partition digest as its rows hold it now: the one call for whoever compares digests."""
    refresh_if_needed(db, county)
    with db.read() as connection:
        return read_digest(connection, county)


def refresh_if_needed(db: ServerDB, county: str) -> None:
    """``refresh_digest`` in a write transaction of its own, when there is anything to do (a read finds out)."""
    with db.read() as connection:
        if not needs_refresh(connection, county):
            return
    db.run_write(lambda connection: refresh_digest(connection, county))


def read_digest(connection: Connection, county: str) -> PartitionDigest:
    state = connection.execute(sa.select(PARTITION).where(PARTITION.c.county_code == county)).first()
    if state is None:
        return PartitionDigest(county_code=county, last_seq=0, row_count=0, digest=DIGEST_ZERO)
    return PartitionDigest(county_code=county, last_seq=state.last_seq, row_count=state.row_count,
                           digest=state.digest)


def rediff_page(connection: Connection, county: str, table_name: str, after: str, limit: int,
                stamps: bool = False) -> RediffPage:
    """(id, version) and the content hash of the rows of one table of a county, in id order after ``after``:
    the targeted re-diff. The hashes are of the rows as they are (not the digest's bookkeeping). With
    ``stamps``, each row's ``updated_hlc`` too (``stamps`` left unset otherwise: see ``RediffPage``)."""
    table = table_of(table_name)
    rows = connection.execute(
        sa.select(table).where(table.c.county_code == county, table.c.id > after)
        .order_by(table.c.id).limit(limit)).mappings().all()
    next_after = rows[-1]["id"] if len(rows) == limit else None
    page = RediffPage(table=table_name, rows=[(r["id"], r["version"]) for r in rows],
                      hashes=[f"{row_hash(table_name, r['id'], r['version'], row_to_wire(table_name, r)):016x}"
                              for r in rows], next_after=next_after)
    if stamps:
        page.stamps = [r["updated_hlc"] for r in rows]
    return page
