"""The city's decisions on this county's conflicts, brought down after the pull.

The resolved row itself arrives as a normal new version by the pull; what the pull cannot carry is why.
``fetch_resolutions`` pages ``GET /conflicts?status=resolved&resolved_after=…`` from a checkpoint and
records each decision in ``sync_issue`` (status ``resolved``), where the TUI shows it on the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import Connection

from sync.errors import ProtocolError, ServerUnreachable
from sync.protocol import ConflictOut
from sync.replica import Replica

RESOLVED = "resolved"
PAGE = 500
CHECKPOINT = "resolutions_after"
# A row's conflict or error mark is a newer problem than an older decision: it stays (``WHERE`` below).
UPSERT_RESOLVED = sa.text(
    "INSERT INTO sync_issue (tbl, row_id, status, reason, message, at) VALUES (:t, :r, :s, :s, :m, :at) "
    "ON CONFLICT(tbl, row_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, "
    "message = excluded.message, at = excluded.at WHERE sync_issue.status NOT IN ('conflict', 'error')")
_PAGE_ADAPTER = TypeAdapter(list[ConflictOut])
Request = Callable[..., httpx.Response]  # SyncClient._request: retries, timeouts, errors mapped


@dataclass
class Fetched:
    """What fetching the resolutions did: decisions recorded, or why they could not be fetched."""

    recorded: int = 0
    error: str = ""


def checkpoint_key(server_id: str) -> str:
    """Per server, like the pull checkpoint: another server's times mean nothing here."""
    return f"{CHECKPOINT}:{server_id}"


def fetch_resolutions(request: Request, replica: Replica, server_id: str) -> Fetched:
    """Page through the decisions after the checkpoint and record them; never fails the sync.

    A server that cannot answer (after the client's usual retries) or answers nonsense is reported in
    ``error``; a refused token or an incompatible version still raises, as on every other call.
    """
    fetched = Fetched()
    after = replica.checkpoint(checkpoint_key(server_id))
    offset = 0
    try:
        while True:
            page = _page(request, after, offset)
            fetched.recorded += record_resolutions(replica, page, server_id)
            # Offset within one run rather than moving ``after`` per page: decisions taken in the same
            # instant may straddle a page boundary, and a strict "after" would skip the second.
            offset += len(page)
            if len(page) < PAGE:
                return fetched
    except (ProtocolError, ServerUnreachable, ValidationError, ValueError) as exc:
        fetched.error = " ".join(str(exc).split())[:300]
        return fetched


def _page(request: Request, after: str, offset: int) -> list[ConflictOut]:
    params: dict[str, Any] = {"status": RESOLVED, "limit": PAGE, "offset": offset}
    if after:
        params["resolved_after"] = after
    return _PAGE_ADAPTER.validate_json(request("GET", "/conflicts", params=params).content)


def record_resolutions(replica: Replica, conflicts: list[ConflictOut], server_id: str) -> int:
    """Write the decisions and move the checkpoint in one transaction (a crash repeats the page whole)."""
    decided = [c for c in conflicts if c.resolved_at]
    if not decided:
        return 0
    with replica.store.engine.begin() as connection:
        recorded = sum(_record(connection, conflict) for conflict in decided)
        latest = max(datetime.fromisoformat(c.resolved_at or "") for c in decided)
        Replica.set_checkpoints(connection, **{checkpoint_key(server_id): latest.isoformat()})
    return recorded


def _record(connection: Connection, conflict: ConflictOut) -> int:
    message = json.dumps({"conflict_id": conflict.id, "kind": conflict.kind, "reason": conflict.reason,
                          "resolved_by": conflict.resolved_by, "resolved_at": conflict.resolved_at,
                          "resolution": conflict.resolution}, ensure_ascii=False, default=str)
    result = connection.execute(UPSERT_RESOLVED, {"t": conflict.table, "r": conflict.row_id, "s": RESOLVED,
                                                  "m": message, "at": datetime.now()})
    return max(result.rowcount, 0)
