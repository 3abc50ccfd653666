"""County store: the dashboard's slow figures kept from their last reading (issue 12, "Start fast").

The team table, the talent counts, the twelve months' trend and the count of records waiting to sync take
~130 ms of CPU to read at 20k volunteers: the longest path to the TUI's first screen. ``dashboard_cache`` keeps
them with the fingerprint of the store they were read from (``stvs_tui.dashboard_figures.fingerprint``): the
change log's last sequence number and size (every write to a synced table outside the sync engine is logged by
the capture triggers, migration 0002), ``row_recheck``'s (a hand edit behind the log's back, migration 0011),
the schema revision, the county and the month, and ``generation``, which the sync engine raises in each of its
own write transactions (``schema.store.Store.applying_remote_changes``). Figures are used again only under the
same fingerprint; anything else reads them afresh.

One row (``id`` 1); county stores only.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE dashboard_cache (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), "
               "generation INTEGER NOT NULL DEFAULT 0, fingerprint TEXT NOT NULL DEFAULT '', "
               "figures TEXT NOT NULL DEFAULT '')")
    op.execute("INSERT INTO dashboard_cache (id) VALUES (1)")


def downgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS dashboard_cache")
