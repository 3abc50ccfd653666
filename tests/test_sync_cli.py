"""The sync commands as scripts use them: token add, serve, sync (exit codes, one-line errors, --json)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from city_server import DATABASES, database_url
from click.testing import CliRunner
from sync_fixtures import ROOT, ThreadServer, free_port, thread_server, wait_healthy

from stvs_tui.cli import main


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def county_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "county"
    assert run(folder, "init", "--county", "410522")[0] == 0
    assert run(folder, "demo", "--volunteers", "20")[0] == 0
    return folder


def test_token_add_prints_the_token_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "token", "add", "--county", "410522")
    token = out.strip()
    assert code == 0 and len(token) >= 40 and "只显示一次" in err
    with sqlite3.connect(tmp_path / "city-server.sqlite") as connection:
        stored = connection.execute("SELECT token_hash, county_code, is_admin FROM sync_token").fetchall()
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), "410522", 0)]
    assert run(tmp_path, "token", "add", "--county", "41")[0] == 2


def test_sync_prints_a_summary_and_remembers_server_and_token(tmp_path: Path, city: ThreadServer) -> None:
    folder = county_dir(tmp_path)
    token = city.token("410522")
    code, out, _ = run(folder, "sync", "--server", city.url, "--token", token, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["applied"] == summary["pushed"] > 0 and summary["digest"] == "match"
    code, out, _ = run(folder, "sync")
    assert code == 0 and "pushed 0" in out and "digest: match" in out


def test_a_refused_token_does_not_replace_the_saved_one(tmp_path: Path, city: ThreadServer) -> None:
    folder = county_dir(tmp_path)
    token = city.token("410522")
    assert run(folder, "sync", "--server", city.url, "--token", token)[0] == 0
    code, _, err = run(folder, "sync", "--token", "mistyped")
    assert code == 1 and "token refused" in err
    code, out, _ = run(folder, "sync")
    assert code == 0 and "digest: match" in out


def test_sync_exit_codes_and_one_line_reasons(tmp_path: Path, city: ThreadServer) -> None:
    folder = county_dir(tmp_path)
    code, _, err = run(folder, "sync")
    assert code == 2 and "--server" in err
    code, _, err = run(folder, "sync", "--server", f"http://127.0.0.1:{free_port()}", "--token", "x", "--retries", "0")
    assert code == 1 and "unreachable" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(folder, "sync", "--server", city.url, "--token", "x", "--retries", "11")
    assert code == 2 and "--retries" in err
    code, _, err = run(folder, "sync", "--server", city.url, "--token", "wrong")
    assert code == 1 and "token refused" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(tmp_path / "empty", "sync", "--server", city.url, "--token", "x")
    assert code == 1 and "init" in err


def test_sync_with_conflicts_still_exits_0(tmp_path: Path, city: ThreadServer) -> None:
    token = city.token("410522")
    first = county_dir(tmp_path)
    run(first, "sync", "--server", city.url, "--token", token)
    second = tmp_path / "second"
    run(second, "init", "--county", "410522")
    run(second, "sync", "--server", city.url, "--token", token)
    for folder, mobile in ((first, "13900000001"), (second, "13900000002")):
        with sqlite3.connect(folder / "stvs.sqlite") as connection:
            connection.execute("UPDATE volunteer SET mobile = ? WHERE id = (SELECT MIN(id) FROM volunteer)", (mobile,))
    assert run(first, "sync")[0] == 0
    code, out, _ = run(second, "sync", "--json")
    assert code == 0 and json.loads(out)["conflicts"] == 1


def test_every_sync_command_help_has_an_example(tmp_path: Path) -> None:
    for command in (["sync"], ["serve"], ["token"], ["token", "add"]):
        code, out, _ = run(tmp_path, *command, "--help")
        assert code == 0 and "Example" in out


def test_serve_runs_the_server_on_the_given_port(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "stvs_tui", "--data-dir", str(tmp_path), "serve", "--port",
                                str(port)], cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").status_code == 200
        assert (tmp_path / "city-server.sqlite").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


@pytest.fixture(params=DATABASES)
def any_city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    """The real sync server on SQLite and on PostgreSQL."""
    with thread_server(database_url(request, tmp_path / "city")) as server:
        yield server


def test_two_counties_demo_data_with_the_same_seed_both_sync(tmp_path: Path, any_city: ThreadServer) -> None:
    """Demo ids carry the county: the second county's demo data is not refused as the first county's rows."""
    city = any_city
    for county in ("410522", "410523"):
        folder = tmp_path / county
        assert run(folder, "init", "--county", county)[0] == 0
        assert run(folder, "demo", "--volunteers", "30", "--seed", "7")[0] == 0
        code, out, err = run(folder, "sync", "--server", city.url, "--token", city.token(county), "--json")
        summary = json.loads(out)
        assert code == 0, err
        assert summary["pushed"] > 0 and summary["applied"] == summary["pushed"] and summary["rejected"] == 0
        assert summary["digest"] == "match"


def test_token_add_checks_the_county_against_the_region_list(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "token", "add", "--county", "999999")
    assert code == 2 and "999999" in err and "--county" in err
    assert err.count("410522 安阳县") == 1 and "410581 林州市" in err
    with sqlite3.connect(tmp_path / "city-server.sqlite") as connection:
        assert connection.execute("SELECT COUNT(*) FROM sync_token").fetchone() == (0,)
    assert run(tmp_path, "token", "add", "--county", "410500", "--admin")[0] == 0
