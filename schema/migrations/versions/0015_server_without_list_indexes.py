"""A SQLite city server drops the volunteer list's sort indexes (migration 0010): they serve the county's volunteer
screen (``stvs_tui.queries.volunteer_page``), which never runs on a server database; the server looks volunteers up
by id and ID number (indexes of their own), and a PostgreSQL server never had them. Each pushed volunteer row cost
~20 µs more to insert with them (seven more B-trees with random keys; ``bench/sync_push.py``, issue 14).

County stores are untouched.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be (0010's indexes, and its visible-ID expression).
VISIBLE_ID_ORDER = ("CASE WHEN length(id_number) > 8 THEN substr(id_number, 1, 6) || substr(id_number, -4) "
                    "WHEN length(id_number) > 2 THEN substr(id_number, 1, 1) || substr(id_number, -1) ELSE '' END")
INDEXES = {
    "name": "name", "sex": "sex", "id": VISIBLE_ID_ORDER, "mobile": "mobile", "work_unit": "work_unit",
    "talent_tags": "talent_tags", "stvs_status": "stvs_status",
}


def upgrade(role: str = "county") -> None:
    if role != "server" or op.get_bind().dialect.name != "sqlite":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS ix_volunteer_list_{name}")


def downgrade(role: str = "county") -> None:
    if role != "server" or op.get_bind().dialect.name != "sqlite":
        return
    for name, expression in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_volunteer_list_{name} ON volunteer (county_code, deleted, {expression})")
