"""A sync with nothing to do either way is one request (the hello with a no-op probe), against the real server;
a sync with anything to do, on either side, still does all of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sync_fixtures import StoreFactory, ThreadServer, add_volunteer, local_record, update_row

from schema.store import Store
from sync import conflicts as queue
from sync.client import SyncClient, SyncSummary
from sync.protocol import API_PREFIX, PROTOCOL_VERSION
from sync.serverdb import schema_version

A = "410522"
HELLO = f"{API_PREFIX}/sync/hello"


@contextmanager
def counted_client(store: Store, city: ThreadServer, token: str) -> Iterator[tuple[SyncClient, list[str]]]:
    """A sync client whose every request to the server is noted (method and path) as it is sent."""
    sent: list[str] = []
    with SyncClient(store, city.url, token, retries=2, backoff=0.05) as client:
        client.http.event_hooks["request"].append(lambda request: sent.append(f"{request.method} {request.url.path}"))
        yield client, sent


def counted_sync(store: Store, city: ThreadServer, token: str) -> tuple[SyncSummary, list[str]]:
    with counted_client(store, city, token) as (client, sent):
        return client.run(), sent


def test_a_sync_with_nothing_to_do_is_the_hello_alone(city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(A)
    store = stores.make(A)
    add_volunteer(store, name="王芳")
    first, sent = counted_sync(store, city, token)
    assert first.applied == 1 and first.digest == "match" and len(sent) > 1
    for _ in range(2):
        summary, sent = counted_sync(store, city, token)
        assert sent == [f"POST {HELLO}"]
        assert (summary.pushed, summary.pulled, summary.digest, summary.quarantined) == (0, 0, "match", 0)


def test_changes_on_either_side_still_sync_whole_then_the_next_is_one_request(
        city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(A)
    first, second = stores.make(A), stores.make(A)
    row_id = add_volunteer(first, name="王芳", work_unit="县医院")
    counted_sync(first, city, token)
    counted_sync(second, city, token)
    assert counted_sync(second, city, token)[1] == [f"POST {HELLO}"]

    # A change on the server's side (another device pushed it): pulled, digest compared.
    update_row(first, "volunteer", row_id, work_unit="县农业农村局")
    assert counted_sync(first, city, token)[0].applied == 1
    summary, sent = counted_sync(second, city, token)
    assert summary.pulled == 1 and summary.digest == "match"
    assert f"GET {API_PREFIX}/sync/pull" in sent
    assert local_record(second, "volunteer", row_id)["work_unit"] == "县农业农村局"
    assert counted_sync(second, city, token)[1] == [f"POST {HELLO}"]
    # The first device's own push moved the server's sequence; nothing in it is news to that device.
    assert counted_sync(first, city, token)[1] == [f"POST {HELLO}"]

    # A change on this side: pushed.
    update_row(second, "volunteer", row_id, mobile="13900000009")
    summary, sent = counted_sync(second, city, token)
    assert summary.applied == 1 and f"POST {API_PREFIX}/sync/push" in sent and summary.digest == "match"
    assert counted_sync(second, city, token)[1] == [f"POST {HELLO}"]
    summary, sent = counted_sync(first, city, token)
    assert summary.pulled == 1 and local_record(first, "volunteer", row_id)["mobile"] == "13900000009"


def test_a_city_decision_after_the_last_one_recorded_means_a_whole_sync(city: ThreadServer,
                                                                      stores: StoreFactory) -> None:
    token = city.token(A)
    first, second = stores.make(A), stores.make(A)
    row_id = add_volunteer(first, name="王芳")
    counted_sync(first, city, token)
    counted_sync(second, city, token)
    update_row(first, "volunteer", row_id, mobile="13900000001")
    update_row(second, "volunteer", row_id, mobile="13900000002")
    counted_sync(first, city, token)
    assert counted_sync(second, city, token)[0].conflicts == 1
    [conflict] = queue.list_conflicts(city.db, county=A)
    queue.resolve_conflict(city.db, conflict.id, {"mobile": "incoming"}, "本人确认", "admin:test")
    summary, sent = counted_sync(second, city, token)
    assert summary.resolutions == 1 and f"GET {API_PREFIX}/conflicts" in sent
    assert counted_sync(second, city, token)[1] == [f"POST {HELLO}"]
    # A later decision, now that the store has recorded one: only decisions after that one count.
    counted_sync(first, city, token)
    update_row(first, "volunteer", row_id, mobile="13900000003")
    update_row(second, "volunteer", row_id, mobile="13900000004")
    counted_sync(first, city, token)
    assert counted_sync(second, city, token)[0].conflicts == 1
    assert counted_sync(second, city, token)[1] == [f"POST {HELLO}"]  # the open conflict is no decision
    [later] = queue.list_conflicts(city.db, county=A)
    queue.resolve_conflict(city.db, later.id, {"mobile": "server"}, "本人确认", "admin:test")
    summary, sent = counted_sync(second, city, token)
    assert summary.resolutions == 1 and f"GET {API_PREFIX}/conflicts" in sent
    assert counted_sync(second, city, token)[1] == [f"POST {HELLO}"]


def test_a_hello_without_a_probe_is_answered_as_before(city: ThreadServer, stores: StoreFactory) -> None:
    """An older client (no probe) is not shown the probe's answer fields, which it would refuse."""
    token = city.token(A)
    body = {"node_id": "old-client", "protocol_version": PROTOCOL_VERSION, "schema_version": schema_version()}
    answer = httpx.post(f"{city.url}{HELLO}", json=body, headers={"Authorization": f"Bearer {token}"}).json()
    assert "up_to_date" not in answer and "pull_since" not in answer and answer["identity"] == "ok"
    probe = {"server_id": "another-server", "pull_since": 0, "row_count": 0, "digest": "0" * 16}
    answer = httpx.post(f"{city.url}{HELLO}", json={**body, "noop_probe": probe},
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert answer["up_to_date"] is False  # checkpoints of another server say nothing about this one


def test_a_sync_with_nothing_to_do_soon_after_the_last_is_a_read_alone(city: ThreadServer,
                                                                       stores: StoreFactory) -> None:
    """The server notes a node's quiet sync (last seen, pull checkpoint) unless it noted the same checkpoint less
    than QUIET_NOTE_SECONDS ago: then the no-op sync writes nothing (no transaction commits on the city's database),
    and once that is longer ago it is noted again."""
    import sqlite3
    from datetime import datetime, timedelta

    from sync.pull import QUIET_NOTE_SECONDS

    token = city.token(A)
    store = stores.make(A)
    add_volunteer(store, name="王芳")
    assert counted_sync(store, city, token)[0].applied == 1
    watcher = sqlite3.connect(city.db.engine.url.database, isolation_level=None)  # data_version: others' commits

    def node_seen() -> str:
        return str(watcher.execute("SELECT last_seen FROM sync_node WHERE node_id = ?", (store.node_id,)).fetchone()[0])

    summary, sent = counted_sync(store, city, token)  # noted: the first quiet one after the push's
    assert sent == [f"POST {HELLO}"] and summary.digest == "match"
    seen, version = node_seen(), watcher.execute("PRAGMA data_version").fetchone()[0]
    for _ in range(3):
        summary, sent = counted_sync(store, city, token)
        assert sent == [f"POST {HELLO}"] and summary.digest == "match"
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == version  # nothing committed meanwhile
    assert node_seen() == seen
    long_ago = (datetime.now() - timedelta(seconds=QUIET_NOTE_SECONDS + 5)).strftime("%Y-%m-%d %H:%M:%S.%f")
    watcher.execute("UPDATE sync_node SET last_seen = ? WHERE node_id = ?", (long_ago, store.node_id))
    summary, sent = counted_sync(store, city, token)
    assert sent == [f"POST {HELLO}"] and summary.digest == "match"
    assert node_seen() > seen  # noted again
    watcher.close()


def test_a_quiet_hello_is_answered_on_the_event_loop_and_any_other_on_a_worker(city: ThreadServer,
                                                                               stores: StoreFactory) -> None:
    """``_hello_on_loop`` (the server's event loop, no hop to a worker thread) answers exactly the hellos whose answer
    is a read alone, with the worker's answer; for any other (a pull to note, a refused token, a body of another
    version) it says None and the worker's ``_hello`` answers, errors included."""
    import orjson
    from fastapi.security import HTTPAuthorizationCredentials

    from sync import server as server_module

    def quiet_answer(*arguments: object):  # the event loop's answer, when the read alone settles the hello
        return server_module._hello_on_loop(*arguments)[0]  # type: ignore[arg-type]

    token = city.token(A)
    store = stores.make(A)
    add_volunteer(store, name="王芳")
    counted_sync(store, city, token)
    bodies: list[bytes] = []
    with counted_client(store, city, token) as (client, sent):
        client.http.event_hooks["request"].append(lambda request: bodies.append(request.read()))
        assert client.run().digest == "match" and sent == [f"POST {HELLO}"]
    hello = bodies[-1]
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    answer = quiet_answer(city.db, credentials, hello)
    assert answer is not None
    worker = server_module._hello(city.db, credentials, hello)
    quiet, full = orjson.loads(answer.body), orjson.loads(worker.body)
    assert quiet.pop("server_time_ms") and full.pop("server_time_ms")
    assert quiet == full and quiet["up_to_date"] is True
    assert answer.headers.get("x-stvs-pipeline") == "1"
    wrong = HTTPAuthorizationCredentials(scheme="Bearer", credentials="not-a-token")
    assert quiet_answer(city.db, wrong, hello) is None
    assert quiet_answer(city.db, credentials, b"{") is None
    other_version = orjson.dumps({**orjson.loads(hello), "protocol_version": PROTOCOL_VERSION + 1})
    assert quiet_answer(city.db, credentials, other_version) is None
    with city.db.engine.begin() as connection:  # noted long ago: this hello must write, on a worker
        connection.exec_driver_sql("UPDATE sync_node SET last_seen = '2020-01-01 00:00:00.000000'")
    assert quiet_answer(city.db, credentials, hello) is None
    response = httpx.post(f"{city.url}{HELLO}", content=hello, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["up_to_date"] is True
    assert quiet_answer(city.db, credentials, hello) is not None  # noted again by the worker
    held = []  # connections the workers hold: the event loop must not wait for one
    while server_module._pool_has_room(city.db.engine):
        held.append(city.db.engine.connect())
    try:
        assert quiet_answer(city.db, credentials, hello) is None
        response = httpx.post(f"{city.url}{HELLO}", content=hello, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["up_to_date"] is True  # on a worker, as before
    finally:
        for connection in held:
            connection.close()
