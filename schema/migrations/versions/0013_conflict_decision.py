"""Server: ``sync_conflict.decision``, which side a resolved item took, in a form SQL can filter the audit trail
on: ``city`` (every field kept the server's value), ``county`` (every field took the upload), ``value`` (a
value typed by the admin for at least one field), ``mixed`` (some fields one side, some the other), and for
a duplicate person ``merge_first`` / ``merge_later`` (merged into the first or later registration) or
``keep_both``. ``""`` while the item is open.

Items resolved before this migration get the side read from what they hold (``resolution`` against the
``fields`` sides), as the city TUI read it until now. A field whose server value was kept is ``city`` even
where the upload held the same value.

Revision ID: 0013
Revises: 0012
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _side(chosen: Any, sides: dict[str, Any]) -> str:
    if chosen == sides.get("server"):
        return "city"
    return "county" if chosen == sides.get("incoming") else "value"


# Frozen here on purpose, as a migration must be (how the city TUI read a resolved item before this revision).
def decision_of(kind: str, fields: dict[str, Any], resolution: dict[str, Any]) -> str:
    if kind == "duplicate_person":
        if resolution.get("action") == "keep_both":
            return "keep_both"
        first = fields.get("id", {}).get("server")
        return "merge_first" if resolution.get("survivor") == first else "merge_later"
    takes = {_side(resolution[name], sides) for name, sides in fields.items() if name in resolution}
    if "value" in takes:
        return "value"
    if len(takes) > 1:
        return "mixed"
    return takes.pop() if takes else "city"


def upgrade(role: str = "county") -> None:
    if role != "server":
        return
    with op.batch_alter_table("sync_conflict") as batch:
        batch.add_column(sa.Column("decision", sa.String(16), nullable=False, server_default=""))
    conflict = sa.table("sync_conflict", sa.column("id", sa.String), sa.column("kind", sa.String),
                        sa.column("fields", sa.Text), sa.column("resolution", sa.Text),
                        sa.column("status", sa.String), sa.column("decision", sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(conflict.c.id, conflict.c.kind, conflict.c.fields, conflict.c.resolution)
                        .where(conflict.c.status == "resolved")).all()
    for row in rows:
        decision = decision_of(row.kind, json.loads(row.fields or "{}"), json.loads(row.resolution or "{}"))
        bind.execute(sa.update(conflict).where(conflict.c.id == row.id).values(decision=decision))
    op.create_index("ix_sync_conflict_status_decision", "sync_conflict", ["status", "decision"])


def downgrade(role: str = "county") -> None:
    if role != "server":
        return
    op.drop_index("ix_sync_conflict_status_decision", "sync_conflict")
    with op.batch_alter_table("sync_conflict") as batch:
        batch.drop_column("decision")
