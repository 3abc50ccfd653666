"""County stores hold their own county's records only: a trigger on every synced table refuses a row whose
``county_code`` is another county's, whatever writes it (the app, the importer, the ``sqlite3`` shell).

The city's own reference rows (410500, such as the reporting calendar) arrive by sync, written with
``sync_guard.active`` set, and are let through then. A store with no county yet (before ``init``) is not
checked, nor the city's own store (410500), which holds every county's records. The server refuses such a row too (per record, ``forbidden``); this keeps a clerk's mistake from
ever reaching the outbox.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose, as a migration must be (schema.models.SYNCED_TABLES and CITY_CODE at this revision).
TABLES = (
    "team", "volunteer", "membership", "activity", "participation", "hours_correction", "demand", "commendation",
    "monthly_report", "reporting_deadline",
)
CITY_CODE = "410500"
MESSAGE = ("county_code: 不能保存其他县区的记录，本库只保存本县区的记录 "
           "(a record of another county: this store holds its own county''s records only)")
_OWN = "(SELECT value FROM setting WHERE key = 'county_code')"
_FROM_SYNC = "EXISTS (SELECT 1 FROM sync_guard WHERE active = 1)"
CONDITION = (f"COALESCE({_OWN}, '{CITY_CODE}') NOT IN ('', '{CITY_CODE}') AND NEW.county_code IS NOT {_OWN} "
             f"AND NOT (NEW.county_code = '{CITY_CODE}' AND {_FROM_SYNC})")


def trigger_statements(table: str) -> list[str]:
    return [f"CREATE TRIGGER trg_{table}_own_county_{name} BEFORE {event} ON {table} WHEN {CONDITION} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            for name, event in (("insert", "INSERT"), ("update", "UPDATE OF county_code"))]


def upgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        for statement in trigger_statements(table):
            op.execute(statement)


def downgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        for name in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_own_county_{name}")
