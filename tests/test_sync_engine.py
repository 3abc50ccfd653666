"""Sync end to end over a real uvicorn server on 127.0.0.1 with real SQLite files: two counties and the
city, several devices per county, per-record answers, conflicts, digest, and the client's errors."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    delete_row,
    free_port,
    local_record,
    server_record,
    sync,
    update_row,
    wire,
)

from schema.models import CITY_CODE, SYNCED_TABLES, Membership, Team, new_id
from schema.store import Store
from sync import conflicts as queue
from sync.client import SyncClient
from sync.errors import IncompatibleVersion, ServerUnreachable, TokenRefused
from sync.hlc import HybridClock, Timestamp
from sync.replica import Replica, sync_status

A, B = "410522", "410523"


def all_rows(store: Store, table: str) -> list[tuple]:
    """Every row's synced fields, version and sync state (not who stamped it)."""
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).mappings().all()
    return [(wire(table, dict(row)), row["version"], row["sync_state"]) for row in rows]


def two_devices(city: ThreadServer, stores: StoreFactory) -> tuple[Store, Store, str, str]:
    """Two devices of county A that both hold one synced volunteer; returns them and its id."""
    token = city.token(A)
    first, second = stores.make(A), stores.make(A)
    row_id = add_volunteer(first, name="王芳", work_unit="县医院")
    sync(first, city, token)
    sync(second, city, token)
    return first, second, row_id, token


def test_initial_push_then_another_device_of_the_county_pulls_it_all(city: ThreadServer,
                                                                      stores: StoreFactory) -> None:
    from stvs_tui.demo import generate, store_demo

    token = city.token(A)
    first = stores.make(A)
    counts = store_demo(first, generate(A, "安阳县", 40, 3, date(2026, 3, 1)))
    summary = sync(first, city, token)
    assert summary.applied == sum(counts.values()) and summary.rejected == summary.conflicts == 0
    assert summary.digest == "match" and first.pending_change_count() == 0
    second = stores.make(A)
    pulled = sync(second, city, token)
    assert pulled.pulled == sum(counts.values()) and pulled.digest == "match"
    for table in ("team", "volunteer", "membership", "activity", "participation"):
        assert all_rows(first, table) == all_rows(second, table)
    again = sync(first, city, token)
    assert (again.pushed, again.pulled, again.digest) == (0, 0, "match")


def test_same_field_edited_on_two_devices_is_a_conflict_keeping_the_losing_value(
        city: ThreadServer, stores: StoreFactory) -> None:
    first, second, row_id, token = two_devices(city, stores)
    update_row(first, "volunteer", row_id, mobile="13900000001")
    update_row(second, "volunteer", row_id, mobile="13900000002")
    assert sync(first, city, token).applied == 1
    summary = sync(second, city, token)
    assert summary.conflicts == 1 and summary.conflict_records[0]["reason"] == "field_conflict"
    [conflict] = queue.list_conflicts(city.db, county=A)
    assert (conflict.fields["mobile"]["server"], conflict.fields["mobile"]["incoming"]) == \
        ("13900000001", "13900000002")
    assert server_record(city.db, "volunteer", row_id)["mobile"] == "13900000001"  # provisional winner
    local = local_record(second, "volunteer", row_id)
    assert local["mobile"] == "13900000001" and local["sync_state"] == "conflict"
    assert sync_status(second).conflicts_waiting == 1


def test_disjoint_fields_edited_on_two_devices_merge(city: ThreadServer, stores: StoreFactory) -> None:
    first, second, row_id, token = two_devices(city, stores)
    update_row(first, "volunteer", row_id, mobile="13900000001")
    update_row(second, "volunteer", row_id, work_unit="县农业农村局")
    sync(first, city, token)
    summary = sync(second, city, token)
    assert summary.merged == 1 and summary.conflicts == 0
    sync(first, city, token)
    for store in (first, second):
        row = local_record(store, "volunteer", row_id)
        assert (row["mobile"], row["work_unit"], row["sync_state"]) == ("13900000001", "县农业农村局", "synced")
    assert wire("volunteer", local_record(first, "volunteer", row_id)) == \
        wire("volunteer", server_record(city.db, "volunteer", row_id))


