"""Core tables shared by county stores and the city server; device-local tables on county stores only.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(role: str = "county") -> None:
    op.create_table(
        "monthly_report",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("is_nil", sa.Boolean(), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("by_kind", sa.String(), nullable=False),
        sa.Column("by_venue", sa.String(), nullable=False),
        sa.Column("person_times", sa.Integer(), nullable=False),
        sa.Column("volunteers", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("beneficiaries", sa.Integer(), nullable=False),
        sa.Column("new_volunteers", sa.Integer(), nullable=False),
        sa.Column("new_teams", sa.Integer(), nullable=False),
        sa.Column("highlights", sa.String(length=4000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("county_code", "period", name="uq_monthly_report_period"),
    )
    with op.batch_alter_table("monthly_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monthly_report_county_code"), ["county_code"], unique=False)

    op.create_table(
        "region",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=6), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "reporting_deadline",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reporting_deadline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reporting_deadline_county_code"), ["county_code"], unique=False)

    op.create_table(
        "team",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("host_kind", sa.String(length=32), nullable=False),
        sa.Column("host_unit", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("leader_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("service_kinds", sa.String(length=200), nullable=False),
        sa.Column("stvs_status", sa.String(length=16), nullable=False),
        sa.Column("stvs_registered_on", sa.Date(), nullable=True),
        sa.Column("stvs_org_no", sa.String(length=40), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dissolved_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_county_code"), ["county_code"], unique=False)
        batch_op.create_index("ix_team_parent", ["parent_id"], unique=False)

    op.create_table(
        "volunteer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_type", sa.String(length=16), nullable=False),
        sa.Column("id_number", sa.String(length=30), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("mobile", sa.String(length=20), nullable=False),
        sa.Column("phone2", sa.String(length=32), nullable=False),
        sa.Column("work_unit", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=50), nullable=False),
        sa.Column("expertise", sa.String(length=200), nullable=False),
        sa.Column("talent_tags", sa.String(length=200), nullable=False),
        sa.Column("availability", sa.String(length=100), nullable=False),
        sa.Column("publicity_consent", sa.Boolean(), nullable=False),
        sa.Column("stvs_status", sa.String(length=16), nullable=False),
        sa.Column("stvs_registered_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("volunteer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volunteer_county_code"), ["county_code"], unique=False)
        batch_op.create_index("ix_volunteer_id_number", ["id_number"], unique=False)
        batch_op.create_index("ix_volunteer_mobile", ["mobile"], unique=False)
        batch_op.create_index("ix_volunteer_name", ["name"], unique=False)

    op.create_table(
        "activity",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("service_kind", sa.String(length=32), nullable=False),
        sa.Column("venue_kind", sa.String(length=16), nullable=False),
        sa.Column("partner_unit", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("content", sa.String(length=2000), nullable=False),
        sa.Column("recruit_quota", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("person_in_charge", sa.String(length=50), nullable=False),
        sa.Column("recorder", sa.String(length=50), nullable=False),
        sa.Column("beneficiaries", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=4000), nullable=False),
        sa.Column("publicity_url", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_county_code"), ["county_code"], unique=False)
        batch_op.create_index("ix_activity_starts", ["starts_at"], unique=False)
        batch_op.create_index("ix_activity_team", ["team_id"], unique=False)

    op.create_table(
        "commendation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("volunteer_id", sa.String(length=36), nullable=True),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=100), nullable=False),
        sa.Column("awarded_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("commendation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commendation_county_code"), ["county_code"], unique=False)

    op.create_table(
        "membership",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("volunteer_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_county_code"), ["county_code"], unique=False)
        batch_op.create_index("ix_membership_team", ["team_id"], unique=False)
        batch_op.create_index("ix_membership_volunteer", ["volunteer_id"], unique=False)

    op.create_table(
        "demand",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("requesting_unit", sa.String(length=100), nullable=False),
        sa.Column("unit_kind", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("need", sa.String(length=2000), nullable=False),
        sa.Column("wanted_service_kind", sa.String(length=32), nullable=False),
        sa.Column("wanted_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("activity_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_county_code"), ["county_code"], unique=False)

    op.create_table(
        "participation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_hlc", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("sync_state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("activity_id", sa.String(length=36), nullable=False),
        sa.Column("volunteer_id", sa.String(length=36), nullable=False),
        sa.Column("signed_up_at", sa.DateTime(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("hours_confirmed", sa.Boolean(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=50), nullable=False),
        sa.Column("evaluation", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.create_index("ix_participation_activity", ["activity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_participation_county_code"), ["county_code"], unique=False)
        batch_op.create_index("ix_participation_volunteer", ["volunteer_id"], unique=False)
    if role == "county":
        op.create_table(
            "change_log",
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("tbl", sa.String(length=32), nullable=False),
            sa.Column("row_id", sa.String(length=36), nullable=False),
            sa.Column("op", sa.String(length=1), nullable=False),
            sa.Column("at", sa.String(length=32), nullable=False),
            sa.PrimaryKeyConstraint("seq"),
        )
        op.create_table(
            "sync_base",
            sa.Column("tbl", sa.String(length=32), nullable=False),
            sa.Column("row_id", sa.String(length=36), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("data", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("tbl", "row_id"),
        )
        op.create_table(
            "sync_guard",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("active", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_table(
            "setting",
            sa.Column("key", sa.String(length=64), nullable=False),
            sa.Column("value", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )


def downgrade(role: str = "county") -> None:
    if role == "county":
        op.drop_table("change_log")
        op.drop_table("sync_base")
        op.drop_table("sync_guard")
        op.drop_table("setting")
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_index("ix_participation_volunteer")
        batch_op.drop_index(batch_op.f("ix_participation_county_code"))
        batch_op.drop_index("ix_participation_activity")

    op.drop_table("participation")
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_county_code"))

    op.drop_table("demand")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index("ix_membership_volunteer")
        batch_op.drop_index("ix_membership_team")
        batch_op.drop_index(batch_op.f("ix_membership_county_code"))

    op.drop_table("membership")
    with op.batch_alter_table("commendation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commendation_county_code"))

    op.drop_table("commendation")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_team")
        batch_op.drop_index("ix_activity_starts")
        batch_op.drop_index(batch_op.f("ix_activity_county_code"))

    op.drop_table("activity")
    with op.batch_alter_table("volunteer", schema=None) as batch_op:
        batch_op.drop_index("ix_volunteer_name")
        batch_op.drop_index("ix_volunteer_mobile")
        batch_op.drop_index("ix_volunteer_id_number")
        batch_op.drop_index(batch_op.f("ix_volunteer_county_code"))

    op.drop_table("volunteer")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_index("ix_team_parent")
        batch_op.drop_index(batch_op.f("ix_team_county_code"))

    op.drop_table("team")
    with op.batch_alter_table("reporting_deadline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reporting_deadline_county_code"))

    op.drop_table("reporting_deadline")
    op.drop_table("region")
    with op.batch_alter_table("monthly_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monthly_report_county_code"))

    op.drop_table("monthly_report")
