"""Shared fixtures: real SQLite stores in temporary folders, a real PostgreSQL database per test, and a real
sync server (uvicorn in a thread) with county stores made from one migrated template."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    copy_store_file,
    forget_server_identity,
    server_sqlite_url,
    store_template,
    thread_server,
)
from textual import _wait as textual_wait

from schema.store import Store, open_store
from sync.serverdb import open_server_db

PG_URL_ENV = "STVS_TEST_DATABASE_URL"

# Hypothesis would fail an example that takes over 200 ms, or data that is slow to draw: on a loaded machine
# that is timing, not behaviour. Tests that want fewer examples still set them with their own @settings.
settings.register_profile("stvs", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("stvs")

# Textual's pilot waits after every key (twice) and every pause until the process looks idle, sleeping 20 ms at a
# time: at least 40 ms per key in which the worker does nothing. 2 ms steps keep the same
# criterion (the process used under 5 % of the step) at a tenth of the wait. No test depends on this wait: they
# wait for the states they check (test_tui_fixtures.settle), as they must on a loaded machine, where a process
# that gets no CPU looks idle at once whatever the step.
textual_wait.SLEEP_GRANULARITY = 0.002
textual_wait.SLEEP_IDLE = textual_wait.SLEEP_GRANULARITY / 20
PROJECT_TEMP = Path(__file__).resolve().parent.parent / ".pytest-tmp"


def pytest_configure(config: pytest.Config) -> None:
    """Test files stay in the project (``.pytest-tmp``, git-ignored), in pytest's own numbered folder per run
    (it keeps the last three), never in the machine-wide ``pytest-of-<user>`` other checkouts share. xdist
    workers are given a folder inside their controller's, so each worker has its own."""
    if config.option.basetemp is None and "PYTEST_DEBUG_TEMPROOT" not in os.environ:
        PROJECT_TEMP.mkdir(exist_ok=True)
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(PROJECT_TEMP)


@pytest.fixture(scope="session", autouse=True)
def temp_files_in_the_run_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What the code under test (and the libraries it uses, and the servers it starts) puts in the system's
    temp folder goes into this worker's own folder of the run instead."""
    folder = tmp_path_factory.getbasetemp() / "tmp"
    folder.mkdir(exist_ok=True)
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # recomputed from TMPDIR on next use
    yield
    if saved is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved
    tempfile.tempdir = None


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the developer's own keyring: keyring's fail backend ("no keyring") unless a test (the
    token-at-rest tests) chooses a real one of its own."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "stvs.sqlite"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    """A county store for 安阳县 (410522) with the region list loaded (a copy of the migrated template)."""
    copy_store_file(store_template(), store_path)
    opened = open_store(store_path)
    opened.set_settings(county_code="410522", clerk="王芳")
    yield opened
    opened.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards; skips where no server is configured."""
    with postgres_database() as url:
        yield url


@contextmanager
def postgres_database(template: str | None = None) -> Iterator[str]:
    """``pg_url`` for fixtures of any scope (a copy of the database ``template`` when given)."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} is not set: no PostgreSQL server to test against "
                    "(CI sets it to postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"stvs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
            # A commit to this throwaway database does not wait for its WAL to reach the disk (3.8 ms a commit
            # here, 0.1 ms without): a crash of PostgreSQL itself could lose its last commits, which no test
            # makes; what the tests kill is the sync server, and every commit PostgreSQL answered stays visible.
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base} is not reachable: {exc.orig}")
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    DROPPED.append(DROPS.submit(_drop_database, admin, name))


# PostgreSQL makes an immediate checkpoint for every DROP DATABASE (0.2–2.6 s here, more while other databases
# are busy): the drops run one at a time on a thread of their own, beside the next tests, and the session waits
# for the last of them (drop_every_database_at_the_end).
DROPS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop")
DROPPED: list[Future[None]] = []


def _drop_database(admin: sa.Engine, name: str) -> None:
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def drop_every_database_at_the_end() -> Iterator[None]:
    yield
    DROPS.shutdown(wait=True)
    for dropped in DROPPED:
        dropped.result()  # a database that could not be dropped is an error of the session's last test


@pytest.fixture(scope="session")
def pg_server_template() -> Iterator[str]:
    """A city server's PostgreSQL database migrated to head, regions seeded, no server identity: made once per
    xdist worker (a name of its own), copied by ``CREATE DATABASE … TEMPLATE`` (a migration takes seconds)."""
    with postgres_database() as url:
        forget_server_identity_at(url)
        yield sa.engine.make_url(url).database


def forget_server_identity_at(url: str) -> None:
    db = open_server_db(url)
    try:
        forget_server_identity(db)
    finally:
        db.close()


@pytest.fixture
def pg_server_url(pg_server_template: str) -> Iterator[str]:
    """A new city server's PostgreSQL database, dropped afterwards: a copy of the migrated template (the
    migration itself is tested on an empty database, ``pg_url``, in test_store)."""
    with postgres_database(template=pg_server_template) as url:
        yield url


@pytest.fixture
def city(tmp_path: Path) -> Iterator[ThreadServer]:
    """A real sync server on a SQLite file under ``tmp_path/city`` (tests of the city's admin API override this
    with a ``city_server.CityServer``)."""
    with thread_server(server_sqlite_url(tmp_path / "city" / "server.sqlite")) as server:
        yield server


@pytest.fixture
def stores(tmp_path: Path) -> StoreFactory:
    """County stores copied from one migrated template, under ``tmp_path/stores``."""
    return StoreFactory(tmp_path / "stores")
