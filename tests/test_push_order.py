"""A pipelined push (sync.push_order): the client sends the next batch before the answer to the last when the
server's hello says it keeps their order; the server applies a batch only after the one it follows, waiting for
it while it runs, and refuses (409 out_of_order, nothing stored) one whose predecessor it has not applied, which
the client then sends again alone. Against the real server over HTTP; the holds below wait for states (a
request seen, a batch known to the server as running), with a timeout only as a failure's guard."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from clerk import COUNTY, Clerk
from sync_fixtures import ThreadServer, server_sqlite_url, thread_server

from schema.store import open_store
from sync.changes import Cursor
from sync.client import SyncClient
from sync.protocol import API_PREFIX
from sync.push_order import AFTER_HEADER, BATCH_HEADER, PIPELINE_HEADER

GUARD = 60.0  # seconds: only a broken pipeline waits this long


@pytest.fixture
def city(tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(server_sqlite_url(tmp_path / "city" / "server.sqlite")) as server:
        yield server


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + GUARD
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


def batch_id(body: bytes) -> str:
    return str(orjson.loads(body)["batch_id"])


class Recording(httpx.HTTPTransport):
    """The real transport, noting each push (headers, body, status); ``hold(request)`` may hold one back."""

    def __init__(self) -> None:
        super().__init__()
        self.pushes: list[tuple[httpx.Headers, bytes]] = []
        self.statuses: list[tuple[str, int, str]] = []  # batch id, status, code
        self.hello_headers: httpx.Headers | None = None
        self.lock = threading.Lock()

    def hold(self, request: httpx.Request, index: int) -> None:
        pass

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/sync/push"):
            response = super().handle_request(request)
            if request.url.path.endswith("/sync/hello"):
                self.hello_headers = response.headers
            return response
        body = request.read()
        with self.lock:
            self.pushes.append((request.headers, body))
            index = len(self.pushes) - 1
        self.hold(request, index)
        response = super().handle_request(request)
        response.read()
        code = orjson.loads(response.content).get("code", "") if response.status_code >= 400 else ""
        with self.lock:
            self.statuses.append((batch_id(body), response.status_code, code))
        return response


def pipelined_sync(clerk: Clerk, city: ThreadServer, transport: httpx.HTTPTransport) -> Any:
    store = open_store(clerk.store_file, daily_backup=False)
    try:
        with SyncClient(store, city.url, city.token(COUNTY), batch_size=40, transport=transport) as client:
            return client.run()
    finally:
        store.close()


def test_the_next_batch_is_sent_before_the_answer_to_the_last_and_applied_after_it(
        city: ThreadServer, tmp_path: Path) -> None:
    """The second push leaves while the first one's answer is held back here: the client does not wait for
    it. Each push names its batch and the one before it; every record is applied (parents before children:
    memberships and participations refer to rows of earlier batches) and the digests match."""
    clerk = Clerk(tmp_path / "county").setup(volunteers=40)

    class HoldFirstAnswer(Recording):
        second_sent = threading.Event()

        def hold(self, request: httpx.Request, index: int) -> None:
            if index == 1:
                self.second_sent.set()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if request.url.path.endswith("/sync/push") and len(self.statuses) == 1:
                # The first answer goes back to the client only once the second push is on its way.
                assert self.second_sent.wait(GUARD), "the client waited for the first answer before sending more"
            return response

    transport = HoldFirstAnswer()
    summary = pipelined_sync(clerk, city, transport)
    assert transport.hello_headers is not None and transport.hello_headers.get(PIPELINE_HEADER) == "1"
    assert summary.digest == "match" and summary.rejected == 0 and summary.pushed == summary.applied > 200
    assert len(transport.pushes) >= 5
    ids = [batch_id(body) for _, body in transport.pushes]
    assert len(set(ids)) == len(ids)  # none sent twice
    for number, (headers, body) in enumerate(transport.pushes):
        assert headers[BATCH_HEADER] == batch_id(body)
        assert headers.get(AFTER_HEADER) == (ids[number - 1] if number else None)
    assert {status for _, status, _ in transport.statuses} == {200}


def test_a_batch_sent_before_its_predecessor_was_applied_is_refused_and_sent_again_alone(
        city: ThreadServer, tmp_path: Path) -> None:
    """As when the batch before went to another server process: the second push reaches the server while the
    first is held back here, unknown to the server. It is refused 409 out_of_order with nothing stored, and
    sent again, alone, once the first is answered; the rest of the sync goes one batch at a time, and every
    record is applied once."""
    clerk = Clerk(tmp_path / "county").setup(volunteers=40)

    class SecondFirst(Recording):
        second_answered = threading.Event()

        def hold(self, request: httpx.Request, index: int) -> None:
            if index == 0:  # the first push leaves only once the second has been answered
                assert self.second_answered.wait(GUARD), "the second push was never sent"

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if request.url.path.endswith("/sync/push") and len(self.pushes) >= 2:
                self.second_answered.set()
            return response

    transport = SecondFirst()
    summary = pipelined_sync(clerk, city, transport)
    assert summary.digest == "match" and summary.rejected == 0 and summary.pushed == summary.applied > 200
    ids = [batch_id(body) for _, body in transport.pushes]
    first, second = ids[0], ids[1]
    assert transport.statuses[0] == (second, 409, "out_of_order")
    # Each batch applied once: the refused ones (the second, and any sent after it before its refusal came
    # back) again, alone, each after the one before it was answered, and everything after them one at a time.
    applied = [batch for batch, status, _ in transport.statuses if status == 200]
    assert sorted(applied) == sorted(set(ids)) and applied[:2] == [first, second]
    assert {code for _, status, code in transport.statuses if status != 200} == {"out_of_order"}
    again = next(number for number, (headers, body) in enumerate(transport.pushes)
                 if number > 1 and batch_id(body) == second)
    assert all(AFTER_HEADER not in headers for headers, _ in transport.pushes[again:])
    with city.db.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM sync_batch").scalar()
    assert stored == len(set(ids))


def staged_batches(clerk: Clerk, city: ThreadServer, count: int, size: int) -> list[bytes]:
    """The first ``count`` push bodies of the clerk's store, as its client would send them (after its hello)."""
    store = open_store(clerk.store_file, daily_backup=False)
    try:
        with SyncClient(store, city.url, city.token(COUNTY), batch_size=size) as client:
            client.hello()
            cursor, bodies = Cursor(), []
            for _ in range(count):
                _pending, batch = client._next_batch(cursor)
                bodies.append(client._stage(batch.changes)[2])
            return bodies
    finally:
        store.close()