def test_same_value_set_on_two_devices_is_one_change_not_a_conflict(city: ThreadServer, stores: StoreFactory) -> None:
    """The same edit of the same row from the same base is the same change, whichever device sent it."""
    first, second, row_id, token = two_devices(city, stores)
    update_row(first, "volunteer", row_id, title="主任医师")
    update_row(second, "volunteer", row_id, title="主任医师")
    sync(first, city, token)
    summary = sync(second, city, token)
    assert (summary.applied, summary.duplicates, summary.conflicts, summary.merged) == (0, 1, 0, 0)
    assert queue.list_conflicts(city.db, county=A) == []
    assert server_record(city.db, "volunteer", row_id)["version"] == 2
    assert wire("volunteer", local_record(second, "volunteer", row_id)) == \
        wire("volunteer", server_record(city.db, "volunteer", row_id))


def test_delete_on_one_device_against_edit_on_another_is_a_conflict(city: ThreadServer,
                                                                     stores: StoreFactory) -> None:
    first, second, row_id, token = two_devices(city, stores)
    update_row(first, "volunteer", row_id, work_unit="县疾控中心")
    delete_row(second, "volunteer", row_id)
    sync(first, city, token)
    summary = sync(second, city, token)
    assert summary.conflicts == 1 and summary.conflict_records[0]["reason"] == "delete_vs_edit"
    assert server_record(city.db, "volunteer", row_id)["deleted"] is False
    restored = local_record(second, "volunteer", row_id)
    assert restored is not None and restored["work_unit"] == "县疾控中心" and restored["sync_state"] == "conflict"


def test_edit_against_an_earlier_delete_is_a_conflict(city: ThreadServer, stores: StoreFactory) -> None:
    first, second, row_id, token = two_devices(city, stores)
    delete_row(first, "volunteer", row_id)
    update_row(second, "volunteer", row_id, work_unit="县疾控中心")
    assert sync(first, city, token).applied == 1
    summary = sync(second, city, token)
    assert summary.conflicts == 1 and summary.conflict_records[0]["reason"] == "edit_vs_delete"
    [conflict] = queue.list_conflicts(city.db, county=A)
    assert conflict.fields["work_unit"]["incoming"] == "县疾控中心"


def test_pull_never_overwrites_a_row_with_unsynced_edits(city: ThreadServer, stores: StoreFactory) -> None:
    first, second, row_id, token = two_devices(city, stores)
    update_row(first, "volunteer", row_id, name="王芳芳")
    sync(first, city, token)
    update_row(second, "volunteer", row_id, notes="本地未上传")
    with SyncClient(second, city.url, token) as client:
        hello = client.hello()
        from sync.client import SyncSummary

        summary = SyncSummary()
        client.pull(hello.server_id, summary, lambda _p: None)
    assert summary.skipped_pending == 1
    kept = local_record(second, "volunteer", row_id)
    assert (kept["name"], kept["notes"]) == ("王芳", "本地未上传")
    assert sync(second, city, token).merged == 1
    merged = local_record(second, "volunteer", row_id)
    assert (merged["name"], merged["notes"], merged["sync_state"]) == ("王芳芳", "本地未上传", "synced")


