"""Migration 0013: items resolved before it get the side they took (``sync_conflict.decision``) read from what
they hold, on SQLite and PostgreSQL, so the audit trail filters old decisions as it filters new ones."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from city_server import DATABASES

from schema.store import _alembic_config, head_revision
from sync.city_queue import QueueFilter, query_queue
from sync.serverdb import open_server_db

MOBILE = {"mobile": {"base": "13800138000", "server": "13900000001", "incoming": "13900000002"},
          "work_unit": {"base": "", "server": "县医院", "incoming": "县一中"}}
DUPLICATE = {"id": {"base": None, "server": "first-id", "incoming": "later-id"},
             "county_code": {"base": None, "server": "410522", "incoming": "410523"}}
BEFORE = {  # id → (fields, resolution, the decision the migration must find)
    "c-city": (MOBILE, {"mobile": "13900000001", "work_unit": "县医院"}, "city"),
    "c-county": (MOBILE, {"mobile": "13900000002", "work_unit": "县一中"}, "county"),
    "c-mixed": (MOBILE, {"mobile": "13900000002", "work_unit": "县医院"}, "mixed"),
    "c-value": (MOBILE, {"mobile": "13700000000", "work_unit": "县一中"}, "value"),
    "c-first": (DUPLICATE, {"action": "merge", "survivor": "first-id"}, "merge_first"),
    "c-later": (DUPLICATE, {"action": "merge", "survivor": "later-id", "mobile": "1"}, "merge_later"),
    "c-both": (DUPLICATE, {"action": "keep_both"}, "keep_both"),
    "c-open": (MOBILE, None, ""),
}


@pytest.fixture(params=DATABASES)
def url(request, tmp_path) -> str:
    """An empty database (not the tests' migrated template): it is brought to 0012 here."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'city.sqlite'}"


def test_items_resolved_before_0013_get_the_side_they_took(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection, "server"), "0012")
        for item_id, (fields, resolution, _) in BEFORE.items():
            connection.execute(sa.text(
                "INSERT INTO sync_conflict (id, county_code, tbl, row_id, kind, change_id, node_id, base_version, "
                "server_version, fields, status, created_at, resolved_at, resolved_by, resolution, reason, "
                "resolved_version) VALUES (:id, '410522', 'volunteer', :id, :kind, :id, 'node-a', 1, 2, :fields, "
                ":status, :at, :resolved_at, 'admin:李明', :resolution, '核实', 3)"),
                {"id": item_id, "kind": "duplicate_person" if fields is DUPLICATE else "field_conflict",
                 "fields": json.dumps(fields, ensure_ascii=False), "status": "resolved" if resolution else "open",
                 "at": datetime(2026, 1, 5), "resolved_at": datetime(2026, 1, 6) if resolution else None,
                 "resolution": json.dumps(resolution, ensure_ascii=False) if resolution else ""})
    engine.dispose()
    db = open_server_db(url)
    try:
        with db.read() as connection:
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
            found = dict(connection.execute(sa.text("SELECT id, decision FROM sync_conflict")).all())
        assert found == {item_id: decision for item_id, (_, _, decision) in BEFORE.items()}
        items, total = query_queue(db, QueueFilter(status="resolved", decision="mixed"))
        assert (total, [i.id for i in items], items[0].decision) == (1, ["c-mixed"], "mixed")
    finally:
        db.close()
