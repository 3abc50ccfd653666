"""A real city server for tests: the sync app (with its admin routes) on uvicorn at 127.0.0.1, a free port.

Also hand-made pushes (``push``) for tests that need a precise conflict without a county store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sync_fixtures import server_sqlite_url, thread_server

from schema.models import new_id
from sync.auth import issue_token
from sync.protocol import API_PREFIX, Change, PushRequest
from sync.serverdb import ServerDB, schema_version
from sync.transport import tls_verify

# The server's database in the city tests: the embedded SQLite, and PostgreSQL where STVS_TEST_DATABASE_URL
# names a server (the ``pg_server_url`` fixture skips otherwise).
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def database_url(request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL for a test parametrised over ``DATABASES``: a new server's SQLite file in ``folder`` or PostgreSQL
    database (both copies of a migrated template)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_server_url"))
    return server_sqlite_url(folder / "city.sqlite")


@dataclass
class CityServer:
    url: str
    db: ServerDB
    admin_token: str
    tokens: dict[str, str]

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token or self.admin_token}"},
                            timeout=30, verify=tls_verify())


@contextmanager
def running_city_server(folder: Path, counties: tuple[str, ...] = ("410522", "410523"), *,
                        url: str | None = None) -> Iterator[CityServer]:
    """``sync_fixtures.thread_server`` (the admin routes are part of ``create_app``), with the city admin's token
    and one device token per county issued."""
    with thread_server(url or server_sqlite_url(folder / "city.sqlite")) as server:
        db = server.db
        yield CityServer(url=server.url, db=db,
                         admin_token=issue_token(db.engine, "410500", admin=True, label="市科协李明"),
                         tokens={code: issue_token(db.engine, code, label=f"{code} 设备") for code in counties})


def push(server: CityServer, county: str, node: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Push hand-made changes as a county device; returns the answer as JSON."""
    request = PushRequest(node_id=node, schema_version=schema_version(), batch_id=new_id(),
                          changes=[Change(change_id=new_id(), hlc="", **c) for c in changes])
    with server.client(server.tokens[county]) as client:
        response = client.post(f"{API_PREFIX}/sync/push", json=request.model_dump(mode="json"))
    response.raise_for_status()
    return response.json()


@dataclass
class MobileConflict:
    """Two real 安阳县 stores that set one volunteer's mobile offline and synced: one open conflict at the city."""

    first: Any
    second: Any
    token: str
    row_id: str


def mobile_conflict(city: CityServer, folder: Path) -> MobileConflict:
    """The first device's 13900000001 reached the server first; the second's 13900000002 is the conflict."""
    from sync_fixtures import StoreFactory, add_volunteer, sync, update_row

    stores = StoreFactory(folder)
    first, second = stores.make("410522"), stores.make("410522")
    token = city.tokens["410522"]
    row_id = add_volunteer(first, name="王芳", work_unit="县医院")
    sync(first, city, token)
    sync(second, city, token)
    update_row(first, "volunteer", row_id, mobile="13900000001")
    update_row(second, "volunteer", row_id, mobile="13900000002")
    assert sync(first, city, token).applied == 1
    assert sync(second, city, token).conflicts == 1
    return MobileConflict(first, second, token, row_id)
