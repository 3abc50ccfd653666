"""The server on PostgreSQL: the engine's answers, and concurrent pushes and pulls through two uvicorn
workers where no pull may miss a change although sequence numbers are taken by concurrent transactions."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sync_fixtures import (
    ProcessServer,
    StoreFactory,
    ThreadServer,
    add_volunteer,
    local_record,
    sync,
    thread_server,
    update_row,
)

from schema.models import CITY_CODE, SYNCED_TABLES
from schema.store import Store
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


def test_concurrent_pushes_and_pulls_with_two_workers_miss_no_change(pg_url: str, tmp_path: Path) -> None:
    server = ProcessServer(pg_url, workers=2).start()
    try:
        stores = StoreFactory(tmp_path)
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
            thread.join(timeout=900)  # a guard against a hang only: the writers finish when their work is done
            assert not thread.is_alive(), "a writer did not finish"
        stop.set()
        for thread in readers:
            thread.join(timeout=300)
            assert not thread.is_alive(), "a reader did not stop"
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
            record_changes(db, first, [RowChange(COUNTIES[0], "volunteer", "v1", None, 1, "n1", None, {})])
            second.begin()
            second.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                record_changes(db, second, [RowChange(COUNTIES[1], "volunteer", "v2", None, 1, "n2", None, {})])
            second.rollback()
            first.commit()
            second.begin()
            record_changes(db, second, [RowChange(COUNTIES[1], "volunteer", "v2", None, 1, "n2", None, {})])
            second.commit()
            rows = second.exec_driver_sql("SELECT row_id FROM server_change ORDER BY seq").scalars().all()
            assert rows == ["v1", "v2"]
    finally:
        db.close()


def _held_push(city: ThreadServer, store: Store, token: str, taken: threading.Event, release: threading.Event,
               errors: list[BaseException]) -> None:
    """Push ``store``'s pending rows through the server's real write path, and hold the transaction
    open (sequence numbers taken, not committed) until ``release`` is set."""
    from sync.auth import authenticate
    from sync.changes import Cursor, build_batch, pending_rows
    from sync.hlc import HybridClock
    from sync.protocol import PushRequest
    from sync.push import BatchRun, change_hash, request_hash
    from sync.serverdb import schema_version

    try:
        with store.engine.connect() as connection:
            pending = pending_rows(connection, Cursor(), 100)
            changes = build_batch(connection, pending, store.node_id, HybridClock(store.node_id)).changes
        request = PushRequest(node_id=store.node_id, schema_version=schema_version(), batch_id="held-batch",
                              changes=changes)
        hashes = {change.change_id: change_hash(change) for change in request.changes}
        caller = authenticate(city.db.engine, token)
        assert caller is not None
        with city.db.write() as connection:
            BatchRun(city.db, connection, caller, request, request_hash(request, hashes.values()), hashes,
                     False).run()
            taken.set()
            release.wait(60)
    except BaseException as exc:  # reported by the test
        errors.append(exc)
        taken.set()


def _waiting_for_a_lock(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(connection.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar())
    finally:
        engine.dispose()


def test_a_pull_never_passes_a_change_whose_transaction_has_not_committed(pg_url: str, tmp_path: Path) -> None:
    """Transaction A takes a sequence number and holds; B pushes a later change meanwhile. Without the
    sequence lock B's number commits first, a pull moves its checkpoint past A's, and A's change is
    never pulled. With it, B waits for A, the pull in between sees neither, and the next pull gets both."""
    stores = StoreFactory(tmp_path)
    with thread_server(pg_url) as city:
        # Different counties: no partition row lock serialises the two by accident.
        store_a, store_b = stores.make(COUNTIES[0]), stores.make(COUNTIES[1])
        token_a, token_b, admin = city.token(COUNTIES[0]), city.token(COUNTIES[1]), city.token(CITY_CODE, True)
        row_a, row_b = add_volunteer(store_a), add_volunteer(store_b)
        taken, release, errors = threading.Event(), threading.Event(), []
        holder = threading.Thread(target=_held_push, args=(city, store_a, token_a, taken, release, errors))
        holder.start()
        assert taken.wait(30) and not errors, errors
        later = threading.Thread(target=lambda: errors.extend(_sync_errors(store_b, city, token_b)))
        later.start()
        # B either commits (no protection: the assertion below fails) or waits for A's lock; wait for one of
        # the two states (the deadline only guards against a hang).
        deadline = time.monotonic() + 600
        while later.is_alive() and not _waiting_for_a_lock(pg_url):
            assert time.monotonic() < deadline, "B neither finished nor waited for A's lock"
            time.sleep(0.05)
        pulled: set[str] = set()
        with httpx.Client(base_url=city.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as http:
            page = http.get("/api/v1/sync/pull", params={"since": 0, "limit": 100, "node_id": "reader"}).json()
            pulled |= {change["id"] for change in page["changes"]}
            release.set()
            holder.join(30)
            later.join(60)
            assert not errors, errors
            page = http.get("/api/v1/sync/pull", params={"since": page["next_since"], "limit": 100,
                                                         "node_id": "reader"}).json()
            pulled |= {change["id"] for change in page["changes"]}
        assert {row_a, row_b} <= pulled, "a pull skipped a change that committed after a later one"


def _sync_errors(store: Store, city: ThreadServer, token: str) -> list[BaseException]:
    try:
        sync(store, city, token)
    except BaseException as exc:  # reported by the test
        return [exc]
    return []
