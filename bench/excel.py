"""Excel benchmarks: prints figures and ratios, asserts nothing (timings belong here, not in unit tests).

1. Roster export of 100k volunteers, against a raw openpyxl write-only save of the very same rows in the
   same run: ratio = raw time / our time (target >= 0.7; our time includes the SQL query and formatting).
2. Import of 10k validated rows (plan + apply into an empty store): rows per second (target >= 5,000).

    python bench/excel.py [--volunteers 100000] [--import-rows 10000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from schema.regions import install_regions, read_regions
from schema.store import Store, open_store
from stvs_tui.demo import generate, store_demo
from stvs_tui.excel import apply_import, export_roster, plan_import
from stvs_tui.excel.lists import roster_rows

COUNTY, COUNTY_NAME = "410522", "安阳县"
TODAY = date(2026, 6, 15)


def county_store(path: Path, volunteers: int = 0) -> Store:
    store = open_store(path, daily_backup=False)
    with store.session() as session:
        install_regions(session, read_regions())
    store.set_settings(county_code=COUNTY)
    if volunteers:
        store_demo(store, generate(COUNTY, COUNTY_NAME, volunteers, seed=11, today=TODAY, with_activities=False))
    return store


def raw_write(rows: list[list], path: Path) -> float:
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("raw")
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return time.perf_counter() - started


def bench_export(folder: Path, volunteers: int, rounds: int) -> float:
    """Best of ``rounds`` for each, run alternately, so a busy machine weighs on both sides alike."""
    store = county_store(folder / "export" / "stvs.sqlite", volunteers)
    raw_times, our_times = [], []
    try:
        with store.engine.connect() as connection:
            rows = list(roster_rows(connection, COUNTY, False, "zh"))
        for _ in range(rounds):
            raw_times.append(raw_write(rows, folder / "raw.xlsx"))
            started = time.perf_counter()
            count = export_roster(store, folder / "roster.xlsx", today=TODAY)
            our_times.append(time.perf_counter() - started)
    finally:
        store.close()
    raw, ours = min(raw_times), min(our_times)
    ratio = raw / ours
    print(f"export roster: {count:,} volunteers in {ours:.2f} s ({count / ours:,.0f} rows/s); "
          f"raw openpyxl write-only of the same rows {raw:.2f} s; ratio raw/ours {ratio:.2f} (target >= 0.70; "
          f"best of {rounds})")
    return ratio


def bench_import(folder: Path, rows: int) -> float:
    source = county_store(folder / "source" / "stvs.sqlite", rows)
    try:
        export_roster(source, folder / "import.xlsx", unmasked=True, today=TODAY)
    finally:
        source.close()
    target = county_store(folder / "target" / "stvs.sqlite")
    try:
        started = time.perf_counter()
        plan = plan_import(folder / "import.xlsx", target)
        planned = time.perf_counter() - started
        result = apply_import(target, plan)
        total = time.perf_counter() - started
    finally:
        target.close()
    speed = result.inserted / total
    print(f"import roster: {result.inserted:,} rows ({len(plan.problems)} problems) in {total:.2f} s "
          f"(read + validate {planned:.2f} s, write {total - planned:.2f} s): {speed:,.0f} rows/s (target >= 5,000)")
    return speed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="export runs of each side (best one counts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stvs-bench-") as folder:
        ratio = bench_export(Path(folder), args.volunteers, args.rounds)
        speed = bench_import(Path(folder), args.import_rows)
    print(f"summary: export ratio {ratio:.2f} {'ok' if ratio >= 0.7 else 'BELOW TARGET'}; "
          f"import {speed:,.0f} rows/s {'ok' if speed >= 5000 else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
