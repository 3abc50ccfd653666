"""Helpers for the sync tests: a real uvicorn server (in a thread, or a subprocess that can be
SIGKILLed), county stores made quickly from a migrated template, and records with valid values."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn

from schema.models import Volunteer
from schema.regions import install_regions, read_regions
from schema.store import Store, backup_sqlite, open_store
from schema.validators import id_check_char
from sync.auth import issue_token
from sync.client import SyncClient, SyncSummary
from sync.records import row_to_wire
from sync.server import DATABASE_URL_ENV, create_app
from sync.serverdb import ServerDB, open_server_db
from sync.transport import tls_verify

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port nothing listens on now: for a server started by a command line (``serve --port``) or a server
    that is not there. Servers of the fixtures get a bound socket instead (``listening_socket``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening_socket(port: int = 0) -> socket.socket:
    """A socket bound on 127.0.0.1 (to a port the kernel picks when 0) and handed to the server as it is, so no
    other test, xdist worker or program can take the port between its choice and the server's listen."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def wait_healthy(url: str, timeout: float = 180.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until the server answers /healthz. The timeout only guards against a server that never comes
    up: it is long, as a loaded machine may take long to start one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server at {url} exited with {process.returncode} before answering")
        try:
            if httpx.get(f"{url}/healthz", timeout=5.0, verify=tls_verify()).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server at {url} did not come up in {timeout} s")


class ThreadServer:
    """uvicorn serving ``create_app(database_url)`` on 127.0.0.1 in a background thread."""

    def __init__(self, database_url: str) -> None:
        self.db: ServerDB = open_server_db(database_url)
        self.socket = listening_socket()
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(database_url, db=self.db), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        wait_healthy(self.url)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.socket.close()
        self.db.close()

    def token(self, county: str, admin: bool = False) -> str:
        return issue_token(self.db.engine, county, admin=admin)


class ProcessServer:
    """uvicorn in its own process group (``workers`` processes), so a test can SIGKILL it whole."""

    def __init__(self, database_url: str, workers: int = 1, port: int | None = None) -> None:
        self.database_url, self.workers = database_url, workers
        self.socket: socket.socket | None = listening_socket(port or 0)
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        open_server_db(database_url).close()

    def start(self) -> ProcessServer:
        """Start uvicorn on the bound socket (``--fd``); after a kill the same port is bound again first."""
        sock = self.socket or listening_socket(self.port)
        env = {**os.environ, DATABASE_URL_ENV: self.database_url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "sync.server:app_from_env", "--factory", "--fd", str(sock.fileno()),
             "--workers", str(self.workers), "--log-level", "warning"], pass_fds=(sock.fileno(),),
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The server holds the socket now: while it is killed, connections are refused, as from a real crash.
        sock.close()
        self.socket = None
        wait_healthy(self.url, process=self.process)
        return self

    def kill(self) -> None:
        """SIGKILL the server and its workers, mid-whatever they are doing."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self, county: str, admin: bool = False) -> str:
        db = open_server_db(self.database_url)
        try:
            return issue_token(db.engine, county, admin=admin)
        finally:
            db.close()


@contextmanager
def thread_server(database_url: str) -> Iterator[ThreadServer]:
    server = ThreadServer(database_url).start()
    try:
        yield server
    finally:
        server.stop()


_TEMPLATES: dict[tuple[Any, ...], Path] = {}
NODE_SETTINGS = ("node_id", "node_key", "node_public_key")


def store_template(key: tuple[Any, ...] = (), fill: Any = None) -> Path:
    """A county store file migrated to head with the region list loaded (and ``fill(store)`` run on it), made
    once per test process and ``key``: opening a fresh store runs every migration, a copy of this file none.
    It has no node identity, so each copy makes its own when opened (copies are separate devices)."""
    template = _TEMPLATES.get(key)
    if template is None:
        # tempfile's folder is this worker's own folder of the run (conftest.temp_files_in_the_run_folder).
        template = Path(tempfile.mkdtemp(prefix="store-template-")) / "stvs.sqlite"
        store = open_store(template, daily_backup=False)
        try:
            with store.session() as session:
                install_regions(session, read_regions())
            if fill is not None:
                fill(store)
            with store.engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM setting WHERE key IN :keys")
                                   .bindparams(sa.bindparam("keys", expanding=True)), {"keys": list(NODE_SETTINGS)})
        finally:
            store.close()
        _TEMPLATES[key] = template
    return template


def copy_store_file(template: Path, path: Path) -> None:
    """``template`` copied to ``path`` (a private file in a private folder, as ``open_store`` makes them)."""
    assert not path.exists(), f"{path}: a store is there already (a copy of the template would replace it)"
    backup_sqlite(template, path)


SERVER_IDENTITY = ("server_id", "city_key", "city_public_key")


def forget_server_identity(db: ServerDB) -> None:
    """Remove the server id and city key from a template database: each copy makes its own when opened."""
    with db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM sync_checkpoint WHERE key IN :keys")
                           .bindparams(sa.bindparam("keys", expanding=True)), {"keys": list(SERVER_IDENTITY)})


def server_template() -> Path:
    """A city server's SQLite database migrated to head with the region list seeded, made once per test
    process, without a server identity (each copy is a server of its own)."""
    template = _TEMPLATES.get(("server",))
    if template is None:
        template = Path(tempfile.mkdtemp(prefix="server-template-")) / "server.sqlite"
        db = open_server_db(f"sqlite:///{template}")
        try:
            forget_server_identity(db)
        finally:
            db.close()
        _TEMPLATES[("server",)] = template
    return template


def server_sqlite_url(path: Path) -> str:
    """The URL of a new city server database at ``path``: a copy of the migrated template (a new server's
    migration is tested on its own, in test_store and test_serverdb)."""
    copy_store_file(server_template(), path)
    return f"sqlite:///{path}"


class StoreFactory:
    """County stores copied from one migrated template (opening a fresh store each time is slow)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = store_template()
        self.count = 0

    def make(self, county: str = "410522", name: str = "") -> Store:
        self.count += 1
        path = self.folder / (name or f"node{self.count}") / "stvs.sqlite"
        path.parent.mkdir(parents=True, mode=0o700)
        copy_store_file(self.template, path)
        store = open_store(path, daily_backup=False)
        store.set_settings(county_code=county, clerk="测试")
        return store


