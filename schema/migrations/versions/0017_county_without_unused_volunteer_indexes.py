"""A county store drops three volunteer indexes that no county query uses:

- ``ix_volunteer_county_code`` (``county_code``): every ``ix_volunteer_list_*`` index (migration 0010) starts with
  the county, so a query on the county alone is served by those just as well (in a county store every row is
  of the one county anyway);
- ``ix_volunteer_name`` and ``ix_volunteer_mobile``: the county looks names and mobiles up only through the list's
  filter (``volunteer_search``, migration 0014) or by reading every volunteer (an import's duplicate check); the
  list sorts by them through ``ix_volunteer_list_name`` / ``ix_volunteer_list_mobile``.

Each cost every volunteer insert a B-tree with random keys, and a large import made each again from the whole
table: 100k rows, ~0.16 s of CPU of the ~1.8 s of writing them (``bench/excel.py``, issue 11). The server keeps
them (it searches volunteers by name and mobile across counties: ``sync.city_audit``).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be (0001's indexes).
INDEXES = {
    "ix_volunteer_county_code": "volunteer (county_code)",
    "ix_volunteer_name": "volunteer (name)",
    "ix_volunteer_mobile": "volunteer (mobile)",
}


def upgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for name, on in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
