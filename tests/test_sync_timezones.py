"""Time zones: date-times have one form on every node, naive China Standard Time (UTC+8). A value typed with
an offset is converted on input, by the server (SQLite or PostgreSQL) and, through its answer, on the device
that sent it; every device pulls the same value and the digest compares equal rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from city_server import DATABASES, database_url
from sync_fixtures import StoreFactory, ThreadServer, local_record, server_record, sync, thread_server

from schema.models import Activity, Team
from schema.store import Store
from sync.records import row_to_wire

COUNTY = "410522"
NINE_AM = datetime(2026, 12, 1, 9, 0)


@pytest.fixture(params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(database_url(request, tmp_path / "city")) as running:
        yield running


def add_activity(store: Store) -> str:
    with store.session() as session:
        team = Team(county_code=COUNTY, name="白璧镇科技志愿服务队")
        session.add(team)
        session.flush()
        activity = Activity(county_code=COUNTY, title="冬小麦管理培训", team_id=team.id,
                            starts_at=datetime(2026, 11, 30, 9, 0), ends_at=datetime(2026, 12, 1, 17, 0))
        session.add(activity)
        session.commit()
        return activity.id


@pytest.mark.parametrize("typed", ["2026-12-01T09:00:00+08:00", "2026-12-01T01:00:00Z",
                                   "2026-11-30T20:00:00-05:00"])
def test_a_date_time_typed_with_an_offset_is_the_same_china_time_on_every_node(
        server: ThreadServer, stores: StoreFactory, typed: str) -> None:
    token = server.token(COUNTY)
    sender, other = stores.make(COUNTY), stores.make(COUNTY)
    activity_id = add_activity(sender)
    sync(sender, server, token)
    sync(other, server, token)
    with sqlite3.connect(sender.path) as connection:  # the clerk in the sqlite3 shell
        connection.execute("UPDATE activity SET starts_at = ? WHERE id = ?", (typed, activity_id))
    connection.close()
    assert sync(sender, server, token).applied == 1
    assert server_record(server.db, "activity", activity_id)["starts_at"] == NINE_AM
    assert local_record(sender, "activity", activity_id)["starts_at"] == NINE_AM  # the sender's own copy too
    assert sync(other, server, token).digest == "match"
    assert local_record(other, "activity", activity_id)["starts_at"] == NINE_AM
    assert sync(sender, server, token).digest == "match"
    wire = [row_to_wire("activity", local_record(store, "activity", activity_id)) for store in (sender, other)]
    assert wire[0] == wire[1] == row_to_wire("activity", server_record(server.db, "activity", activity_id))
    assert wire[0]["starts_at"] == "2026-12-01T09:00:00"