def resident_id(county: str, serial: int) -> str:
    body = f"{county}19800101{serial % 1000:03d}"
    return body + id_check_char(body)


_serial = iter(range(1, 10**9))


def add_volunteer(store: Store, **values: Any) -> str:
    """Insert a volunteer the way the app does (through SQLAlchemy, captured by the triggers)."""
    county = values.pop("county_code", store.county_code)
    serial = next(_serial)
    row = Volunteer(county_code=county, name=values.pop("name", f"志愿者{serial}"),
                    id_number=resident_id(county, serial), mobile=f"138{serial % 10**8:08d}",
                    created_at=datetime(2026, 1, 1, 9, 0), **values)
    with store.session() as session:
        session.add(row)
        session.commit()
    return row.id


def update_row(store: Store, table: str, row_id: str, **values: Any) -> None:
    """A plain SQL UPDATE, as any write path would make it (captured by the triggers)."""
    sets = ", ".join(f"{name} = :{name}" for name in values)
    with store.engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :row_id"), values | {"row_id": row_id})


def delete_row(store: Store, table: str, row_id: str) -> None:
    with store.engine.begin() as connection:
        connection.exec_driver_sql(f"DELETE FROM {table} WHERE id = ?", (row_id,))


def local_record(store: Store, table: str, row_id: str) -> dict[str, Any] | None:
    from sync.records import table_of

    tbl = table_of(table)
    with store.engine.connect() as connection:
        row = connection.execute(tbl.select().where(tbl.c.id == row_id)).mappings().first()
    return None if row is None else dict(row)


def server_record(db: ServerDB, table: str, row_id: str) -> dict[str, Any] | None:
    from sync.records import table_of

    tbl = table_of(table)
    with db.engine.connect() as connection:
        row = connection.execute(tbl.select().where(tbl.c.id == row_id)).mappings().first()
    return None if row is None else dict(row)


def wire(table: str, row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else row_to_wire(table, row)


def sync(store: Store, server: ThreadServer | ProcessServer, token: str, **options: Any) -> SyncSummary:
    with SyncClient(store, server.url, token, retries=options.pop("retries", 2), backoff=0.05, **options) as client:
        return client.run()
