"""County store: ``sync_base.stamp``, the stamp (hybrid logical clock) the server keeps for the base version's
write, as the server's answer or a pulled record gave it; "" where it is not known (bases written before this
revision, until their row syncs again).

Two histories can reach the same version number: the city's database put back from a backup, then another device
editing the row, takes it to the version this device holds with other content. The version alone cannot tell that
from "the server has my version"; the stamp of its write can (``sync.push``: a change whose base stamp is not the
server's is answered ``diverged``; ``SyncClient._repair_page``: such a row goes whole, a conflict for the city).

City servers are untouched.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str = "county") -> None:
    if role == "server":
        return
    op.execute("ALTER TABLE sync_base ADD COLUMN stamp VARCHAR(64) NOT NULL DEFAULT ''")


def downgrade(role: str = "county") -> None:
    if role == "server":
        return
    op.execute("ALTER TABLE sync_base DROP COLUMN stamp")