def post(city: ThreadServer, token: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{city.url}{API_PREFIX}/sync/push", content=body, timeout=GUARD,
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})


def test_the_server_applies_a_batch_only_after_the_one_it_follows(city: ThreadServer, tmp_path: Path) -> None:
    """The second batch (memberships of the first's volunteers) arrives whole while the first is still being
    received: the server holds it until the first is applied, then applies it, every record (none refers to a
    row it lacks). Named as following a batch the server never applied, a batch is refused 409 out_of_order and
    nothing of it is stored; without that it is applied."""
    clerk = Clerk(tmp_path / "county").setup(volunteers=40)
    first, second, third_body = staged_batches(clerk, city, 3, 70)
    assert {c["table"] for c in orjson.loads(second)["changes"]} & {"membership", "participation"}
    token = city.token(COUNTY)
    order = city.server.config.app.state.push_order
    release, answers = threading.Event(), {}

    def slow_first() -> Iterator[bytes]:
        yield first[:1000]
        assert release.wait(GUARD)
        yield first[1000:]

    def send(name: str, body: Any, headers: dict[str, str]) -> None:
        answers[name] = post(city, token, body, headers)

    sending = threading.Thread(target=send, args=("first", slow_first(), {
        BATCH_HEADER: batch_id(first), "Content-Length": str(len(first))}))
    sending.start()
    wait_until(lambda: batch_id(first) in order.batches(), "the first batch known to the server as running")
    following = threading.Thread(target=send, args=("second", second, {
        BATCH_HEADER: batch_id(second), AFTER_HEADER: batch_id(first)}))
    following.start()
    wait_until(lambda: batch_id(second) in order.batches(), "the second batch known to the server as running")
    assert "second" not in answers  # held: the batch it follows is still on its way
    release.set()
    sending.join(GUARD)
    following.join(GUARD)
    assert answers["first"].status_code == answers["second"].status_code == 200, answers["second"].text
    for name in ("first", "second"):
        results = answers[name].json()["results"]
        assert results and {r["status"] for r in results} == {"applied"}, results[:3]

    refused = post(city, token, third_body, {BATCH_HEADER: batch_id(third_body), AFTER_HEADER: "never-sent"})
    assert refused.status_code == 409 and refused.json()["code"] == "out_of_order"
    with city.db.engine.connect() as connection:
        assert not connection.exec_driver_sql("SELECT 1 FROM sync_batch WHERE batch_id = ?",
                                              (batch_id(third_body),)).all()
    applied = post(city, token, third_body, {})
    assert applied.status_code == 200 and {r["status"] for r in applied.json()["results"]} == {"applied"}
