"""A push batch on the wire: one body with its length (never chunked), the same bytes again when a send is
retried. The client hands httpx the body as a one-piece iterable that says when it has been written (the main
thread waits for that before it parses the last answer: see ``SyncClient._push_pending``), so what goes out is
checked here against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from clerk import COUNTY, Clerk
from sync_fixtures import ThreadServer, server_sqlite_url, thread_server

from schema.store import open_store
from sync.client import SyncClient


@pytest.fixture
def city(tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(server_sqlite_url(tmp_path / "city" / "server.sqlite")) as server:
        yield server


class DropFirstPush(httpx.HTTPTransport):
    """The real transport, noting each push's headers and body; the first push is lost before it reaches the
    server (as a connection dropped mid-send), so the client sends it again."""

    def __init__(self) -> None:
        super().__init__()
        self.pushes: list[tuple[httpx.Headers, bytes]] = []
        self.dropped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/push"):
            self.pushes.append((request.headers, request.read()))
            if not self.dropped:
                self.dropped = True
                raise httpx.WriteError("connection reset while sending", request=request)
        return super().handle_request(request)


def test_each_push_goes_whole_with_its_length_and_a_retried_one_goes_again_unchanged(
        city: ThreadServer, tmp_path: Path) -> None:
    clerk = Clerk(tmp_path / "county").setup(volunteers=40)
    transport = DropFirstPush()
    store = open_store(clerk.store_file, daily_backup=False)
    try:
        with SyncClient(store, city.url, city.token(COUNTY), batch_size=30, retries=2, backoff=0.01,
                        transport=transport) as client:
            summary = client.run()
    finally:
        store.close()
    assert summary.digest == "match" and summary.rejected == 0 and summary.pushed == summary.applied > 60
    assert len(transport.pushes) >= 4  # the dropped send, its retry and the batches after
    for headers, body in transport.pushes:
        assert headers["content-length"] == str(len(body)) and "transfer-encoding" not in headers
        assert orjson.loads(body)["changes"]
    # The dropped send's retry is the next push of its batch (pipelined, the batch after it may go between).
    dropped = transport.pushes[0][1]
    retried = next(body for _, body in transport.pushes[1:]
                   if orjson.loads(body)["batch_id"] == orjson.loads(dropped)["batch_id"])
    assert retried == dropped
    # Every batch counted once (one sent before the dropped one's retry was applied goes again after it).
    sent = {orjson.loads(body)["batch_id"]: orjson.loads(body)["changes"] for _, body in transport.pushes}
    assert sum(map(len, sent.values())) == summary.pushed