def test_resolving_a_conflict_makes_a_version_that_reaches_the_county(city: ThreadServer,
                                                                      stores: StoreFactory) -> None:
    first, second, row_id, token = two_devices(city, stores)
    update_row(first, "volunteer", row_id, mobile="13900000001")
    update_row(second, "volunteer", row_id, mobile="13900000002")
    sync(first, city, token)
    sync(second, city, token)
    [conflict] = queue.list_conflicts(city.db, county=A)
    resolved = queue.resolve_conflict(city.db, conflict.id, {"mobile": "incoming"}, "电话以本人确认为准", "市科协")
    assert resolved.status == "resolved" and resolved.resolution == {"mobile": "13900000002"}
    assert queue.list_conflicts(city.db, county=A) == []
    for store in (second, first):
        sync(store, city, token)
        row = local_record(store, "volunteer", row_id)
        assert (row["mobile"], row["sync_state"]) == ("13900000002", "synced")
    assert sync_status(second).conflicts_waiting == 0


def test_invalid_record_is_rejected_alone_with_a_reason(city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(A)
    store = stores.make(A)
    good = add_volunteer(store, name="李明")
    bad = add_volunteer(store, name="赵强")
    update_row(store, "volunteer", bad, mobile="12345")  # as a plain SQL edit would, past the form
    summary = sync(store, city, token)
    assert (summary.applied, summary.rejected) == (1, 1)
    [rejection] = summary.rejected_records
    assert rejection["id"] == bad and rejection["reason"] == "invalid" and "mobile" in rejection["message"]
    assert server_record(city.db, "volunteer", good) is not None and server_record(city.db, "volunteer", bad) is None
    assert local_record(store, "volunteer", bad)["sync_state"] == "error" and sync_status(store).errors == 1
    update_row(store, "volunteer", bad, mobile="13700000000")
    fixed = sync(store, city, token)
    assert (fixed.applied, fixed.rejected) == (1, 0) and sync_status(store).errors == 0


def test_child_whose_parent_was_rejected_is_rejected_not_the_batch(city: ThreadServer,
                                                                   stores: StoreFactory) -> None:
    token = city.token(A)
    store = stores.make(A)
    volunteer = add_volunteer(store)
    team = new_id()
    with store.engine.begin() as connection:
        connection.execute(Team.__table__.insert(), [Team(id=team, county_code=A, name="城关镇科技志愿服务队",
                                                          created_at=datetime(2026, 1, 1)).model_dump()])
        connection.execute(Membership.__table__.insert(), [Membership(
            county_code=A, team_id=team, volunteer_id=volunteer, created_at=datetime(2026, 1, 1)).model_dump()])
    update_row(store, "team", team, tier="no-such-tier")
    summary = sync(store, city, token)
    assert (summary.applied, summary.rejected) == (1, 2)
    reasons = {r["table"]: r["reason"] for r in summary.rejected_records}
    assert reasons == {"team": "invalid", "membership": "missing_reference"}
    assert server_record(city.db, "volunteer", volunteer) is not None


def test_a_batch_is_built_from_one_snapshot_of_the_store(stores: StoreFactory) -> None:
    """An edit committed while a batch is being built waits for the next batch: the rows' log entries and
    their contents are read in one transaction, so a change never carries content its entries do not cover."""
    from sync.changes import Cursor, build_batch, pending_rows

    store = stores.make(A)
    row_id = add_volunteer(store, name="王芳")
    with store.engine.connect() as connection:
        pending = pending_rows(connection, Cursor(), 100)
        update_row(store, "volunteer", row_id, name="李娜")
        batch = build_batch(connection, pending, store.node_id, HybridClock(store.node_id))
    assert [(c["id"], c["fields"]["name"]) for c in batch.changes] == [(row_id, "王芳")]


def test_bases_and_log_entries_are_found_wherever_they_fall_among_the_ids_asked(stores: StoreFactory) -> None:
    """The lookups skip an id range with nothing in it, and only such a range."""
    from sync.changes import load_bases

    store = stores.make(A)
    ids = sorted(add_volunteer(store) for _ in range(5))
    with store.engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO sync_base (tbl, row_id, version, data) VALUES ('volunteer', ?, 2, "
                                   "'{\"name\": \"王芳\"}')", (ids[2],))
        assert load_bases(connection, "volunteer", ids) == {ids[2]: (2, {"name": "王芳"})}
        assert load_bases(connection, "volunteer", [ids[4], ids[2], ids[0]]) == {ids[2]: (2, {"name": "王芳"})}
        assert load_bases(connection, "volunteer", ids[:2] + ids[3:]) == {}
        assert load_bases(connection, "volunteer", ids[3:]) == load_bases(connection, "team", ids) == {}
        assert Replica._pending_ids(connection, "volunteer", ids) == set(ids)
        connection.exec_driver_sql("DELETE FROM change_log WHERE row_id IN (?, ?)", (ids[0], ids[4]))
        assert Replica._pending_ids(connection, "volunteer", [ids[0], ids[4]]) == set()
        assert Replica._pending_ids(connection, "volunteer", [ids[4], ids[1], ids[0]]) == {ids[1]}


def test_rows_are_read_alike_whether_they_fill_their_id_range_or_not(stores: StoreFactory) -> None:
    """A batch's rows are read by walking their id range when they (nearly) fill it, by id otherwise: the
    same rows either way, and never one that was not asked for."""
    from sync.changes import load_rows

    store = stores.make(A)
    ids = sorted(add_volunteer(store, name=f"志愿者{n}") for n in range(10))
    names = {row_id: name for row_id, name in zip(ids, (f"志愿者{n}" for n in range(10)), strict=True)}
    with store.engine.connect() as connection:
        for asked in (ids, ids[:4] + ids[5:9], [ids[9], ids[0]], [ids[3], "no-such-id", ids[2]], []):
            rows = load_rows(connection, "volunteer", asked)
            assert {row_id: row["name"] for row_id, row in rows.items()} == \
                {row_id: names[row_id] for row_id in asked if row_id in names}
            assert all(row["deleted"] is False and row["created_at"] == "2026-01-01T09:00:00" for row in rows.values())


def convert_raw_row(plan: tuple[tuple[int, Any, dict[Any, Any] | None], ...], raw: tuple[Any, ...]) -> list[Any]:
    """A raw row's values with each ``plan`` column (index, converter, memo or None) in wire form: the loop over the
    converted columns that ``sync.changes._row_reader``'s compiled reader replaced, kept here as its definition."""
    values = list(raw)
    for index, convert, memo in plan:
        value = values[index]
        if value is None:
            continue
        if memo is None or type(value) is not str:
            values[index] = convert(value)
        else:
            converted = memo.get(value)
            if converted is None:  # a converter never returns None
                converted = memo[value] = convert(value)
            values[index] = converted
    return values


@pytest.mark.parametrize("table", SYNCED_TABLES)
def test_the_compiled_row_reader_converts_as_the_column_loop_does(table: str) -> None:
    """``load_rows``' compiled reader (one dict comprehension per table) gives each raw row as
    ``convert_raw_row``, the loop over the converted columns it replaced, does: flags 0/1 as booleans, stored
    dates and date-times in wire form (a value met again taken from the memo), anything else and nulls as read."""
    from sync.changes import _raw_converters, _row_reader
    from sync.records import column_kinds, wire_fields

    names, kinds = wire_fields(table), column_kinds(table)
    stored = {"datetime": ["2026-03-01 09:00:00.000000", "2026-03-01 09:00:00.250000", "2026-03-01T09:00:00",
                           "2026-03-01 09:00:00.000000", 7, None],
              "date": ["2026-03-01", "2026-03-01", "2026-03-02", 20260301, None],
              "bool": [1, 0, None, 2, True], "int": [3, None], "float": [2.5, 3, None]}
    raws = []
    for n in range(6):
        values = [stored[kinds[name]][n % len(stored[kinds[name]])] if kinds[name] in stored else f"{name}-{n % 2}"
                  for name in names]
        raws.append((*values, f"row-{n}"))
    plan = tuple((index, convert, None if convert is bool else {}) for index, convert in _raw_converters(table))
    expected = {}
    for raw in raws:
        values = convert_raw_row(plan, raw)
        expected[values[-1]] = dict(zip(names, values, strict=False))
    read = _row_reader(table)
    for wanted in (None, {"row-1", "row-4", "no-such-row"}):
        rows: dict[str, dict[str, object]] = {}
        read(iter(raws), wanted, rows, *({} for _ in range(read.memos)))
        want = {key: row for key, row in expected.items() if wanted is None or key in wanted}
        assert rows == want and list(rows) == list(want)
        assert all(list(rows[key].items()) == list(want[key].items()) for key in want)
        assert all(type(value) is type(want[key][name]) for key in want for name, value in rows[key].items())


def test_replayed_batch_returns_the_stored_answer_and_creates_nothing_twice(city: ThreadServer,
                                                                            stores: StoreFactory) -> None:
    from sync.changes import Cursor, build_batch, pending_rows
    from sync.serverdb import schema_version

    token = city.token(A)
    store = stores.make(A)
    for _ in range(3):
        add_volunteer(store)
    with store.engine.connect() as connection:
        batch = build_batch(connection, pending_rows(connection, Cursor(), 100), store.node_id,
                            HybridClock(store.node_id))
    body = {"node_id": store.node_id, "protocol_version": 1, "schema_version": schema_version(),
            "batch_id": "batch-1", "changes": batch.changes}
    headers = {"Authorization": f"Bearer {token}"}
    first = httpx.post(f"{city.url}/api/v1/sync/push", json=body, headers=headers)
    replay = httpx.post(f"{city.url}/api/v1/sync/push", json=body, headers=headers)
    assert first.status_code == replay.status_code == 200 and first.json() == replay.json()
    assert [r["status"] for r in first.json()["results"]] == ["applied"] * 3
    again = httpx.post(f"{city.url}/api/v1/sync/push", json=body | {"batch_id": "batch-2"}, headers=headers)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3
    altered = json.loads(json.dumps(body))
    altered["changes"][0]["fields"]["name"] = "改过的名字"
    assert httpx.post(f"{city.url}/api/v1/sync/push", json=altered, headers=headers).status_code == 409
    # A change is its content, not its id: the same id with other content in a new batch is another change.
    other = httpx.post(f"{city.url}/api/v1/sync/push", json=altered | {"batch_id": "batch-3"}, headers=headers)
    assert [r["status"] for r in other.json()["results"]] == ["conflict", "duplicate", "duplicate"]
    with city.db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*), MAX(version) FROM volunteer").one() == (3, 1)
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM server_change").scalar() == 3


