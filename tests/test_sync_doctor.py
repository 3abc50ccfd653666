"""``stvs-tui sync doctor`` lists whatever is stuck (refused or interrupted outbox batches, quarantined rows,
rejected records, open conflicts), each with its reason and the action that clears it; the actions work."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from city_server import DATABASES, database_url
from click.testing import CliRunner
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    server_record,
    sync,
    thread_server,
    update_row,
)
from test_sync_references import COUNTY, add_membership

from schema.store import Store
from stvs_tui.cli import main
from sync.changes import Cursor
from sync.client import SyncClient
from sync.credentials import save_token


@pytest.fixture(params=DATABASES)
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    """The real sync server on SQLite and on PostgreSQL (issue 10: each case holds on both)."""
    with thread_server(database_url(request, tmp_path / "city")) as server:
        yield server


def cli(store: Store, *args: str) -> tuple[int, str, str]:
    assert store.path is not None
    result = CliRunner().invoke(main, ["--data-dir", str(store.path.parent), "--lang", "en", "sync", *args])
    return result.exit_code, result.stdout, result.stderr


def doctor_items(store: Store) -> list[dict]:
    code, out, _ = cli(store, "doctor", "--json")
    assert code == 0
    return json.loads(out)["items"]


def test_a_clean_store_has_nothing_stuck(city: ThreadServer, stores: StoreFactory) -> None:
    store = stores.make(COUNTY)
    add_volunteer(store)
    sync(store, city, city.token(COUNTY))
    assert doctor_items(store) == []
    assert cli(store, "doctor")[1].splitlines() == ["Nothing is stuck", "No city server or token set: this "
                                                    "computer's view only"]


def test_rejected_records_and_open_conflicts_are_listed_with_their_reason_and_action(
        city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(COUNTY)
    first, second = stores.make(COUNTY), stores.make(COUNTY)
    membership_id = add_membership(first)
    volunteer_id = add_volunteer(first, name="张三")
    sync(first, city, token)
    sync(second, city, token)
    update_row(first, "volunteer", volunteer_id, work_unit="县医院")
    update_row(second, "volunteer", volunteer_id, work_unit="县一中")
    sync(first, city, token)
    with sqlite3.connect(second.path) as connection:  # the sqlite3 shell: a reference to nothing
        connection.execute("UPDATE membership SET team_id = ? WHERE id = ?",
                           ("019b0000-0000-7000-8000-000000000000", membership_id))
    connection.close()
    summary = sync(second, city, token)
    assert (summary.conflicts, summary.rejected) == (1, 1)
    items = {item["kind"]: item for item in doctor_items(second)}
    assert set(items) == {"rejected", "conflict"}
    assert items["rejected"]["row_id"] == membership_id and items["rejected"]["reason"] == "missing_reference"
    assert items["rejected"]["action"] == "correct_record" and items["rejected"]["action_text"]
    assert items["conflict"]["row_id"] == volunteer_id and items["conflict"]["action"] == "await_city"
    text = cli(second, "doctor")[1]
    assert "[Rejected] membership" in text and "[Conflict] volunteer" in text and "To clear:" in text
    # The first device sees the county's conflict too once it asks the server (the second device opened it).
    assert doctor_items(first) == []
    first.set_settings(server_url=city.url)
    save_token(first, token)
    code, out, _ = cli(first, "doctor", "--json")
    found = json.loads(out)
    assert found["server"] == "checked"
    [conflict] = found["items"]
    assert (conflict["kind"], conflict["row_id"], conflict["action"]) == ("conflict", volunteer_id, "await_city")
    assert json.loads(cli(first, "doctor", "--json", "--offline")[1])["items"] == []


def test_a_refused_batch_is_shown_and_dropping_it_lets_its_changes_go_again(
        city: ThreadServer, stores: StoreFactory) -> None:
    """A sync was cut off with a batch in the outbox, and that batch was then damaged (here: edited in the
    sqlite3 shell). The doctor shows it as interrupted; the next sync resends it, the server refuses it (422)
    and every later sync would too: the doctor names the batch and the refusal; `sync drop-batch` clears it,
    the changes go again in a new batch and nothing is lost."""
    token = city.token(COUNTY)
    store = stores.make(COUNTY)
    volunteer_id = add_volunteer(store, name="王五")
    with SyncClient(store, city.url, token) as client:
        _pending, batch = client._next_batch(Cursor())
        batch_id, _changes, payload = client._stage(batch.changes)
    damaged = orjson.loads(payload)
    damaged["changes"][0]["base_version"] = -1
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE sync_outbox SET payload = ? WHERE batch_id = ?",
                           (orjson.dumps(damaged).decode(), batch_id))
    connection.close()
    [interrupted] = doctor_items(store)
    assert (interrupted["kind"], interrupted["reason"], interrupted["action"]) == ("outbox", "interrupted", "resend")
    code, _, err = cli(store, "--server", city.url, "--token", token)
    assert code == 1 and "422" in err
    [refused] = doctor_items(store)
    assert (refused["kind"], refused["row_id"], refused["reason"]) == ("outbox", batch_id, "refused")
    assert "base_version" in refused["detail"] and refused["command"] == f"stvs-tui sync drop-batch {batch_id}"
    code, out, _ = cli(store, "drop-batch", batch_id)
    assert code == 0 and "1 changes will be sent again" in out
    summary = sync(store, city, token)
    assert (summary.applied, summary.digest) == (1, "match") and doctor_items(store) == []
    assert server_record(city.db, "volunteer", volunteer_id)["name"] == "王五"
    assert cli(store, "drop-batch", batch_id)[0] == 1


def test_doctor_needs_an_initialised_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "sync", "doctor"])
    assert result.exit_code == 1 and "init" in result.stderr
