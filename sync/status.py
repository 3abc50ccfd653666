"""What the dashboard shows about sync, read without the sync engine: the county TUI's first screen imports
this module, not ``sync.replica`` (which brings the push, the partitions and the server models with it)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from schema.store import Store


@dataclass(frozen=True)
class SyncStatus:
    """What the dashboard shows about sync."""

    unsynced_changes: int
    last_sync_at: str
    conflicts_waiting: int
    errors: int
    server_url: str


def sync_status(store: Store) -> SyncStatus:
    """Unsynced changes, the last successful sync, and rows waiting in conflict or error."""
    with store.engine.connect() as connection:
        issues = dict(connection.execute(sa.text("SELECT status, COUNT(*) FROM sync_issue GROUP BY status")).all())
        last = connection.execute(sa.text("SELECT value FROM sync_checkpoint WHERE key = 'last_sync_at'")).scalar()
    return SyncStatus(unsynced_changes=store.pending_change_count(), last_sync_at=last or "",
                      conflicts_waiting=int(issues.get("conflict", 0)), errors=int(issues.get("error", 0)),
                      server_url=store.setting("server_url"))
