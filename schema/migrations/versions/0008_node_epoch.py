"""Server: ``sync_node.store_epoch``, the token of the store history a node id was last seen with.

A county store sends its epoch at each sync and, when it has changes to push, the next one; a store that
arrives with an epoch the server has moved past is a copy or a restored backup of that node, and continues
as a new node (``sync.identity``). Nodes seen before this migration have none ('').

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str = "county") -> None:
    if role != "server":
        return
    with op.batch_alter_table("sync_node") as batch:
        batch.add_column(sa.Column("store_epoch", sa.String(36), nullable=False, server_default=""))


def downgrade(role: str = "county") -> None:
    if role != "server":
        return
    with op.batch_alter_table("sync_node") as batch:
        batch.drop_column("store_epoch")
