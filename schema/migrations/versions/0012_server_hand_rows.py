"""Rows inserted or deleted by hand on the server (a ``sqlite3``/``psql`` INSERT or DELETE outside the sync
path) are noted in ``row_recheck`` as hand updates are (migration 0011), so the partition digest is brought up
to them and disagrees with the county's, and the re-diff repairs the difference.

A trigger on every synced table notes an insert (``old`` NULL: the row was never in the digest) and a delete
(``old``: the row as it was, as the update trigger keeps it), unless the sync engine itself is writing: the
server's write transactions (``ServerDB.write``) say so for their own duration, on SQLite by the
``engine_writing`` row of ``sync_checkpoint`` (set to '1' and back to '0' in the transaction: no other
connection ever sees '1'), on PostgreSQL by the transaction-local setting ``stvs.engine_writing``.

County stores are untouched (their change log sees every insert and delete already).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be (schema.models.SYNCED_TABLES at this revision).
TABLES = (
    "team", "volunteer", "membership", "activity", "participation", "hours_correction", "demand", "commendation",
    "monthly_report", "reporting_deadline",
)
SQLITE_BY_HAND = "NOT EXISTS (SELECT 1 FROM sync_checkpoint WHERE key = 'engine_writing' AND value = '1')"
PG_BY_HAND = "(current_setting('stvs.engine_writing', true) IS DISTINCT FROM 'on')"
PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION stvs_row_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO row_recheck (tbl, row_id, county_code, old) VALUES (TG_TABLE_NAME, NEW.id, NEW.county_code, NULL)
        ON CONFLICT (tbl, row_id) DO NOTHING;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION stvs_row_deleted() RETURNS trigger AS $$
BEGIN
    INSERT INTO row_recheck (tbl, row_id, county_code, old) VALUES (TG_TABLE_NAME, OLD.id, OLD.county_code,
        to_jsonb(OLD)::text) ON CONFLICT (tbl, row_id) DO NOTHING;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def _columns(table: str) -> list[str]:
    return [row[1] for row in op.get_bind().exec_driver_sql(f"PRAGMA table_info({table})")]


def upgrade(role: str = "county") -> None:
    if role != "server":
        return
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER trg_{table}_hand_insert AFTER INSERT ON {table} FOR EACH ROW "
                       f"WHEN {PG_BY_HAND} EXECUTE FUNCTION stvs_row_inserted()")
            op.execute(f"CREATE TRIGGER trg_{table}_hand_delete AFTER DELETE ON {table} FOR EACH ROW "
                       f"WHEN {PG_BY_HAND} EXECUTE FUNCTION stvs_row_deleted()")
        return
    op.execute("INSERT INTO sync_checkpoint (key, value) VALUES ('engine_writing', '0')")
    for table in TABLES:
        old = ", ".join(f"'{c}', OLD.{c}" for c in _columns(table))
        op.execute(f"CREATE TRIGGER trg_{table}_hand_insert AFTER INSERT ON {table} WHEN {SQLITE_BY_HAND} BEGIN "
                   f"INSERT OR IGNORE INTO row_recheck (tbl, row_id, county_code, old) "
                   f"VALUES ('{table}', NEW.id, NEW.county_code, NULL); END")
        op.execute(f"CREATE TRIGGER trg_{table}_hand_delete AFTER DELETE ON {table} WHEN {SQLITE_BY_HAND} BEGIN "
                   f"INSERT OR IGNORE INTO row_recheck (tbl, row_id, county_code, old) "
                   f"VALUES ('{table}', OLD.id, OLD.county_code, json_object({old})); END")


def downgrade(role: str = "county") -> None:
    if role != "server":
        return
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        for kind in ("insert", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_hand_{kind}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS stvs_row_inserted()")
        op.execute("DROP FUNCTION IF EXISTS stvs_row_deleted()")
    else:
        op.execute("DELETE FROM sync_checkpoint WHERE key = 'engine_writing'")
