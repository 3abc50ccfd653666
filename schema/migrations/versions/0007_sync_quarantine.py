"""County: ``sync_quarantine``, pulled rows the store could not write (a reference to a row deleted here,
a unique key taken by a local row), kept with the reason until a retry writes them; and on ``sync_outbox``
the server's refusal of a batch (``refused_at``, ``refusal``), so ``sync doctor`` can say why it is stuck.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str = "county") -> None:
    if role == "server":
        return
    op.create_table(
        "sync_quarantine",
        sa.Column("tbl", sa.String(32), primary_key=True),
        sa.Column("row_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),  # the pulled record (PulledRecord JSON)
        sa.Column("reason", sa.String(40), nullable=False),  # foreign_key | unique | constraint
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("sync_outbox") as batch:
        batch.add_column(sa.Column("refused_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("refusal", sa.Text(), nullable=False, server_default=""))


def downgrade(role: str = "county") -> None:
    if role == "server":
        return
    with op.batch_alter_table("sync_outbox") as batch:
        batch.drop_column("refusal")
        batch.drop_column("refused_at")
    op.drop_table("sync_quarantine")
