"""Runs where the clerks are: Windows has no ``fcntl``. Every module imports, and a whole sync (server and
county, each through the real CLI in its own process) runs, with ``import fcntl`` made to fail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from city_server import DATABASES, database_url
from filelock import FileLock
from sync_fixtures import ROOT, free_port, wait_healthy

# Loaded by ``site`` at start-up from PYTHONPATH: ``import fcntl`` fails as on Windows, in every process.
BLOCKER = '''
import sys

class _NoFcntl:
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ImportError("No module named 'fcntl' (blocked: as on Windows)")
        return None

sys.meta_path.insert(0, _NoFcntl())
'''

IMPORT_EVERY_MODULE = '''
import importlib, pkgutil, sys
assert "fcntl" not in sys.modules
try:
    import fcntl  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the blocker did not work")
names = []
for package in ("schema", "sync", "stvs_tui"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        # migration scripts run inside alembic; __main__ would start the app
        if info.name.startswith("schema.migrations") or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
assert "fcntl" not in sys.modules
print(len(names))
'''


@pytest.fixture
def no_fcntl_env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "blocker"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join(p for p in (str(folder), str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore"}


def cli(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stvs_tui", "--data-dir", str(data_dir), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture(params=DATABASES)
def city_without_fcntl(request: pytest.FixtureRequest, tmp_path: Path,
                       no_fcntl_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """``stvs-tui serve`` in its own process with fcntl blocked, on SQLite and on PostgreSQL; yields (url, a
    county token)."""
    city = tmp_path / "city"
    database = ("--database-url", database_url(request, city))
    added = cli(no_fcntl_env, city, "token", "add", "--county", "410522", *database)
    assert added.returncode == 0, added.stderr
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "stvs_tui", "--data-dir", str(city), "serve", "--port",
                                str(port), *database], cwd=ROOT, env=no_fcntl_env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", timeout=120)
        yield f"http://127.0.0.1:{port}", added.stdout.strip()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_every_module_imports_without_fcntl(no_fcntl_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERY_MODULE], cwd=ROOT, env=no_fcntl_env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 40  # schema, sync and stvs_tui: every module was imported


def test_a_sync_runs_without_fcntl(tmp_path: Path, no_fcntl_env: dict[str, str],
                                   city_without_fcntl: tuple[str, str]) -> None:
    url, token = city_without_fcntl
    county = tmp_path / "county"
    for args in (("init", "--county", "410522"), ("demo", "--volunteers", "15")):
        done = cli(no_fcntl_env, county, *args)
        assert done.returncode == 0, done.stderr
    done = cli(no_fcntl_env, county, "sync", "--server", url, "--token", token, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["pushed"] == summary["applied"] > 15 and summary["digest"] == "match"
    again = cli(no_fcntl_env, county, "sync", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["pushed"] == 0


def test_a_second_sync_of_the_same_store_is_refused_while_one_runs(tmp_path: Path,
                                                                   no_fcntl_env: dict[str, str]) -> None:
    county = tmp_path / "county"
    assert cli(no_fcntl_env, county, "init", "--county", "410522").returncode == 0
    store = county / "stvs.sqlite"
    # The lock a running sync holds (the same filelock the client takes, here held by the test).
    with FileLock(store.with_name(store.name + ".sync-lock")):
        done = cli(dict(os.environ), county, "sync", "--server", "http://127.0.0.1:9", "--token", "t")
    assert done.returncode == 1 and "another sync of this store is running" in done.stderr


def test_two_clients_of_one_store_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    """The lock is the OS's (fcntl's flock, as filelock takes it there): a second client of the store is
    refused while the first syncs, in one process as across processes, and may sync once it is done."""
    from filelock import Timeout

    from schema.store import open_store
    from sync.client import SyncClient
    from sync.errors import SyncError

    store = open_store(tmp_path / "stvs.sqlite", daily_backup=False)
    first, second = SyncClient(store, "http://127.0.0.1:9", "t"), SyncClient(store, "http://127.0.0.1:9", "t")
    with first._exclusive():
        with pytest.raises(SyncError, match="another sync of this store is running"), second._exclusive():
            pass
        with pytest.raises(Timeout), FileLock(store.path.with_name(store.path.name + ".sync-lock"), timeout=0):
            pass
    with second._exclusive():
        pass
    store.close()
