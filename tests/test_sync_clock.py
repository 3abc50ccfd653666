"""Clocks: the HLC is bounded by the server's time. A device clock off by more than the bound does not stamp
changes (the server's time does, and the clerk is told); a stamp left years ahead by a clock since put right
is brought back; the server clamps stamps that run ahead."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from city_server import DATABASES, database_url
from click.testing import CliRunner
from sync_fixtures import StoreFactory, ThreadServer, add_volunteer, server_record, thread_server, update_row

from schema.models import new_id
from stvs_tui.cli import main
from stvs_tui.doctor import clock_lines
from sync.client import SyncClient
from sync.hlc import MAX_CLOCK_DRIFT_MS, HybridClock, Timestamp, wall_ms
from sync.protocol import API_PREFIX, Change, PushRequest
from sync.serverdb import schema_version

COUNTY = "410522"
THREE_YEARS_MS = 3 * 365 * 86_400_000


@pytest.fixture(params=DATABASES)
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    """The real sync server on SQLite and on PostgreSQL (issue 10: each case holds on both)."""
    with thread_server(database_url(request, tmp_path / "city")) as server:
        yield server


def near_now(stamp_text: str) -> bool:
    return abs(Timestamp.parse(stamp_text).wall_ms - wall_ms()) <= MAX_CLOCK_DRIFT_MS


def cli_sync(store, *args: str) -> dict:
    result = CliRunner().invoke(main, ["--data-dir", str(store.path.parent), "--lang", "en", "sync", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_stamp_left_years_ahead_is_brought_back_once_the_clock_is_right(
        city: ThreadServer, stores: StoreFactory) -> None:
    store = stores.make(COUNTY)
    row_id = add_volunteer(store)
    token = city.token(COUNTY)
    assert cli_sync(store, "--server", city.url, "--token", token)["clock_reset_from"] == ""
    future = Timestamp(wall_ms() + THREE_YEARS_MS, 7, store.node_id)
    with sqlite3.connect(store.path) as connection:  # what a sync made while the clock ran 3 years ahead left
        connection.execute("UPDATE sync_checkpoint SET value = ? WHERE key = 'hlc'", (str(future),))
    connection.close()
    update_row(store, "volunteer", row_id, work_unit="县医院")
    summary = cli_sync(store)
    assert summary["applied"] == 1 and summary["clock_skew_s"] == 0
    assert int(summary["clock_reset_from"][:4]) >= 2029
    assert near_now(server_record(city.db, "volunteer", row_id)["updated_hlc"])
    with sqlite3.connect(store.path) as connection:
        assert near_now(connection.execute("SELECT value FROM sync_checkpoint WHERE key = 'hlc'").fetchone()[0])
    connection.close()
    update_row(store, "volunteer", row_id, work_unit="县一中")
    again = cli_sync(store)
    assert again["applied"] == 1 and again["clock_reset_from"] == ""  # recovered: nothing left in the future


def test_a_device_clock_years_ahead_stamps_by_server_time_and_the_clerk_is_told(
        city: ThreadServer, stores: StoreFactory) -> None:
    store = stores.make(COUNTY)
    row_id = add_volunteer(store)
    with SyncClient(store, city.url, city.token(COUNTY)) as client:
        client.clock = HybridClock(store.node_id, now=lambda: wall_ms() + THREE_YEARS_MS)  # the laptop's clock
        summary = client.run()
    assert summary.applied == 1 and abs(summary.clock_skew_s - THREE_YEARS_MS // 1000) < 600
    assert near_now(server_record(city.db, "volunteer", row_id)["updated_hlc"])
    [told] = clock_lines(summary)
    assert "1095 d" in told


def test_a_clock_within_the_bound_is_left_alone() -> None:
    clock = HybridClock("n1", now=lambda: 1_000_000)
    check = clock.anchor(1_000_000 + MAX_CLOCK_DRIFT_MS - 1)
    assert not check.off and check.clamped_from_ms is None and clock.tick().wall_ms == 1_000_000


def test_the_server_clamps_a_stamp_far_ahead_of_its_time(city: ThreadServer, stores: StoreFactory) -> None:
    """A client that does not bound its clock (an old version, a bundle made offline) cannot put a future
    stamp on the server's rows."""
    token = city.token(COUNTY)
    row_id, node = new_id(), new_id()
    future = str(Timestamp(wall_ms() + THREE_YEARS_MS, 0, node))
    fields = {"county_code": COUNTY, "name": "王芳", "id_number": "11010519491231002X", "mobile": "13800138000"}
    request = PushRequest(node_id=node, schema_version=schema_version(), batch_id=new_id(), changes=[
        Change(change_id=new_id(), table="volunteer", id=row_id, base_version=0, fields=fields, hlc=future)])
    response = httpx.post(f"{city.url}{API_PREFIX}/sync/push", json=request.model_dump(mode="json"),
                          headers={"Authorization": f"Bearer {token}"})
    assert response.json()["results"][0]["status"] == "applied", response.text
    stored = Timestamp.parse(server_record(city.db, "volunteer", row_id)["updated_hlc"])
    assert abs(stored.wall_ms - wall_ms()) <= MAX_CLOCK_DRIFT_MS and stored.node == node
