"""Change capture on county stores: SQLite triggers log every write to a synced table.

The triggers run in the writer's own transaction, so a write made by any path (the app, the importer, a
plain UPDATE typed into the sqlite3 shell) is logged or not at all. The sync engine sets
``sync_guard.active`` inside its own transaction so rows it writes are not queued again.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: a later table gets its triggers in its own migration.
CAPTURED_TABLES = (
    "team", "volunteer", "membership", "activity", "participation", "demand", "commendation",
    "monthly_report", "reporting_deadline",
)
_NOT_SYNCING = "NOT EXISTS (SELECT 1 FROM sync_guard WHERE active = 1)"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def trigger_statements(table: str) -> list[str]:
    log = f"INSERT INTO change_log (tbl, row_id, op, at) VALUES ('{table}', {{row}}.id, '{{op}}', {_NOW});"
    return [
        f"CREATE TRIGGER trg_{table}_capture_insert AFTER INSERT ON {table} WHEN {_NOT_SYNCING} BEGIN "
        + log.format(row="NEW", op="I") + " END",
        # An edit of a synced row makes it queued again; recursive_triggers is off, so this does not loop.
        f"CREATE TRIGGER trg_{table}_capture_update AFTER UPDATE ON {table} WHEN {_NOT_SYNCING} BEGIN "
        + log.format(row="NEW", op="U")
        + f" UPDATE {table} SET sync_state = 'queued' WHERE id = NEW.id AND NEW.sync_state = 'synced'; END",
        f"CREATE TRIGGER trg_{table}_capture_delete AFTER DELETE ON {table} WHEN {_NOT_SYNCING} BEGIN "
        + log.format(row="OLD", op="D") + " END",
    ]


def upgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    op.execute("INSERT INTO sync_guard (id, active) VALUES (1, 0)")
    op.execute("CREATE INDEX ix_change_log_row ON change_log (tbl, row_id)")
    for table in CAPTURED_TABLES:
        for statement in trigger_statements(table):
            op.execute(statement)


def downgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for table in CAPTURED_TABLES:
        for kind in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_capture_{kind}")
    op.execute("DROP INDEX IF EXISTS ix_change_log_row")
    op.execute("DELETE FROM sync_guard")
