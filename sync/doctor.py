"""What keeps a county store from being in sync, and what clears each: ``stvs-tui sync doctor``.

Four kinds of stuck things, each with its reason and an action code (the CLI and the TUI word it):
- ``outbox``: a batch sent and not answered; refused by the server (``refusal`` kept) or cut off mid-sync.
- ``quarantined``: a pulled record the store could not write (``sync.quarantine``).
- ``rejected``: a local record the server refused (``sync_issue`` status ``error``), with the server's reason.
- ``conflict``: a local record in the city's conflict queue (``sync_issue`` status ``conflict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import orjson

from schema.store import Store
from sync import quarantine
from sync.protocol import PulledRecord
from sync.replica import Replica

# Action codes: what clears an item.
RESEND = "resend"  # the next sync sends the batch again
DROP_BATCH = "drop_batch"  # `stvs-tui sync drop-batch ID`: its changes go again in new batches
REFETCH = "refetch"  # the next sync asks the city again for the rows referred to, then writes the record
TAKE_CITY = "take_city"  # `stvs-tui sync take-city TABLE:ID`: the local row holding the key gives way to the city's
CORRECT_RECORD = "correct_record"  # edit the record (the reason says what) and sync
AWAIT_CITY = "await_city"  # the city decides (conflict queue); the next sync brings the decision
ACTIONS = (RESEND, DROP_BATCH, REFETCH, TAKE_CITY, CORRECT_RECORD, AWAIT_CITY)


@dataclass(frozen=True)
class StuckItem:
    kind: str  # outbox | quarantined | rejected | conflict
    table: str
    row_id: str  # the batch id for an outbox item
    reason: str
    detail: str
    since: str
    action: str
    command: str  # the command that clears it, when there is one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stuck_items(store: Store) -> list[StuckItem]:
    """Everything stuck in this store, outbox first, then quarantine, rejections and conflicts."""
    return [*_outbox(store), *_quarantined(store), *_issues(store)]


def _outbox(store: Store) -> list[StuckItem]:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT batch_id, created_at, refused_at, refusal, payload FROM sync_outbox ORDER BY rowid").all()
    items = []
    for batch_id, created_at, refused_at, refusal, payload in rows:
        changes = len(orjson.loads(payload)["changes"])
        if refusal:
            items.append(StuckItem("outbox", "", batch_id, "refused", f"{changes} changes: {refusal}",
                                   str(refused_at)[:19], DROP_BATCH, f"stvs-tui sync drop-batch {batch_id}"))
        else:
            items.append(StuckItem("outbox", "", batch_id, "interrupted", f"{changes} changes",
                                   str(created_at)[:19], RESEND, "stvs-tui sync"))
    return items


def _quarantined(store: Store) -> list[StuckItem]:
    items = []
    for held in quarantine.quarantined(store):
        if held.reason == quarantine.UNIQUE:
            action, command = TAKE_CITY, f"stvs-tui sync take-city {held.key}"
        else:
            action, command = REFETCH, "stvs-tui sync"
        items.append(StuckItem("quarantined", held.table, held.row_id, held.reason, held.detail, held.at, action,
                               command))
    return items


def _issues(store: Store) -> list[StuckItem]:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT status, tbl, row_id, reason, message, at FROM sync_issue WHERE status IN ('error', 'conflict') "
            "ORDER BY status DESC, at, tbl, row_id").all()
    items = []
    for status, table, row_id, reason, message, at in rows:
        if status == "error":
            items.append(StuckItem("rejected", table, row_id, reason, message, str(at)[:19], CORRECT_RECORD, ""))
        else:
            items.append(StuckItem("conflict", table, row_id, reason, message, str(at)[:19], AWAIT_CITY, ""))
    return items


def drop_batch(store: Store, batch_id: str) -> int:
    """Forget a batch the server refused; its changes are still in the change log and go again in new
    batches with the next sync. Returns the number of changes it held (0: no such batch)."""
    with store.engine.begin() as connection:
        row = connection.exec_driver_sql("SELECT payload FROM sync_outbox WHERE batch_id = ?", (batch_id,)).first()
        if row is None:
            return 0
        connection.exec_driver_sql("DELETE FROM sync_outbox WHERE batch_id = ?", (batch_id,))
    return len(orjson.loads(row[0])["changes"])


def take_city(store: Store, table: str, row_id: str) -> list[str]:
    """Clear a unique-key quarantine the city's way: the local rows holding the key are deleted (a clerk's
    delete: captured, so the city hears of it) and the city's record is written. Returns the ids deleted;
    ``KeyError`` when the row is not quarantined."""
    with store.engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT record FROM sync_quarantine WHERE tbl = ? AND row_id = ?",
                                         (table, row_id)).first()
        if row is None:
            raise KeyError(f"{table}:{row_id}")
        record = PulledRecord.model_validate(orjson.loads(row[0]))
        holders = quarantine.unique_holders(connection, table, row_id, record.record)
    with store.engine.begin() as connection:
        for holder in holders:
            connection.exec_driver_sql(f"DELETE FROM {table} WHERE id = ?", (holder,))
    Replica(store).apply_pulled([record], None, "")
    return holders
