"""A pull never crashes on local state: a pulled row the store cannot write is quarantined with its reason,
the pull finishes, and the clerk sees it (``sync doctor``) with the action that clears it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from city_server import DATABASES, database_url
from click.testing import CliRunner
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    local_record,
    sync,
    thread_server,
    update_row,
)
from test_sync_references import COUNTY, add_membership

from schema.models import MonthlyReport
from schema.store import Store
from stvs_tui.cli import main
from sync import quarantine
from sync.protocol import PulledRecord
from sync.replica import Replica


@pytest.fixture(params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(database_url(request, tmp_path / "city")) as running:
        yield running


def hard_delete(store: Store, table: str, row_id: str) -> None:
    """The clerk in the sqlite3 shell, which does not enforce foreign keys."""
    assert store.path is not None
    with sqlite3.connect(store.path) as connection:
        connection.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
    connection.close()


def volunteer_of(store: Store, membership_id: str) -> str:
    record = local_record(store, "membership", membership_id)
    assert record is not None
    return str(record["volunteer_id"])


def doctor(store: Store) -> dict:
    assert store.path is not None
    result = CliRunner().invoke(main, ["--data-dir", str(store.path.parent), "sync", "doctor", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_row_referring_to_a_hard_deleted_row_is_restored_from_the_server(
        server: ThreadServer, stores: StoreFactory) -> None:
    """Device A's clerk hard-deletes a volunteer in sqlite3 (a tombstone for the city); device B edits the
    volunteer's membership; A's next sync pulls the membership: the volunteer comes back as the tombstone the
    server has, the membership is written, nothing is held and the digest matches."""
    token = server.token(COUNTY)
    first, second = stores.make(COUNTY), stores.make(COUNTY)
    membership_id = add_membership(first)
    volunteer_id = volunteer_of(first, membership_id)
    assert sync(first, server, token).applied == 3
    sync(second, server, token)
    hard_delete(first, "volunteer", volunteer_id)
    assert sync(first, server, token).applied == 1  # the tombstone
    update_row(second, "membership", membership_id, role="leader")
    assert sync(second, server, token).applied == 1
    summary = sync(first, server, token)
    assert (summary.pulled, summary.quarantined, summary.digest) == (1, 0, "match")
    assert local_record(first, "membership", membership_id)["role"] == "leader"
    assert local_record(first, "volunteer", volunteer_id)["deleted"] is True
    assert doctor(first)["items"] == []


def server_loses(server: ThreadServer, table: str, row_id: str) -> None:
    """The server's row vanishes without a trace (a database restored from an older backup), its children kept."""
    engine = server.db.engine
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(str(engine.url.database)) as connection:  # foreign keys off, as in the shell
            connection.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        connection.close()
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no FK triggers
        connection.exec_driver_sql(f"DELETE FROM {table} WHERE id = %s", (row_id,))


def test_a_row_the_server_cannot_give_back_stays_quarantined_and_the_pull_finishes(
        server: ThreadServer, stores: StoreFactory) -> None:
    """Device B's clerk hard-deletes a volunteer and empties the change log in sqlite3 (nothing goes to the
    city); device A edits the volunteer's membership; then the server loses the volunteer (an old backup
    restored): the membership B pulls cannot be written, and the server cannot give the volunteer back. The pull
    still finishes, later rows arrive, the record waits in the quarantine and the doctor names it, its
    reason and the action; every later sync finishes the same way."""
    token = server.token(COUNTY)
    first, second = stores.make(COUNTY), stores.make(COUNTY)
    membership_id = add_membership(first)
    volunteer_id = volunteer_of(first, membership_id)
    sync(first, server, token)
    sync(second, server, token)
    hard_delete(second, "volunteer", volunteer_id)
    with sqlite3.connect(second.path) as connection:
        connection.execute("DELETE FROM change_log")
    connection.close()
    update_row(first, "membership", membership_id, role="leader")
    later = add_volunteer(first, name="李四")
    assert sync(first, server, token).applied == 2
    server_loses(server, "volunteer", volunteer_id)
    summary = sync(second, server, token)
    assert summary.quarantined == 1 and summary.digest == "quarantined"
    assert local_record(second, "volunteer", later) is not None  # the rest of the pull was written
    assert local_record(second, "membership", membership_id)["role"] == "member"
    [item] = doctor(second)["items"]
    assert item["kind"] == "quarantined" and item["reason"] == "foreign_key"
    assert volunteer_id in item["detail"] and item["table"] == "membership" and item["action"]
    assert sync(second, server, token).quarantined == 1


def quarantine_a_report(store: Store) -> tuple[str, str]:
    """A local report for 2026-11 (refused by the city, say) and the city's report for the same month pulled:
    returns (local id, city id) once the city's is quarantined."""
    with store.session() as session:
        local = MonthlyReport(county_code=COUNTY, period="2026-11")
        session.add(local)
        session.commit()
    city_report = MonthlyReport(county_code=COUNTY, period="2026-11", version=3)
    record = PulledRecord(seq=1, table="monthly_report", id=city_report.id, version=3,
                          record={k: v for k, v in json.loads(city_report.model_dump_json()).items()
                                  if k not in ("id", "version", "updated_hlc", "updated_by", "sync_state")})
    outcome = Replica(store).apply_pulled([record], 1, "server")
    assert (outcome.applied, outcome.quarantined) == (0, 1)
    return local.id, city_report.id


def test_a_unique_key_held_by_a_local_row_is_quarantined_until_the_city_version_is_taken(
        stores: StoreFactory) -> None:
    store = stores.make(COUNTY)
    local_id, city_id = quarantine_a_report(store)
    [held] = quarantine.quarantined(store)
    assert held.reason == "unique" and local_id in held.detail
    assert Replica(store).checkpoint("pull_since:server") == "1"
    [item] = doctor(store)["items"]
    assert item["action"] == "take_city" and item["command"] == f"stvs-tui sync take-city monthly_report:{city_id}"
    result = CliRunner().invoke(main, ["--data-dir", str(store.path.parent), "sync", "take-city",
                                       f"monthly_report:{city_id}"])
    assert result.exit_code == 0 and local_id in result.stdout
    assert quarantine.quarantined(store) == []
    assert local_record(store, "monthly_report", city_id) is not None
    assert local_record(store, "monthly_report", local_id) is None


def test_a_merged_answer_referring_to_a_hard_deleted_row_never_fails_the_push(
        server: ThreadServer, stores: StoreFactory) -> None:
    """Device A's clerk hard-deletes a volunteer in sqlite3 and edits the volunteer's membership; device B edited
    another field of it first. A's push is merged and the server sends the merged membership back, which refers to
    the deleted volunteer: the push still finishes, and the same sync brings the volunteer back as the server's
    tombstone and writes the membership."""
    token = server.token(COUNTY)
    first, second = stores.make(COUNTY), stores.make(COUNTY)
    membership_id = add_membership(first)
    volunteer_id = volunteer_of(first, membership_id)
    sync(first, server, token)
    sync(second, server, token)
    update_row(second, "membership", membership_id, role="leader")
    sync(second, server, token)
    hard_delete(first, "volunteer", volunteer_id)
    update_row(first, "membership", membership_id, joined_on="2026-03-01")
    summary = sync(first, server, token)
    assert summary.merged == 1 and summary.quarantined == 0, summary
    row = local_record(first, "membership", membership_id)
    assert (row["role"], str(row["joined_on"])) == ("leader", "2026-03-01")
    assert local_record(first, "volunteer", volunteer_id)["deleted"] is True
    assert sync(first, server, token).digest == "match"
