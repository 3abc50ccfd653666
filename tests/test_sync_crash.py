"""Crashes: the client SIGKILLed at random points of a push, the server SIGKILLed mid-batch; a re-sync
then leaves nothing lost and nothing applied twice."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sync_fixtures import ROOT, ProcessServer, StoreFactory, ThreadServer, sync, thread_server

from schema.models import SYNCED_TABLES
from schema.store import Store
from stvs_tui.demo import generate, store_demo
from sync.client import SyncClient
from sync.replica import Replica

COUNTY = "410522"
CHILD = """
import sys
from schema.store import open_store
from sync.client import SyncClient
store = open_store(sys.argv[1], daily_backup=False)
client = SyncClient(store, sys.argv[2], sys.argv[3], batch_size=int(sys.argv[4]))
print("ready", flush=True)
client.run()
print("done", flush=True)
"""


def fill(store: Store, volunteers: int, seed: int) -> int:
    return sum(store_demo(store, generate(COUNTY, "安阳县", volunteers, seed, date(2026, 3, 1))).values())


def assert_exactly_once(store: Store, engine: sa.Engine, total: int) -> None:
    """Every local row is on the server exactly once, at version 1, and both sides agree."""
    with engine.connect() as server, store.engine.connect() as local:
        assert server.exec_driver_sql("SELECT COUNT(*) FROM server_change").scalar() == total
        for table in SYNCED_TABLES:
            query = f"SELECT id, version FROM {table} ORDER BY id"
            server_rows = server.exec_driver_sql(query).all()
            assert server_rows == local.exec_driver_sql(query).all()
            assert all(version == 1 for _, version in server_rows)
        assert local.exec_driver_sql("SELECT COUNT(*) FROM change_log").scalar() == 0
        assert local.exec_driver_sql("SELECT COUNT(*) FROM sync_outbox").scalar() == 0
    assert store.engine.connect().exec_driver_sql(
        "SELECT COUNT(*) FROM volunteer WHERE sync_state != 'synced'").scalar() == 0


def kill_client_mid_push(server: ThreadServer, store: Store, token: str, rng: random.Random) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store.path), server.url, token, "50"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.0, 0.8))
    child.kill()
    child.wait(timeout=10)


def client_killed_trial(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    with thread_server(f"sqlite:///{tmp_path / 'server.sqlite'}") as server:
        token = server.token(COUNTY)
        store = StoreFactory(tmp_path / "stores").make(COUNTY)
        total = fill(store, 60, seed)
        for _ in range(rng.randint(1, 2)):
            kill_client_mid_push(server, store, token, rng)
        summary = sync(store, server, token)
        assert summary.rejected == summary.conflicts == 0
        assert_exactly_once(store, server.db.engine, total)
        assert sync(store, server, token).digest == "match"
        store.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_client_sigkilled_mid_push_then_resynced_loses_and_doubles_nothing(tmp_path: Path, seed: int) -> None:
    client_killed_trial(tmp_path, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 150))
def test_client_sigkilled_mid_push_fifty_trials(tmp_path: Path, seed: int) -> None:
    client_killed_trial(tmp_path, seed)


def server_killed_trial(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    server = ProcessServer(url).start()
    try:
        token = server.token(COUNTY)
        store = StoreFactory(tmp_path / "stores").make(COUNTY)
        total = fill(store, 60, seed)
        outcome: dict[str, object] = {}

        def run() -> None:
            try:
                with SyncClient(store, server.url, token, batch_size=50, retries=8, backoff=0.1) as client:
                    outcome["summary"] = client.run()
            except Exception as exc:  # reported by the assertion below
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(rng.uniform(0.05, 0.6))
        server.kill()
        server.start()
        worker.join(timeout=120)
        assert "error" not in outcome, outcome.get("error")
        sync(store, server, token)
        db_engine = sa.create_engine(url)
        assert_exactly_once(store, db_engine, total)
        db_engine.dispose()
        assert Replica(store).outbox() is None
        store.close()
    finally:
        server.stop()


@pytest.mark.parametrize("seed", [7, 8])
def test_server_sigkilled_mid_batch_then_resynced_loses_and_doubles_nothing(tmp_path: Path, seed: int) -> None:
    server_killed_trial(tmp_path, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 220))
def test_server_sigkilled_mid_batch_twenty_trials(tmp_path: Path, seed: int) -> None:
    server_killed_trial(tmp_path, seed)