def test_county_token_cannot_read_or_write_another_countys_records(city: ThreadServer,
                                                                    stores: StoreFactory) -> None:
    a_store, b_store = stores.make(A), stores.make(B)
    a_token, b_token = city.token(A), city.token(B)
    a_row = add_volunteer(a_store)
    sync(a_store, city, a_token)
    assert sync(b_store, city, b_token).pulled == 0
    assert local_record(b_store, "volunteer", a_row) is None
    headers = {"Authorization": f"Bearer {b_token}"}
    fetch = httpx.post(f"{city.url}/api/v1/sync/fetch", json={"table": "volunteer", "ids": [a_row]}, headers=headers)
    assert fetch.status_code == 403
    with pytest.raises(sa.exc.IntegrityError, match="another county"):  # the store itself refuses such a row
        add_volunteer(b_store, county_code=A)
    assert httpx.get(f"{city.url}/api/v1/sync/pull", params={"node_id": a_store.node_id}, headers=headers) \
        .status_code == 403


def test_city_reference_data_reaches_every_county_and_the_admin_sees_all(city: ThreadServer,
                                                                          stores: StoreFactory) -> None:
    city_store = stores.make(CITY_CODE)
    admin = city.token(CITY_CODE, admin=True)
    with city_store.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO reporting_deadline (id, county_code, version, updated_hlc, updated_by, deleted, sync_state,"
            " created_at, name, kind, period, due_on, note) VALUES ('d1', '410500', 0, '', '', 0, 'local',"
            " '2026-01-01 00:00:00.000000', '三月月报', 'monthly', '2026-03', '2026-04-05', '')")
    sync(city_store, city, admin)
    a_store, b_store = stores.make(A), stores.make(B)
    add_volunteer(a_store)
    add_volunteer(b_store)
    for store, code in ((a_store, A), (b_store, B)):
        summary = sync(store, city, city.token(code))
        assert summary.pulled == 1 and local_record(store, "reporting_deadline", "d1")["name"] == "三月月报"
    assert sync(city_store, city, admin).pulled == 2


