"""Benchmark: generate and store 100k demo volunteers with their teams and memberships.

Prints rows/s for our write path (change-capture triggers, foreign keys, indexes included) and the ratio to a
raw ``sqlite3.executemany`` of the same rows in the same run, into the same tables with the capture triggers
dropped (the baseline the target is set against), and, for reference, into bare tables without indexes.
Targets (issue 2): 100k volunteers stored in ≤ 15 s; ratio ≥ 0.25.

    python bench/demo_load.py [--volunteers N]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from _common import Run, say

from schema.store import open_store
from stvs_tui.demo import DemoData, generate, store_demo


def _sql_value(value: Any) -> Any:
    """Values as SQLAlchemy's SQLite dialect stores them, for the raw baseline."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def rows_of(data: DemoData) -> list[tuple[str, list[str], list[tuple]]]:
    prepared = []
    for table, rows in data.tables():
        columns = [c.name for c in table.columns]
        prepared.append((table.name, columns, [tuple(_sql_value(r[c]) for c in columns) for r in rows]))
    return prepared


def raw_load(path: Path, prepared: list[tuple[str, list[str], list[tuple]]], setup: list[str]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    for statement in setup:
        connection.execute(statement)
    started = time.perf_counter()
    connection.execute("BEGIN")
    for table, columns, rows in prepared:
        if rows:
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    args = parser.parse_args()
    run = Run("bench/demo_load.py")
    work = Path(tempfile.mkdtemp(prefix="stvs-bench-"))
    try:
        started = time.perf_counter()
        data = generate("410522", "安阳县", args.volunteers, seed=1, today=date(2026, 11, 29), with_activities=False)
        generated = time.perf_counter() - started
        total_rows = len(data.teams) + len(data.volunteers) + len(data.memberships)
        run.step(f"generated {total_rows:,} rows in {generated:.2f} s")

        ours_store = open_store(work / "ours" / "stvs.sqlite", daily_backup=False)
        started = time.perf_counter()
        store_demo(ours_store, data)
        ours = time.perf_counter() - started
        captured = ours_store.pending_change_count()
        ours_store.close()
        run.step(f"stored through the capture triggers in {ours:.2f} s")

        prepared = rows_of(data)
        open_store(work / "raw" / "stvs.sqlite", daily_backup=False).close()
        drop = [f"DROP TRIGGER trg_{t}_capture_insert" for t in ("team", "volunteer", "membership")]
        raw_same = raw_load(work / "raw" / "stvs.sqlite", prepared, drop)
        run.step(f"raw executemany into the same tables in {raw_same:.2f} s")

        bare = [f"CREATE TABLE {t} ({', '.join(cols)})" for t, cols, _ in prepared]
        raw_bare = raw_load(work / "bare.sqlite", prepared, bare)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    say(f"rows: {total_rows} ({len(data.volunteers)} volunteers, {len(data.memberships)} memberships, "
          f"{len(data.teams)} teams); changes captured: {captured}")
    say(f"generate: {generated:.2f} s")
    say(f"ours (triggers, FKs, indexes): {ours:.2f} s = {total_rows / ours:,.0f} rows/s")
    say(f"raw executemany, same tables without capture triggers: {raw_same:.2f} s = {total_rows / raw_same:,.0f} rows/s")
    say(f"raw executemany, bare tables (no indexes, no keys): {raw_bare:.2f} s = {total_rows / raw_bare:,.0f} rows/s")
    ratio = raw_same / ours
    say(f"ratio ours/raw (same tables): {ratio:.2f}  (target >= 0.25: {'met' if ratio >= 0.25 else 'NOT met'})")
    say(f"ratio ours/raw (bare tables): {raw_bare / ours:.2f}  (for reference)")
    stored = generated + ours
    say(f"generate + store {len(data.volunteers)} volunteers: {stored:.2f} s  "
          f"(target <= 15 s: {'met' if stored <= 15 else 'NOT met'})")

    run.done()

if __name__ == "__main__":
    main()
