"""What keeps a county store from being in sync, and what clears each: ``stvs-tui sync doctor``.

Four kinds of stuck things, each with its reason and an action code (the CLI and the TUI word it):
- ``outbox``: a batch sent and not answered; refused by the server (``refusal`` kept) or cut off mid-sync.
- ``quarantined``: a pulled record the store could not write (``sync.quarantine``).
- ``rejected``: a local record the server refused (``sync_issue`` status ``error``), with the server's reason.
- ``conflict``: a record of the county in the city's conflict queue: this store's (``sync_issue`` status
  ``conflict``), and, when the server can be asked, those the county's other devices opened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson
from pydantic import TypeAdapter

from schema.store import Store
from sync import quarantine
from sync.credentials import load_token
from sync.errors import SyncError
from sync.protocol import API_PREFIX, ConflictOut, PulledRecord
from sync.replica import Replica
from sync.transport import CA_FILE_SETTING, INSECURE_URL_SETTING, check_url, tls_verify

# Action codes: what clears an item.
RESEND = "resend"  # the next sync sends the batch again
DROP_BATCH = "drop_batch"  # `stvs-tui sync drop-batch ID`: its changes go again in new batches
REFETCH = "refetch"  # the next sync asks the city again for the rows referred to, then writes the record
TAKE_CITY = "take_city"  # `stvs-tui sync take-city TABLE:ID`: the local row holding the key gives way to the city's
CORRECT_RECORD = "correct_record"  # edit the record (the reason says what) and sync
AWAIT_CITY = "await_city"  # the city decides (conflict queue); the next sync brings the decision
CITY_CORRECTS = "city_corrects"  # the city's record holds a value that is none (typed by hand there): the city
# corrects it, and the next sync writes it
ACTIONS = (RESEND, DROP_BATCH, REFETCH, TAKE_CITY, CORRECT_RECORD, AWAIT_CITY, CITY_CORRECTS)


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


@dataclass(frozen=True)
class Diagnosis:
    """The stuck items, and whether the server was asked for the county's other open conflicts: ``checked``,
    ``not_set`` (no server or token saved), ``offline`` (not asked), ``unreachable`` (``server_error`` says why)."""

    items: list[StuckItem]
    server: str
    server_error: str = ""


def diagnose(store: Store, *, ask_server: bool = True, timeout: float = 5.0) -> Diagnosis:
    """``stuck_items`` plus the county's open conflicts opened by its other devices (asked of the server, when
    one is saved; nothing here changes the store)."""
    items = stuck_items(store)
    url, token = store.setting("server_url").rstrip("/"), load_token(store)
    if not ask_server:
        return Diagnosis(items, "offline")
    if not url or not token:
        return Diagnosis(items, "not_set")
    try:
        conflicts = _server_conflicts(store, url, token, timeout)
    except (SyncError, httpx.HTTPError, ValueError) as exc:
        return Diagnosis(items, "unreachable", " ".join(str(exc).split()) or type(exc).__name__)
    known = {(item.table, item.row_id) for item in items if item.kind == "conflict"}
    items += [StuckItem("conflict", c.table, c.row_id, c.kind, f"conflict {c.id} ({c.node_id})", c.created_at[:19],
                        AWAIT_CITY, "") for c in conflicts if (c.table, c.row_id) not in known]
    return Diagnosis(items, "checked")


def _server_conflicts(store: Store, url: str, token: str, timeout: float) -> list[ConflictOut]:
    check_url(url, insecure_http=store.setting(INSECURE_URL_SETTING) == url)
    with httpx.Client(base_url=url, timeout=timeout, verify=tls_verify(store.setting(CA_FILE_SETTING)),
                      headers={"Authorization": f"Bearer {token}"}) as client:
        response = client.get(f"{API_PREFIX}/conflicts", params={"status": "open", "limit": 1000})
    if response.status_code >= 400:
        raise ValueError(f"HTTP {response.status_code}: {response.text[:200]}")
    return TypeAdapter(list[ConflictOut]).validate_json(response.content)


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
        elif held.reason == quarantine.INVALID:
            action, command = CITY_CORRECTS, ""
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