def test_digest_mismatch_is_repaired_by_a_targeted_rediff_and_reported(city: ThreadServer,
                                                                        stores: StoreFactory) -> None:
    first, second, row_id, token = two_devices(city, stores)
    update_row(first, "volunteer", row_id, name="王芳芳")
    sync(first, city, token)
    sync(second, city, token)
    with second.applying_remote_changes() as connection:  # a pulled change lost on this device
        connection.exec_driver_sql("UPDATE sync_base SET version = 1 WHERE row_id = ?", (row_id,))
        connection.exec_driver_sql("UPDATE volunteer SET name = '王芳', version = 1 WHERE id = ?", (row_id,))
    Replica(second).recompute_digest()
    summary = sync(second, city, token)
    assert summary.digest == "repaired" and summary.repaired == 1
    assert local_record(second, "volunteer", row_id)["name"] == "王芳芳"
    assert sync(second, city, token).digest == "match"


def test_clock_is_anchored_on_server_time(city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(A)
    store = stores.make(A)
    row_id = add_volunteer(store)
    with SyncClient(store, city.url, token) as client:
        client.clock = HybridClock(store.node_id, now=lambda: 978_307_200_000)  # a laptop stuck in 2001
        client.run()
    stamp = Timestamp.parse(server_record(city.db, "volunteer", row_id)["updated_hlc"])
    assert stamp.wall_ms > time.time() * 1000 - 600_000 and stamp.node == store.node_id


def test_unreachable_server_refused_token_and_incompatible_version_are_clear_errors(
        city: ThreadServer, stores: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    store = stores.make(A)
    with pytest.raises(ServerUnreachable, match="unreachable"), \
            SyncClient(store, f"http://127.0.0.1:{free_port()}", "t", retries=1, backoff=0.01) as client:
        client.run()
    with pytest.raises(TokenRefused, match="token"), SyncClient(store, city.url, "not-a-token") as client:
        client.run()
    monkeypatch.setattr("sync.client.schema_version", lambda: "9999")
    with pytest.raises(IncompatibleVersion, match="incompatible schema"), \
            SyncClient(store, city.url, city.token(A)) as client:
        client.run()


def test_dashboard_figures_count_unsynced_changes_and_last_sync(city: ThreadServer, stores: StoreFactory) -> None:
    store = stores.make(A)
    add_volunteer(store)
    add_volunteer(store)
    before = sync_status(store)
    assert (before.unsynced_changes, before.last_sync_at) == (2, "")
    sync(store, city, city.token(A))
    after = sync_status(store)
    assert after.unsynced_changes == 0 and after.last_sync_at and after.conflicts_waiting == 0


def test_server_upload_report_counts_each_answer(city: ThreadServer, stores: StoreFactory) -> None:
    store = stores.make(A)
    add_volunteer(store)
    bad = add_volunteer(store)
    update_row(store, "volunteer", bad, mobile="1")
    sync(store, city, city.token(A))
    with city.db.engine.connect() as connection:
        report = connection.execute(sa.text("SELECT changes, applied, rejected, county_code FROM sync_batch")).one()
    assert tuple(report) == (2, 1, 1, A)
