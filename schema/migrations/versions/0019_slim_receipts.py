"""City server: a change's receipt (``sync_receipt``) loses ``content_hash``, which only repeated the last 64
characters of its key (``change_id`` is ``table:row:content key``, ``sync.push.change_hash``) and was never read;
on SQLite the table is kept by that key alone (``WITHOUT ROWID``: no second B-tree holding every key again).

A receipt is written for every pushed change and kept: at 100k records the receipts took 38 MB of the server's
123 MB, 19 MB now, and a receipt's insert 1.57 → 1.16 µs in SQLite (``bench/sync_push.py``, issue 14).
The receipts are copied over in the migration's transaction; PostgreSQL drops the column in place.

County stores are untouched.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be: sync_receipt as 0003 made it, less content_hash.
COLUMNS = ("change_id VARCHAR(200) NOT NULL, batch_id VARCHAR(100) NOT NULL, status VARCHAR(16) NOT NULL, "
           "reason VARCHAR(40) NOT NULL, version INTEGER NOT NULL")
KEPT = "change_id, batch_id, status, reason, version"
HASH_LENGTH = 64  # the content key's hex digits at the end of change_id


def upgrade(role: str = "county") -> None:
    if role != "server":
        return
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("sync_receipt", "content_hash")
        return
    op.execute(f"CREATE TABLE sync_receipt_slim ({COLUMNS}, PRIMARY KEY (change_id)) WITHOUT ROWID")
    op.execute(f"INSERT INTO sync_receipt_slim ({KEPT}) SELECT {KEPT} FROM sync_receipt")
    op.execute("DROP TABLE sync_receipt")
    op.execute("ALTER TABLE sync_receipt_slim RENAME TO sync_receipt")


def downgrade(role: str = "county") -> None:
    if role != "server":
        return
    if op.get_bind().dialect.name != "sqlite":
        op.execute("ALTER TABLE sync_receipt ADD COLUMN content_hash VARCHAR(64)")
        op.execute(f"UPDATE sync_receipt SET content_hash = right(change_id, {HASH_LENGTH})")
        op.execute("ALTER TABLE sync_receipt ALTER COLUMN content_hash SET NOT NULL")
        return
    op.execute("CREATE TABLE sync_receipt_full (change_id VARCHAR(200) NOT NULL, batch_id VARCHAR(100) NOT NULL, "
               "content_hash VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, reason VARCHAR(40) NOT NULL, "
               "version INTEGER NOT NULL, PRIMARY KEY (change_id))")
    op.execute(f"INSERT INTO sync_receipt_full (change_id, batch_id, content_hash, status, reason, version) "
               f"SELECT change_id, batch_id, substr(change_id, -{HASH_LENGTH}), status, reason, version FROM sync_receipt")
    op.execute("DROP TABLE sync_receipt")
    op.execute("ALTER TABLE sync_receipt_full RENAME TO sync_receipt")
