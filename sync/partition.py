"""Server side of the change sequence and the partition digests.

Every applied change gets a row in ``server_change`` (allocated under ``ServerDB.lock_sequence``), and
the county's ``partition_state`` keeps the XOR of row hashes of all its rows, updated in the same
transaction, so the end-of-sync comparison costs one row read however large the county is.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.server_models import PartitionState, ServerChange
from sync.bulk import insert_params
from sync.protocol import PartitionDigest, RediffPage
from sync.records import DIGEST_ZERO, digest_xor, row_hash, table_of
from sync.serverdb import ServerDB

SERVER_CHANGE = ServerChange.__table__  # type: ignore[attr-defined]
PARTITION = PartitionState.__table__  # type: ignore[attr-defined]


class RowChange(NamedTuple):
    """A row that got a new version: ``old_version`` None for a new row (a tuple: one per pushed record)."""

    county_code: str
    table: str
    row_id: str
    old_version: int | None
    new_version: int
    origin_node: str


def record_changes(db: ServerDB, connection: Connection, changes: list[RowChange]) -> None:
    """Append the changes to the sequence and fold them into their partitions' digests."""
    if not changes:
        return
    db.lock_sequence(connection)
    insert_params(connection, SERVER_CHANGE, ("county_code", "tbl", "row_id", "version", "origin_node"),
                  [(c.county_code, c.table, c.row_id, c.new_version, c.origin_node) for c in changes])
    hashes: dict[str, list[int]] = defaultdict(list)
    added: dict[str, int] = defaultdict(int)
    for c in changes:
        if c.old_version is None:
            added[c.county_code] += 1
        else:
            hashes[c.county_code].append(row_hash(c.table, c.row_id, c.old_version))
        hashes[c.county_code].append(row_hash(c.table, c.row_id, c.new_version))
    for county, items in hashes.items():
        _fold(connection, county, items, added[county])


def _fold(connection: Connection, county: str, hashes: list[int], added: int) -> None:
    last_seq = connection.execute(sa.select(sa.func.max(SERVER_CHANGE.c.seq))
                                  .where(SERVER_CHANGE.c.county_code == county)).scalar_one()
    state = connection.execute(sa.select(PARTITION).where(PARTITION.c.county_code == county)
                               .with_for_update()).first()
    if state is None:
        connection.execute(sa.insert(PARTITION), {"county_code": county, "last_seq": last_seq, "row_count": added,
                                                  "digest": digest_xor(DIGEST_ZERO, *hashes)})
        return
    connection.execute(sa.update(PARTITION).where(PARTITION.c.county_code == county).values(
        last_seq=last_seq, row_count=state.row_count + added, digest=digest_xor(state.digest, *hashes)))


def read_digest(connection: Connection, county: str) -> PartitionDigest:
    state = connection.execute(sa.select(PARTITION).where(PARTITION.c.county_code == county)).first()
    if state is None:
        return PartitionDigest(county_code=county, last_seq=0, row_count=0, digest=DIGEST_ZERO)
    return PartitionDigest(county_code=county, last_seq=state.last_seq, row_count=state.row_count,
                           digest=state.digest)


def rediff_page(connection: Connection, county: str, table_name: str, after: str, limit: int) -> RediffPage:
    """(id, version) of one table of a county, in id order after ``after``: the targeted re-diff."""
    table = table_of(table_name)
    rows = connection.execute(
        sa.select(table.c.id, table.c.version)
        .where(table.c.county_code == county, table.c.id > after).order_by(table.c.id).limit(limit)).all()
    next_after = rows[-1][0] if len(rows) == limit else None
    return RediffPage(table=table_name, rows=[(r[0], r[1]) for r in rows], next_after=next_after)
