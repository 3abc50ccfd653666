"""Sync benchmark: initial push of ~100k records through the real server on loopback, compared with a raw
SQLite executemany of the same rows; no-op sync at 100k and at 1k; peak RSS of client and server. With
``--peer``, PouchDB replicates the same records (as JSON documents) the same way in the same run, one trial
after each of ours (the sides take turns: a shared machine's speed drifts over minutes, and each pair's ratio
is measured minutes apart at most; the push's ratio is the median of the pairs').

    python bench/sync_push.py                  # 100k records
    python bench/sync_push.py --records 20000  # a quicker run
    python bench/sync_push.py --trials 5       # the median of 5 pushes (default 3)
    python bench/sync_push.py --peer           # and PouchDB 9 + express-pouchdb on leveldb (bench/peer_pouchdb)

Each trial pushes a fresh copy of the same store to a fresh server; the raw executemany baseline is measured
in the same trial. Prints figures and ratios; targets: ≥ 20,000 records/s, no-op at 100k ≤ 100 ms and ≤ 1.5 × no-op at 1k,
peak RSS ≤ 250 MB for client and server each. Against the peer (issue 14): push ≥ 5× PouchDB's and ≥ 1/10 of
the raw insert; no-op sync ≤ 0.5× PouchDB's; peak RSS ≤ 0.6× PouchDB's, client and server each.

The peer needs ``node``; its packages (pinned in bench/peer_pouchdb/package-lock.json) are installed by
``npm ci`` into bench/peer_pouchdb/node_modules on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from _common import Run, say

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "bench" / "peer_pouchdb"

COUNTY = "410522"
NOOP_CPU_RUNS = 200  # no-op syncs the CPU per no-op is averaged over
RECORDS_PER_VOLUNTEER = 5.35  # what stvs_tui.demo makes per volunteer with a year of activities


def make_store(path: Path, records: int, seed: int) -> int:
    """A county store with ~``records`` demo records (change capture included); returns the count."""
    from schema.regions import install_regions, read_regions
    from schema.store import open_store
    from stvs_tui.demo import generate, store_demo

    store = open_store(path, daily_backup=False)
    with store.session() as session:
        install_regions(session, read_regions())
    store.set_settings(county_code=COUNTY)
    data = generate(COUNTY, "安阳县", max(10, int(records / RECORDS_PER_VOLUNTEER)), seed, date(2026, 3, 1))
    total = sum(store_demo(store, data).values())
    store.close()
    return total


def raw_executemany_seconds(store_path: Path, folder: Path) -> float:
    """The same rows, read back, written by plain sqlite3 executemany into an empty copy of the schema (in a
    database of the server's page size: the baseline gets the same setting as ours, 16 KiB since 2026-12-01)."""
    from sync.serverdb import SQLITE_PAGE_SIZE

    target = folder / "raw.sqlite"
    tables = ("team", "volunteer", "membership", "activity", "participation")
    with sqlite3.connect(store_path) as source:
        schema = [sql for (sql,) in source.execute(
            f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN ({','.join('?' * len(tables))})",
            tables)]
        rows = {t: source.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    connection = sqlite3.connect(target)
    connection.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for sql in schema:
        connection.execute(sql)
    started = time.perf_counter()
    with connection:
        for table in tables:
            if rows[table]:
                marks = ",".join("?" * len(rows[table][0]))
                connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/PID/stat, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_main(store_path: str, url: str, token: str, noop_runs: int, server_pid: int) -> None:
    """Run in a child process: the initial push, then no-op syncs; print figures as JSON (with the CPU time
    each side spent on the push: with both busy at once, the slower side sets the pace)."""
    from schema.store import open_store
    from sync.client import SyncClient

    store = open_store(Path(store_path), daily_backup=False)
    with SyncClient(store, url, token) as client:
        started, client_cpu, server_cpu = time.perf_counter(), cpu_seconds(os.getpid()), cpu_seconds(server_pid)
        summary = client.run()
        push_seconds = time.perf_counter() - started
        client_cpu, server_cpu = cpu_seconds(os.getpid()) - client_cpu, cpu_seconds(server_pid) - server_cpu
        noops = []
        for _ in range(noop_runs):
            started = time.perf_counter()
            noop = client.run()
            noops.append(time.perf_counter() - started)
            assert noop.pushed == noop.pulled == 0 and noop.digest == "match", noop
        # CPU per no-op, each side: what the no-op costs whatever the load (its wall time under load is mostly
        # waiting for a core), averaged over NOOP_CPU_RUNS more of them: /proc counts 10 ms clock ticks, which
        # over the few timed runs read as 0 or 1.1 ms for the same work.
        noop_cpu = cpu_seconds(os.getpid()), cpu_seconds(server_pid)
        for _ in range(NOOP_CPU_RUNS):
            client.run()
        noop_cpu = ((cpu_seconds(os.getpid()) - noop_cpu[0]) / NOOP_CPU_RUNS * 1000,
                    (cpu_seconds(server_pid) - noop_cpu[1]) / NOOP_CPU_RUNS * 1000)
    print(json.dumps({"push_seconds": push_seconds, "pushed": summary.pushed, "applied": summary.applied,
                      "digest": summary.digest, "client_cpu": client_cpu, "server_cpu": server_cpu, "noop_ms": statistics.median(noops) * 1000,
                      "noop_client_cpu_ms": noop_cpu[0], "noop_server_cpu_ms": noop_cpu[1],
                      "client_peak_rss_mb": peak_rss_mb(os.getpid())}))


def start_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    import httpx

    from sync.server import DATABASE_URL_ENV
    from sync.serverdb import open_server_db

    open_server_db(database_url).close()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "sync.server:app_from_env", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], cwd=ROOT, env={**os.environ, DATABASE_URL_ENV: database_url})
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def settle_disk() -> None:
    """Write what the trial's setup just made (the store's copy, the raw baseline's database, the peer's load) to
    disk before the timed part, on both sides alike: the kernel's writeback of those ~200 MB otherwise ran inside
    the push that followed, and the first trial of a run was often the slowest by far (10,775 records/s against
    20,605 and 15,565 in one run)."""
    os.sync()


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak of this process image. (``ru_maxrss`` is not it: Linux carries it over fork and exec,
    so a client started by this script reported the bench parent's ~200 MB of demo data as its own.)"""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_case(folder: Path, records: int, noop_runs: int, trials: int, run: Run,
             between: Callable[[Path], None] | None = None) -> dict[str, Any]:
    """``trials`` pushes of one generated store, each from a fresh copy to a fresh server; the figures of the
    median trial (by push time), with every trial's rate (``rates``: fastest first; ``trial_rates``: in the
    order run), and the highest peak RSS of any trial. ``between(template)`` runs after each trial (the peer's)."""
    template = folder / "template" / "stvs.sqlite"
    total = make_store(template, records, seed=1)
    run.step(f"store of {total:,} records made")
    runs = []
    for trial in range(trials):
        trial_folder = folder / f"trial{trial}"
        shutil.copytree(template.parent, trial_folder / "county")
        runs.append(run_trial(trial_folder, trial_folder / "county" / template.name, noop_runs))
        last = runs[-1]
        run.step(f"trial {trial + 1}/{trials}: push {total / last['push_seconds']:,.0f} records/s, raw insert "
                 f"{last['raw_seconds']:.2f} s, no-op {last['noop_ms']:.1f} ms, peak RSS client "
                 f"{last['client_peak_rss_mb']:.0f} MB, server {last['server_peak_rss_mb']:.0f} MB")
        if between is not None:
            between(template)
    trial_rates = [total / r["push_seconds"] for r in runs]
    runs.sort(key=lambda run: run["push_seconds"])
    figures = dict(runs[len(runs) // 2])
    figures.update(records=total, rates=[total / r["push_seconds"] for r in runs], trial_rates=trial_rates,
                   client_peak_rss_mb=max(r["client_peak_rss_mb"] for r in runs),
                   server_peak_rss_mb=max(r["server_peak_rss_mb"] for r in runs), template=template)
    return figures


@contextmanager
def running_server(database_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """A city server on a free loopback port, with a token of the bench's county: (its process, its URL, the
    token); stopped afterwards."""
    from sync.auth import issue_token
    from sync.serverdb import open_server_db

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = start_server(database_url, port)
    try:
        db = open_server_db(database_url)
        token = issue_token(db.engine, COUNTY)
        db.close()
        yield server, f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_trial(folder: Path, store_path: Path, noop_runs: int) -> dict[str, Any]:
    raw = raw_executemany_seconds(store_path, folder)
    settle_disk()
    with running_server(f"sqlite:///{folder / 'server.sqlite'}") as (server, url, token):
        # The token goes by environment, not argv: a token may begin with "-" (argparse would take it for an
        # option), and argv is visible to every user in ps.
        child = subprocess.run([sys.executable, __file__, "--client", str(store_path), url, str(noop_runs),
                                str(server.pid)], capture_output=True, text=True, check=True,
                               env={**os.environ, "STVS_BENCH_TOKEN": token})
        figures: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
        figures["server_peak_rss_mb"] = peak_rss_mb(server.pid)
    figures["raw_seconds"] = raw
    return figures


# ---- the PouchDB peer -------------------------------------------------------------------------------------


def peer_problem() -> str | None:
    """Why the peer cannot run here (no node, no npm to install its packages), or None; installs them if need be."""
    node = shutil.which("node")
    if node is None:
        return "--peer needs Node.js: `node` is not on PATH (install Node.js 20 with npm)"
    if not (PEER / "node_modules" / "pouchdb").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            return ("--peer needs the peer's packages: bench/peer_pouchdb/node_modules is missing and `npm` is not "
                    "on PATH to install them (install npm, then run `npm ci` in bench/peer_pouchdb)")
        say(f"installing the peer's packages: npm ci in {PEER.relative_to(ROOT)} (first use only)")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEER, capture_output=True, text=True)
        if done.returncode != 0:
            return f"`npm ci` in bench/peer_pouchdb failed:\n{done.stdout}{done.stderr}"
    return None


def export_documents(store_path: Path, target: Path) -> int:
    """The rows the bench pushes, as JSON documents, one a line: wire values plus ``_id`` (table:id) and ``type``."""
    import orjson
    import sqlalchemy as sa

    from schema.models import SYNCED_TABLES
    from schema.store import open_store
    from sync.records import row_to_wire, table_of

    store = open_store(store_path, daily_backup=False)
    count = 0
    with store.engine.connect() as connection, target.open("wb") as out:
        for name in SYNCED_TABLES:
            for row in connection.execute(sa.select(table_of(name))).mappings():
                document = {"_id": f"{name}:{row['id']}", "type": name, **row_to_wire(name, row)}
                out.write(orjson.dumps(document) + b"\n")
                count += 1
    store.close()
    return count


def node_json(*args: str) -> dict[str, Any]:
    done = subprocess.run(["node", str(PEER / "peer.js"), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the PouchDB peer failed ({' '.join(args[:1])}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_peer_trial(folder: Path, documents: Path, noop_runs: int) -> dict[str, Any]:
    """Load the client's database (its own process), start the server, replicate to it, read both peaks."""
    folder.mkdir(parents=True)
    node_json("load", str(documents), str(folder))
    settle_disk()
    server = subprocess.Popen(["node", str(PEER / "peer.js"), "serve", str(folder)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["port"]
        figures = node_json("push", str(folder), f"http://127.0.0.1:{port}/bench", str(noop_runs), str(server.pid))
        figures["server_peak_rss_mb"] = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


class PeerTrials:
    """The PouchDB side, one trial at a time: called after each of our trials (``run_case``'s ``between``), so
    the two sides take turns and a machine that slows down or speeds up over the minutes of a run (a shared
    one does) weighs on both alike; each pair's ratio is then measured minutes apart at most, not a whole run."""

    def __init__(self, folder: Path, noop_runs: int, trials: int, run: Run) -> None:
        self.folder, self.noop_runs, self.trials, self.run = folder, noop_runs, trials, run
        self.documents: Path | None = None
        self.total = 0
        self.runs: list[dict[str, Any]] = []

    def __call__(self, template: Path) -> None:
        if len(self.runs) >= self.trials:
            return
        if self.documents is None:
            self.documents = self.folder / "documents.jsonl"
            self.total = export_documents(template, self.documents)
            self.run.step(f"peer: {self.total:,} records exported as JSON documents")
        self.runs.append(run_peer_trial(self.folder / f"peer{len(self.runs)}", self.documents, self.noop_runs))
        last = self.runs[-1]
        self.run.step(f"peer trial {len(self.runs)}/{self.trials}: push {last['docs_written'] / last['push_seconds']:,.0f} "
                      f"docs/s ({last['docs_written']:,} written, {last['server_docs']:,} on the server), no-op "
                      f"replication {last['noop_ms']:.1f} ms, no-op two-way sync {last['noop_sync_ms']:.1f} ms, peak RSS "
                      f"client {last['client_peak_rss_mb']:.0f} MB, server {last['server_peak_rss_mb']:.0f} MB")

    def figures(self, template: Path) -> dict[str, Any]:
        """The median trial's figures (by push time), every trial's rate in the order run, the highest peaks."""
        while len(self.runs) < self.trials:  # more peer trials asked for than ours: the rest now
            self(template)
        trial_rates = [r["docs_written"] / r["push_seconds"] for r in self.runs]
        runs = sorted(self.runs, key=lambda r: r["push_seconds"])
        figures = dict(runs[len(runs) // 2])
        figures.update(records=self.total, trial_rates=trial_rates,
                       client_peak_rss_mb=max(r["client_peak_rss_mb"] for r in runs),
                       server_peak_rss_mb=max(r["server_peak_rss_mb"] for r in runs))
        return figures


def report_peer(ours: dict[str, Any], peer: dict[str, Any], load: str) -> None:
    """Both sides and the ratios against issue 14's targets, as a table (the README's benchmark section)."""
    our_rate = ours["records"] / ours["push_seconds"]
    peer_rate = peer["docs_written"] / peer["push_seconds"]
    raw_share = ours["raw_seconds"] / ours["push_seconds"]
    # The push's ratio: the median of the pairs' (each of our trials and the peer's right after it), or of the
    # two medians when the sides ran different numbers of trials.
    pairs = list(zip(ours["trial_rates"], peer["trial_rates"], strict=False))
    push_ratio = statistics.median(mine / theirs for mine, theirs in pairs) if len(ours["trial_rates"]) == \
        len(peer["trial_rates"]) else our_rate / peer_rate
    # CPU time of the median trials' pushes, both processes each side (ours from /proc, PouchDB's: process.cpuUsage
    # of its client, /proc of its server).
    cpu_ours = (ours["client_cpu"] + ours["server_cpu"]) / ours["records"] * 1e6
    cpu_peer = (peer["client_cpu"] + peer["server_cpu"]) / peer["docs_written"] * 1e6
    checks = [
        ("initial push", f"{peer_rate:,.0f} docs/s", f"{our_rate:,.0f} records/s", push_ratio, "≥ 5×",
         push_ratio >= 5),
        ("push vs raw insert of the same rows", "", f"1/{1 / raw_share:.1f} of raw", raw_share, "≥ 1/10",
         raw_share >= 0.1),
        ("CPU per record pushed, client + server", f"{cpu_peer:.0f} µs", f"{cpu_ours:.0f} µs", cpu_ours / cpu_peer,
         "(reference)", None),
        ("no-op sync (one-way replication for PouchDB)", f"{peer['noop_ms']:.1f} ms", f"{ours['noop_ms']:.1f} ms",
         ours["noop_ms"] / peer["noop_ms"], "≤ 0.5×", ours["noop_ms"] <= 0.5 * peer["noop_ms"]),
        ("no-op sync (two-way sync for PouchDB)", f"{peer['noop_sync_ms']:.1f} ms", f"{ours['noop_ms']:.1f} ms",
         ours["noop_ms"] / peer["noop_sync_ms"], "(reference)", None),
        ("peak RSS client", f"{peer['client_peak_rss_mb']:.0f} MB", f"{ours['client_peak_rss_mb']:.0f} MB",
         ours["client_peak_rss_mb"] / peer["client_peak_rss_mb"], "≤ 0.6×",
         ours["client_peak_rss_mb"] <= 0.6 * peer["client_peak_rss_mb"]),
        ("peak RSS server", f"{peer['server_peak_rss_mb']:.0f} MB", f"{ours['server_peak_rss_mb']:.0f} MB",
         ours["server_peak_rss_mb"] / peer["server_peak_rss_mb"], "≤ 0.6×",
         ours["server_peak_rss_mb"] <= 0.6 * peer["server_peak_rss_mb"]),
    ]
    say(f"\nstvs-tui vs PouchDB 9 + express-pouchdb on leveldb (batch 500), {ours['records']:,} records, "
        f"load average {load}; push, trial by trial (ours, then PouchDB's right after): "
        + ", ".join(f"{mine:,.0f} / {theirs:,.0f} = {mine / theirs:.2f}×" for mine, theirs in pairs))
    say("| figure | PouchDB | stvs-tui | ratio | target | |")
    say("|---|---|---|---|---|---|")
    for figure, theirs, mine, ratio, target, held in checks:
        verdict = "" if held is None else ("OK" if held else "MISSED")
        say(f"| {figure} | {theirs} | {mine} | {ratio:.2f} | {target} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=3, help="pushes of the large store; the median is reported")
    parser.add_argument("--peer", action="store_true",
                        help="also replicate the same records with PouchDB (needs node; npm ci on first use)")
    parser.add_argument("--peer-trials", type=int, default=None,
                        help="PouchDB pushes, one after each of ours (default: as many as --trials); the median")
    parser.add_argument("--client", nargs=4, metavar=("STORE", "URL", "NOOPS", "SERVER_PID"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args.client[0], args.client[1], os.environ["STVS_BENCH_TOKEN"], int(args.client[2]),
                    int(args.client[3]))
        return
    if args.peer:
        problem = peer_problem()
        if problem:
            parser.exit(2, f"sync_push.py: {problem}\n")
    run = Run("bench/sync_push.py")
    with tempfile.TemporaryDirectory() as big_dir, tempfile.TemporaryDirectory() as small_dir:
        peer_trials = PeerTrials(Path(big_dir), 9, args.trials if args.peer_trials is None else args.peer_trials,
                                 run) if args.peer else None
        big = run_case(Path(big_dir), args.records, noop_runs=9, trials=args.trials, run=run, between=peer_trials)
        peer = peer_trials.figures(big["template"]) if peer_trials is not None else None
        small = run_case(Path(small_dir), 1000, noop_runs=9, trials=1, run=run)
    load = f"{os.getloadavg()[0]:.2f}"
    rate = big["records"] / big["push_seconds"]
    raw_rate = big["records"] / big["raw_seconds"]
    say(f"initial push: {big['records']} records in {big['push_seconds']:.2f} s = {rate:,.0f} records/s, the median "
        f"of {len(big['rates'])} trials (target ≥ 20,000/s) {'OK' if rate >= 20_000 else 'BELOW TARGET'}; "
        f"every trial: {', '.join(f'{r:,.0f}' for r in big['rates'])} records/s")
    per_record = {side: big[f"{side}_cpu"] / big["records"] * 1e6 for side in ("client", "server")}
    say(f"CPU per record during the push: client {per_record['client']:.1f} µs, server {per_record['server']:.1f} µs "
        f"(they run at once, on separate cores: the slower sets the pace; 50 µs = 20,000/s)")
    say(f"raw sqlite3 executemany of the same rows: {big['raw_seconds']:.3f} s = {raw_rate:,.0f} rows/s; "
        f"sync push is {big['push_seconds'] / big['raw_seconds']:.1f}× the raw insert time")
    ratio = big["noop_ms"] / small["noop_ms"]
    say(f"no-op sync: {big['noop_ms']:.1f} ms at {big['records']} records (target ≤ 100 ms) "
        f"{'OK' if big['noop_ms'] <= 100 else 'OVER'}; {small['noop_ms']:.1f} ms at {small['records']} records; "
        f"ratio {ratio:.2f} (target ≤ 1.5) {'OK' if ratio <= 1.5 else 'OVER'}")
    say(f"CPU per no-op sync: client {big['noop_client_cpu_ms']:.1f} ms, server {big['noop_server_cpu_ms']:.1f} ms at "
        f"{big['records']} records; {small['noop_client_cpu_ms']:.1f} / {small['noop_server_cpu_ms']:.1f} ms at "
        f"{small['records']} (its wall time under load is mostly the wait for a core)")
    for side in ("client", "server"):
        value = big[f"{side}_peak_rss_mb"]
        say(f"peak RSS {side}: {value:.0f} MB (target ≤ 250 MB) {'OK' if value <= 250 else 'OVER'}")
    say(f"digest after push: {big['digest']}; applied {big['applied']} of {big['pushed']}")
    if peer is not None:
        report_peer(big, peer, load)
    run.done()


if __name__ == "__main__":
    main()
