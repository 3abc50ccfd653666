"""The volunteer list sorts by any shown column over 100k people: one index per sortable column on
(county_code, deleted, column), so ``WHERE county_code = ? AND deleted IS 0 ORDER BY column, rowid`` reads the
order from the index and a window deep in the list (LIMIT/OFFSET) skips through the index alone. The ID number
column sorts by its visible characters only (the index is on the same expression as the query,
``stvs_tui.queries.VISIBLE_ID_ORDER``): the hidden digits never decide an order the clerk can see.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be.
VISIBLE_ID_ORDER = ("CASE WHEN length(id_number) > 8 THEN substr(id_number, 1, 6) || substr(id_number, -4) "
                    "WHEN length(id_number) > 2 THEN substr(id_number, 1, 1) || substr(id_number, -1) ELSE '' END")
INDEXES = {
    "name": "name", "sex": "sex", "id": VISIBLE_ID_ORDER, "mobile": "mobile", "work_unit": "work_unit",
    "talent_tags": "talent_tags", "stvs_status": "stvs_status",
}


def upgrade(role: str = "county") -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, expression in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_volunteer_list_{name} ON volunteer (county_code, deleted, {expression})")


def downgrade(role: str = "county") -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS ix_volunteer_list_{name}")
