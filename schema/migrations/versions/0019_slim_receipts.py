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

# Frozen here on purpose, as a migration must be: sync_receipt as 0003 made it.
COLUMNS = (("change_id", "VARCHAR(200)"), ("batch_id", "VARCHAR(100)"), ("content_hash", "VARCHAR(64)"),
           ("status", "VARCHAR(16)"), ("reason", "VARCHAR(40)"), ("version", "INTEGER"))
HASH = "content_hash"
HASH_LENGTH = 64  # the content key's hex digits at the end of change_id


def upgrade(role: str = "county") -> None:
    if role != "server":
        return
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("sync_receipt", HASH)
        return
    _rebuild([(name, kind, name) for name, kind in COLUMNS if name != HASH], " WITHOUT ROWID")


def downgrade(role: str = "county") -> None:
    if role != "server":
        return
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"ALTER TABLE sync_receipt ADD COLUMN {HASH} VARCHAR(64)")
        op.execute(f"UPDATE sync_receipt SET {HASH} = right(change_id, {HASH_LENGTH})")
        op.execute(f"ALTER TABLE sync_receipt ALTER COLUMN {HASH} SET NOT NULL")
        return
    _rebuild([(name, kind, f"substr(change_id, -{HASH_LENGTH})" if name == HASH else name)
              for name, kind in COLUMNS], "")


def _rebuild(columns: list[tuple[str, str, str]], options: str) -> None:
    """SQLite: ``sync_receipt`` made again with ``columns`` (name, type, the value from the old table), every
    receipt copied over, in the migration's transaction."""
    names = ", ".join(name for name, _, _ in columns)
    op.execute(f"CREATE TABLE sync_receipt_new ({', '.join(f'{name} {kind} NOT NULL' for name, kind, _ in columns)}, "
               f"PRIMARY KEY (change_id)){options}")
    op.execute(f"INSERT INTO sync_receipt_new ({names}) SELECT {', '.join(value for _, _, value in columns)} "
               "FROM sync_receipt")
    op.execute("DROP TABLE sync_receipt")
    op.execute("ALTER TABLE sync_receipt_new RENAME TO sync_receipt")
