"""The digest compares content: ``row_recheck`` lists rows whose content changed without a new version
(a hand edit of a database, behind the sync engine's back), so the digest is brought up to what the rows
hold before it is compared.

Server (SQLite and PostgreSQL): a trigger on every synced table notes an update that keeps the version,
with the row as it was (JSON; its content hash is the one the partition digest holds), and the partition
digests are marked for a rebuild (``''``): the row hash now covers the row's canonical content, not only
(table, id, version) (``sync.records.row_hash``).

County: a trigger notes an update of a synced column made with ``sync_guard.active`` set that keeps the
version: the sync engine's own writes either move the version or rewrite what the sync base holds; an edit
at the ``sqlite3`` prompt with the guard set (so the change log does not see it) is compared with the sync
base at the next sync (``sync.replica.Replica.recheck``).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be (schema.models.SYNCED_TABLES and the sync engine's own
# columns at this revision).
TABLES = (
    "team", "volunteer", "membership", "activity", "participation", "hours_correction", "demand", "commendation",
    "monthly_report", "reporting_deadline",
)
NOT_CONTENT = ("id", "version", "updated_hlc", "updated_by", "sync_state")
_GUARDED = "EXISTS (SELECT 1 FROM sync_guard WHERE active = 1)"
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION stvs_row_recheck() RETURNS trigger AS $$
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
    op.create_table(
        "row_recheck",
        sa.Column("tbl", sa.String(32), primary_key=True),
        sa.Column("row_id", sa.String(36), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False, server_default=""),
        sa.Column("old", sa.Text(), nullable=True),
    )
    dialect = op.get_bind().dialect.name
    if role == "county":
        if dialect != "sqlite":
            return
        for table in TABLES:
            content = ", ".join(c for c in _columns(table) if c not in NOT_CONTENT)
            op.execute(f"CREATE TRIGGER trg_{table}_recheck AFTER UPDATE OF {content} ON {table} "
                       f"WHEN NEW.version IS OLD.version AND {_GUARDED} BEGIN "
                       f"INSERT OR IGNORE INTO row_recheck (tbl, row_id, county_code) "
                       f"VALUES ('{table}', OLD.id, OLD.county_code); END")
        return
    op.create_index("ix_row_recheck_county_code", "row_recheck", ["county_code"])
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER trg_{table}_recheck AFTER UPDATE ON {table} FOR EACH ROW "
                       f"WHEN (NEW.version = OLD.version) EXECUTE FUNCTION stvs_row_recheck()")
    else:
        for table in TABLES:
            old = ", ".join(f"'{c}', OLD.{c}" for c in _columns(table))
            op.execute(f"CREATE TRIGGER trg_{table}_recheck AFTER UPDATE ON {table} "
                       f"WHEN NEW.version IS OLD.version BEGIN "
                       f"INSERT OR IGNORE INTO row_recheck (tbl, row_id, county_code, old) "
                       f"VALUES ('{table}', OLD.id, OLD.county_code, json_object({old})); END")
    op.execute("UPDATE partition_state SET digest = ''")  # rebuilt with content hashes when next read


def downgrade(role: str = "county") -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_recheck" + (f" ON {table}" if dialect == "postgresql" else ""))
    if dialect == "postgresql" and role == "server":
        op.execute("DROP FUNCTION IF EXISTS stvs_row_recheck()")
    if role == "server":
        op.drop_index("ix_row_recheck_county_code", "row_recheck")
    op.drop_table("row_recheck")
