"""No edit is lost while the clerk keeps working during a sync (issue 10, item 7).

The clerk's edit is made at the exact moment that once lost it: after the batch carrying the row was built
and sent, before its answer is written. That moment is reached by state, not by time: the real HTTP
transport is wrapped so that when the push carrying the row goes out, the clerk's ``sqlite3`` UPDATE runs
first. Everything else is real: the server (SQLite and PostgreSQL), the stores, the CLI.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from city_server import DATABASES, database_url
from clerk import COUNTY, Clerk, assert_in_sync, server_rows
from clerk import two_devices as clerk_devices
from sync_fixtures import ThreadServer, thread_server

from schema.store import open_store
from sync.client import SyncClient, SyncSummary


@pytest.fixture(params=DATABASES)
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(database_url(request, tmp_path / "city")) as server:
        yield server


class EditWhenSent(httpx.HTTPTransport):
    """The real transport; when a push carrying ``row_id`` goes out, ``edit`` runs first (once per push)."""

    def __init__(self, row_id: str, edit: Callable[[], None]) -> None:
        super().__init__()
        self.row_id, self.edit, self.edits = row_id, edit, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/push") and self.row_id.encode() in request.read():
            self.edit()
            self.edits += 1
        return super().handle_request(request)


def two_devices(city: ThreadServer, tmp_path: Path) -> tuple[Clerk, Clerk, str, str]:
    """Device A with the county's data, device B set up from the server; the row both will edit."""
    token = city.token(COUNTY)
    return (*clerk_devices(city.url, token, tmp_path), token)


def busy_sync(clerk: Clerk, url: str, token: str, row_id: str, statement: str, *params: object) -> SyncSummary:
    """A sync of many changes, in small batches, during which the clerk edits ``row_id`` again."""
    def edit() -> None:
        with sqlite3.connect(clerk.store_file) as connection:
            connection.execute(statement, params)
        connection.close()

    transport = EditWhenSent(row_id, edit)
    store = open_store(clerk.store_file, daily_backup=False)
    try:
        with SyncClient(store, url, token, batch_size=25, transport=transport) as client:
            summary = client.run()
    finally:
        store.close()
    assert transport.edits == 1
    return summary


def resolve_all(city: ThreadServer, tmp_path: Path, row_id: str, take: str) -> None:
    admin = city.token("410500", admin=True)
    city_clerk = Clerk(tmp_path / "citydesk")
    code, out, err = city_clerk.cli("conflicts", "list", "--county", COUNTY, "--json", "--server", city.url,
                                    "--token", admin)
    assert code == 0, out + err
    ids = [item["id"] for item in json.loads(out)["items"] if item["row_id"] == row_id]
    assert ids
    code, out, err = city_clerk.cli("conflicts", "resolve", *ids, "--take", take, "--reason", "核实",
                                    "--server", city.url, "--token", admin)
    assert code == 0, out + err


def test_an_edit_made_during_a_sync_on_a_field_in_conflict_never_overwrites_the_other_device(
        city: ThreadServer, tmp_path: Path) -> None:
    """A renames and syncs. B, not pulled, renames too, starts a sync of many changes and renames again
    while it runs. B's sync reports the conflict; B's next sync meets A's name as a conflict again instead
    of overwriting it; the city takes the city's value: A's name, on every device."""
    a, b, row, token = two_devices(city, tmp_path)
    a.sql("UPDATE volunteer SET name = '甲机改名' WHERE id = ?", row)
    a.sync()
    b.sql("UPDATE volunteer SET notes = '批量' || id")  # the big sync: every volunteer changed
    b.sql("UPDATE volunteer SET name = '乙机改名一' WHERE id = ?", row)
    first = busy_sync(b, city.url, token, row, "UPDATE volunteer SET name = '乙机改名二' WHERE id = ?", row)
    assert first.conflicts == 1 and first.rejected == 0
    assert server_rows(city.db)[("volunteer", row)]["name"] == "甲机改名"
    second = b.sync()
    assert second["conflicts"] == 1
    assert server_rows(city.db)[("volunteer", row)]["name"] == "甲机改名"
    resolve_all(city, tmp_path, row, "city")
    for device in (a, b):
        assert device.sync()["digest"] == "match"
        assert_in_sync(device, city.db)
    assert server_rows(city.db)[("volunteer", row)]["name"] == "甲机改名"


def test_an_edit_of_another_field_during_a_sync_is_kept_and_sent_next_time(city: ThreadServer,
                                                                          tmp_path: Path) -> None:
    """B's batch is merged with A's edit of another field while B edits a third one: B takes A's value
    (not reverting it on the next push), keeps its own later edit, and sends it on the next sync."""
    a, b, row, token = two_devices(city, tmp_path)
    a.sql("UPDATE volunteer SET work_unit = '甲机单位' WHERE id = ?", row)
    a.sync()
    b.sql("UPDATE volunteer SET notes = '乙机备注' WHERE id = ?", row)
    first = busy_sync(b, city.url, token, row, "UPDATE volunteer SET title = '乙机职称' WHERE id = ?", row)
    assert first.merged == 1 and first.conflicts == 0
    local = b.query("SELECT work_unit, notes, title FROM volunteer WHERE id = ?", row)[0]
    assert local == ("甲机单位", "乙机备注", "乙机职称")
    assert b.sync()["applied"] == 1
    a.sync()
    server = server_rows(city.db)[("volunteer", row)]
    assert (server["work_unit"], server["notes"], server["title"]) == ("甲机单位", "乙机备注", "乙机职称")
    for device in (a, b):
        assert_in_sync(device, city.db)
