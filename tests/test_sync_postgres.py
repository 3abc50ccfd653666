"""The server on PostgreSQL: the engine's answers, and concurrent pushes and pulls through two uvicorn
workers where no pull may miss a change although sequence numbers are taken by concurrent transactions."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sync_fixtures import (
    ProcessServer,
    StoreFactory,
    add_volunteer,
    local_record,
    sync,
    thread_server,
    update_row,
)

from schema.models import CITY_CODE, SYNCED_TABLES
from sync import conflicts as queue
from sync.client import SyncClient

pytestmark = pytest.mark.postgres
COUNTIES = ("410522", "410523", "410526")


def test_merge_conflict_and_resolution_on_postgres(pg_url: str, tmp_path: Path) -> None:
    stores = StoreFactory(tmp_path)
    with thread_server(pg_url) as city:
        token = city.token(COUNTIES[0])
        first, second = stores.make(COUNTIES[0]), stores.make(COUNTIES[0])
        row_id = add_volunteer(first)
        sync(first, city, token)
        sync(second, city, token)
        update_row(first, "volunteer", row_id, mobile="13900000001", notes="一")
        update_row(second, "volunteer", row_id, mobile="13900000002", work_unit="二")
        sync(first, city, token)
        summary = sync(second, city, token)
        assert summary.conflicts == 1
        [conflict] = queue.list_conflicts(city.db, county=COUNTIES[0])
        queue.resolve_conflict(city.db, conflict.id, {"mobile": "incoming"}, "以本人确认为准", "市科协")
        for store in (first, second):
            sync(store, city, token)
        rows = [local_record(s, "volunteer", row_id) for s in (first, second)]
        assert {(r["mobile"], r["notes"], r["work_unit"], r["sync_state"]) for r in rows} == \
            {("13900000002", "一", "二", "synced")}


def server_versions(url: str) -> dict[tuple[str, str], int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {(table, row_id): version for table in SYNCED_TABLES
                    for row_id, version in connection.exec_driver_sql(f"SELECT id, version FROM {table}")}
    finally:
        engine.dispose()


def writer(server: ProcessServer, store: object, token: str, rounds: int, errors: list[BaseException]) -> None:
    try:
        ids: list[str] = []
        for round_no in range(rounds):
            ids += [add_volunteer(store) for _ in range(12)]  # type: ignore[arg-type]
            for row_id in ids[-20:-12]:
                update_row(store, "volunteer", row_id, notes=f"第{round_no}轮")  # type: ignore[arg-type]
            with SyncClient(store, server.url, token, batch_size=4, retries=5, backoff=0.05) as client:  # type: ignore[arg-type]
                client.run()
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def reader(server: ProcessServer, token: str, node: str, stop: threading.Event,
           seen: dict[tuple[str, str], int], errors: list[BaseException]) -> None:
    since, headers = 0, {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            while True:
                finishing = stop.is_set()
                while True:
                    page = http.get("/api/v1/sync/pull", params={"since": since, "limit": 7, "node_id": node}).json()
                    for change in page["changes"]:
                        key = (change["table"], change["id"])
                        seen[key] = max(seen.get(key, 0), change["version"])
                    since = page["next_since"]
                    if not page["has_more"]:
                        break
                if finishing:
                    return
    except BaseException as exc:
        errors.append(exc)


def test_concurrent_pushes_and_pulls_with_two_workers_miss_no_change(pg_url: str) -> None:
    server = ProcessServer(pg_url, workers=2).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            stores = StoreFactory(Path(folder))
            admin = server.token(CITY_CODE, admin=True)
            errors: list[BaseException] = []
            stop = threading.Event()
            seen: list[dict[tuple[str, str], int]] = [{}, {}]
            readers = [threading.Thread(target=reader, args=(server, admin, f"reader-{i}", stop, seen[i], errors))
                       for i in range(2)]
            writers = [threading.Thread(target=writer, args=(server, stores.make(county), server.token(county), 4,
                                                             errors)) for county in COUNTIES for _device in range(2)]
            for thread in readers + writers:
                thread.start()
            for thread in writers:
                thread.join(timeout=300)
            stop.set()
            for thread in readers:
                thread.join(timeout=60)
            assert not errors, errors
            expected = server_versions(pg_url)
            assert len(expected) == len(COUNTIES) * 2 * 4 * 12
            for got in seen:
                assert got == expected
    finally:
        server.stop()


def test_change_sequence_is_taken_and_committed_one_transaction_at_a_time(pg_url: str) -> None:
    """While one transaction holds sequence numbers uncommitted, another cannot take later ones, so a
    reader can never see seq N+1 committed while N may still appear."""
    from sync.partition import RowChange, record_changes
    from sync.serverdb import open_server_db

    db = open_server_db(pg_url)
    try:
        with db.engine.connect() as first, db.engine.connect() as second:
            first.begin()
            record_changes(db, first, [RowChange(COUNTIES[0], "volunteer", "v1", None, 1, "n1")])
            second.begin()
            second.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                record_changes(db, second, [RowChange(COUNTIES[1], "volunteer", "v2", None, 1, "n2")])
            second.rollback()
            first.commit()
            second.begin()
            record_changes(db, second, [RowChange(COUNTIES[1], "volunteer", "v2", None, 1, "n2")])
            second.commit()
            rows = second.exec_driver_sql("SELECT row_id FROM server_change ORDER BY seq").scalars().all()
            assert rows == ["v1", "v2"]
    finally:
        db.close()
