"""Server: ``node_key``, each county device's Ed25519 public key, registered at its first online sync or from
its enrolment file; the bundles it signs are checked against it, and revoking the device revokes the key.

Revision ID: 0006
Revises: 0005

The city's own key pair (which signs return bundles) is made when the server database is opened, kept in
``sync_checkpoint`` beside the server id; a county store keeps its key in its ``setting`` table. Neither
needs a table of its own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str = "county") -> None:
    if role != "server":
        return
    op.create_table(
        "node_key",
        sa.Column("node_id", sa.String(64), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False, index=True),
        sa.Column("public_key", sa.String(100), nullable=False),
        sa.Column("token_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(200), nullable=False),
    )


def downgrade(role: str = "county") -> None:
    if role != "server":
        return
    op.drop_table("node_key")
