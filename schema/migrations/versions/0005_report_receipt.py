"""Server: ``report_receipt``, the time the server first received each monthly report as submitted, written
by a trigger on ``monthly_report`` so that timeliness never depends on a county laptop's clock.

Revision ID: 0005
Revises: 0004

Numbered 0005 because 0004 is reserved for the hours correction; ``down_revision`` is the head at the time
this was written. Reports already received before this migration get their county's own submission time
(the only record there is of it), marked as such by nothing but this note.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The report statuses that mean "received by the city" (schema.reporting.RECEIVED_STATUSES), frozen here as
# a migration must be.
RECEIVED = "('submitted', 'accepted')"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER report_receipt_{event.split()[0].lower()} AFTER {event} ON monthly_report
    WHEN NEW.status IN {RECEIVED}
    BEGIN
        INSERT OR IGNORE INTO report_receipt (report_id, county_code, period, received_at)
        VALUES (NEW.id, NEW.county_code, NEW.period, datetime('now'));
    END"""
    for event in ("INSERT", "UPDATE OF status")
]

POSTGRES_FUNCTION = f"""CREATE FUNCTION stvs_report_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN {RECEIVED} THEN
        INSERT INTO report_receipt (report_id, county_code, period, received_at)
        VALUES (NEW.id, NEW.county_code, NEW.period, now() AT TIME ZONE 'UTC')
        ON CONFLICT (report_id) DO NOTHING;
    END IF;
    RETURN NULL;
END $$"""
POSTGRES_TRIGGER = """CREATE TRIGGER report_receipt AFTER INSERT OR UPDATE OF status ON monthly_report
    FOR EACH ROW EXECUTE FUNCTION stvs_report_receipt()"""


def upgrade(role: str = "county") -> None:
    if role != "server":
        return
    op.create_table(
        "report_receipt",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
    )
    op.execute(f"INSERT INTO report_receipt (report_id, county_code, period, received_at) "
               f"SELECT id, county_code, period, COALESCE(submitted_at, created_at) FROM monthly_report "
               f"WHERE status IN {RECEIVED}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade(role: str = "county") -> None:
    if role != "server":
        return
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS report_receipt ON monthly_report")
        op.execute("DROP FUNCTION IF EXISTS stvs_report_receipt()")
    else:
        for name in ("report_receipt_insert", "report_receipt_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("report_receipt")
