"""A real city server for tests: the sync app with the admin routes, on uvicorn at 127.0.0.1, a free port.

Also hand-made pushes (``push``) for tests that need a precise conflict without a county store.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from schema.models import new_id
from sync.admin_api import mount_admin_routes
from sync.auth import issue_token
from sync.protocol import API_PREFIX, Change, PushRequest
from sync.server import create_app
from sync.serverdb import ServerDB, schema_version

# The server's database in the city tests: the embedded SQLite, and PostgreSQL where STVS_TEST_DATABASE_URL
# names a server (the ``pg_url`` fixture skips otherwise).
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def database_url(request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL for a test parametrised over ``DATABASES``: a SQLite file in ``folder`` or a fresh PostgreSQL one."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'city.sqlite'}"


@dataclass
class CityServer:
    url: str
    db: ServerDB
    admin_token: str
    tokens: dict[str, str]

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token or self.admin_token}"},
                            timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_city_server(folder: Path, counties: tuple[str, ...] = ("410522", "410523"), *,
                        url: str | None = None) -> Iterator[CityServer]:
    app = create_app(url or f"sqlite:///{folder / 'city.sqlite'}")
    if not any(getattr(r, "path", "").startswith("/api/v1/admin/") for r in app.routes):
        mount_admin_routes(app)
    db: ServerDB = app.state.db
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the city server did not start")
        time.sleep(0.02)
    try:
        yield CityServer(url=f"http://127.0.0.1:{port}", db=db,
                         admin_token=issue_token(db.engine, "410500", admin=True, label="市科协李明"),
                         tokens={code: issue_token(db.engine, code, label=f"{code} 设备") for code in counties})
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        db.close()


def push(server: CityServer, county: str, node: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Push hand-made changes as a county device; returns the answer as JSON."""
    request = PushRequest(node_id=node, schema_version=schema_version(), batch_id=new_id(),
                          changes=[Change(change_id=new_id(), hlc="", **c) for c in changes])
    with server.client(server.tokens[county]) as client:
        response = client.post(f"{API_PREFIX}/sync/push", json=request.model_dump(mode="json"))
    response.raise_for_status()
    return response.json()
