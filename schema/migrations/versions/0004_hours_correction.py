"""``hours_correction``: corrections of confirmed service hours are appended as records of their own (who,
when, why, before and after), so a correction never silently overwrites what was confirmed.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_SYNCING = "NOT EXISTS (SELECT 1 FROM sync_guard WHERE active = 1)"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_LOG = ("INSERT INTO change_log (tbl, row_id, op, at) "
        "VALUES ('hours_correction', {row}.id, '{op}', " + _NOW + ");")
# Change capture as in 0002, frozen here for this table.
CAPTURE_TRIGGERS = (
    "CREATE TRIGGER trg_hours_correction_capture_insert AFTER INSERT ON hours_correction "
    f"WHEN {_NOT_SYNCING} BEGIN " + _LOG.format(row="NEW", op="I") + " END",
    "CREATE TRIGGER trg_hours_correction_capture_update AFTER UPDATE ON hours_correction "
    f"WHEN {_NOT_SYNCING} BEGIN " + _LOG.format(row="NEW", op="U")
    + " UPDATE hours_correction SET sync_state = 'queued' WHERE id = NEW.id AND NEW.sync_state = 'synced'; END",
    "CREATE TRIGGER trg_hours_correction_capture_delete AFTER DELETE ON hours_correction "
    f"WHEN {_NOT_SYNCING} BEGIN " + _LOG.format(row="OLD", op="D") + " END",
)


def upgrade(role: str = "county") -> None:
    op.create_table(
        "hours_correction",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("participation_id", sa.String(length=36), nullable=False),
        sa.Column("old_hours", sa.Float(), nullable=False),
        sa.Column("new_hours", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("corrected_by", sa.String(length=50), nullable=False),
        sa.Column("corrected_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["participation_id"], ["participation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hours_correction_county_code", "hours_correction", ["county_code"])
    op.create_index("ix_hours_correction_participation", "hours_correction", ["participation_id"])
    if role == "county" and op.get_bind().dialect.name == "sqlite":
        for statement in CAPTURE_TRIGGERS:
            op.execute(statement)


def downgrade(role: str = "county") -> None:
    if role == "county" and op.get_bind().dialect.name == "sqlite":
        for kind in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_hours_correction_capture_{kind}")
    op.drop_index("ix_hours_correction_participation", table_name="hours_correction")
    op.drop_index("ix_hours_correction_county_code", table_name="hours_correction")
    op.drop_table("hours_correction")
