"""Sync tables: on the server tokens, nodes, upload reports, receipts, the change sequence, partition
digests and the conflict queue; on a county store the outbox, checkpoints and per-row sync issues.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVER_TABLES = ("sync_conflict", "partition_state", "server_change", "sync_receipt", "sync_batch", "sync_node",
                 "sync_token", "sync_checkpoint")
COUNTY_TABLES = ("sync_issue", "sync_checkpoint", "sync_outbox")


def _server_tables() -> None:
    op.create_table(
        "sync_token",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "sync_node",
        sa.Column("node_id", sa.String(64), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("token_id", sa.String(36), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("last_push_at", sa.DateTime(), nullable=True),
        sa.Column("last_pull_at", sa.DateTime(), nullable=True),
        sa.Column("last_pull_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "sync_batch",
        sa.Column("batch_id", sa.String(100), primary_key=True),
        sa.Column("node_id", sa.String(64), nullable=False, index=True),
        sa.Column("county_code", sa.String(6), nullable=False, index=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ("changes", "applied", "merged", "conflicts", "duplicates", "rejected")),
        sa.Column("response", sa.Text(), nullable=False),
    )
    op.create_table(
        "sync_receipt",
        sa.Column("change_id", sa.String(200), primary_key=True),
        sa.Column("batch_id", sa.String(100), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "server_change",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("tbl", sa.String(32), nullable=False),
        sa.Column("row_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("origin_node", sa.String(64), nullable=False),
    )
    op.create_index("ix_server_change_county_seq", "server_change", ["county_code", "seq"])
    op.create_table(
        "partition_state",
        sa.Column("county_code", sa.String(6), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(16), nullable=False),
    )
    op.create_table(
        "sync_conflict",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("tbl", sa.String(32), nullable=False),
        sa.Column("row_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("change_id", sa.String(200), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("resolved_version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_sync_conflict_row", "sync_conflict", ["tbl", "row_id"])
    op.create_index("ix_sync_conflict_county_status", "sync_conflict", ["county_code", "status"])
    _checkpoint_table()


def _checkpoint_table() -> None:
    """Both sides keep checkpoints: the county its pull cursor and digest, the server its identity."""
    op.create_table(
        "sync_checkpoint",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def _county_tables() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("batch_id", sa.String(100), primary_key=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    _checkpoint_table()
    op.create_table(
        "sync_issue",
        sa.Column("tbl", sa.String(32), primary_key=True),
        sa.Column("row_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )


def upgrade(role: str = "county") -> None:
    if role == "server":
        _server_tables()
    else:
        _county_tables()


def downgrade(role: str = "county") -> None:
    for table in SERVER_TABLES if role == "server" else COUNTY_TABLES:
        op.drop_table(table)
