"""Excel benchmarks: prints figures and ratios as it goes, asserts nothing (timings belong here, not in tests).

1. Import of a 100k-row roster shaped as Excel writes one (shared strings, date cells with a date style),
   against a bare python-calamine read of the same file (open, read the sheet, every value to
   Python) in the same run. Each side runs in its own process, so peak memory is each one's own:
   - dry run (read + check, nothing written): ratio = calamine time / ours, target >= 0.5;
   - real import into an empty county store: ratio target >= 0.33; peak RSS target <= 250 MB.
   A real import is the dry run then the writing, so one process gives both, the dry run timed on its own;
   it runs between two calamine reads, whose mean is the baseline, so a change in the machine's load weighs
   on both sides of a ratio alike. CPU-time ratios are printed beside the wall-clock ones (on a busy machine the wall clock mostly
   measures the queue for a core).
2. Roster export against a raw openpyxl write-only save of the same rows (target >= 0.7).

    python bench/excel.py [--rows 100000] [--export-volunteers 4000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

COUNTY, COUNTY_NAME = "410522", "安阳县"
TODAY = date(2026, 6, 15)
DRY_TARGET, IMPORT_TARGET, MEMORY_TARGET_MB = 0.5, 0.33, 250


def say(text: str) -> None:
    print(text, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def county_store(path: Path, volunteers: int = 0):  # noqa: ANN201 (Store: imported late, children stay light)
    from schema.regions import install_regions, read_regions
    from schema.store import open_store
    from stvs_tui.demo import generate, store_demo

    store = open_store(path, daily_backup=False)
    with store.session() as session:
        install_regions(session, read_regions())
    store.set_settings(county_code=COUNTY)
    if volunteers:
        store_demo(store, generate(COUNTY, COUNTY_NAME, volunteers, seed=11, today=TODAY, with_activities=False))
    return store


NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
UNITS = [f"{COUNTY_NAME}{place}" for place in ("人民医院", "第一高级中学", "农业农村局", "疾控中心", "科学技术协会",
                                               "妇幼保健院", "职业中专", "水利局", "林业站", "畜牧站")]


def roster_rows(rows: int) -> list[list[object]]:
    """Valid volunteers in the roster's column order, as a clerk would type them (labels, date cells)."""
    import random

    from schema.enums import RegistrationStatus, TalentTag, VolunteerStatus
    from schema.validators import id_check_char

    pick = random.Random(11)
    tags, statuses = [t.zh for t in TalentTag], [s.zh for s in RegistrationStatus]
    active = next(s.zh for s in VolunteerStatus)
    result = []
    for n in range(rows):
        born = date(1950 + n % 50, 1 + n % 12, 1 + n % 28)
        serial = n // 2100 % 1000  # birth dates repeat every 2,100 rows: the serial keeps IDs apart
        body = f"{COUNTY}{born:%Y%m%d}{serial:03d}"
        number = body + id_check_char(body)
        name = NAMES[n % 20] + GIVEN[(n // 20) % 20] + GIVEN[(n // 400) % 20]
        result.append([n + 1, name, "男" if serial % 2 else "女", born, "居民身份证", number,
                       f"13{n:09d}", "", pick.choice(UNITS), pick.choice(("工程师", "教师", "医师", "农艺师", "")),
                       pick.choice(("果树栽培", "家庭教育", "急救知识", "")), pick.choice(tags),
                       pick.choice(("周末", "农闲时节", "工作日晚上")), "是", pick.choice(statuses),
                       date(2024, 1 + n % 12, 1 + n % 28), active, date(2023, 1 + n % 12, 1 + n % 28), ""])
    return result


def write_roster(path: Path, rows: int) -> None:
    """A roster as Excel writes it: title, header, shared strings, date cells with a date style. Written as
    XML here (xlsxwriter takes over 30 s for 100k rows on a busy machine; this file is the same shape)."""
    import zipfile
    from xml.sax.saxutils import escape

    from stvs_tui.excel.columns import roster_headers

    strings: dict[str, int] = {}
    epoch = date(1899, 12, 30)

    def cell(ref: str, value: object) -> str:
        if value == "" or value is None:
            return ""
        if isinstance(value, date):
            return f'<c r="{ref}" s="1"><v>{(value - epoch).days}</v></c>'
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="s"><v>{strings.setdefault(str(value), len(strings))}</v></c>'

    letters = [chr(65 + n) for n in range(26)]
    lines = [[f"{COUNTY_NAME}科技志愿者名册"], ["序号", *roster_headers("zh")], *roster_rows(rows)]
    body = "".join(f'<row r="{r}">' + "".join(cell(f"{letters[c]}{r}", v) for c, v in enumerate(line)) + "</row>"
                   for r, line in enumerate(lines, start=1))
    main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg_ns = "http://schemas.openxmlformats.org/package/2006/relationships"
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{pkg_ns}"><Relationship Id="rId1" '
        f'Type="{rel_ns}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "docProps/app.xml": "<Properties><Application>Microsoft Excel</Application></Properties>",
        "xl/workbook.xml": f'<workbook xmlns="{main_ns}" xmlns:r="{rel_ns}"><sheets>'
        '<sheet name="名册" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{pkg_ns}">'
        f'<Relationship Id="rId1" Type="{rel_ns}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel_ns}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{rel_ns}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet xmlns="{main_ns}"><numFmts count="1"><numFmt numFmtId="164" '
        'formatCode="yyyy-mm-dd"/></numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
        '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2">'
        '<xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main_ns}"><dimension ref="A1:S{len(lines)}"/>'
        f"<sheetData>{body}</sheetData></worksheet>",
        "xl/sharedStrings.xml": f'<sst xmlns="{main_ns}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        f"{shared}</sst>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, xml in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml)


# --- children: each measured in its own process --------------------------------------------------------------

def child(kind: str, workbook: Path, store_path: Path | None) -> None:
    """``calamine``: the bare read. ``import``: our dry run (``plan_import``: read and check, nothing written),
    timed on its own, then the writing of that plan (``apply_import``): the dry run is the import's first half."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result: dict[str, float] = {}
    if kind == "calamine":
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(str(workbook))
        count = len(book.get_sheet_by_index(0).to_python())
        problems = 0
    else:
        from schema.store import open_store
        from stvs_tui.excel import apply_import, plan_import

        store = open_store(store_path, daily_backup=False)
        started, cpu_started = time.perf_counter(), time.process_time()
        plan = plan_import(workbook, store, today=TODAY)
        count, problems = len(plan.rows), len(plan.problems)
        result = {"plan_seconds": time.perf_counter() - started, "plan_cpu": time.process_time() - cpu_started,
                  "plan_peak_mb": peak_rss_mb()}
        count = apply_import(store, plan).inserted
        store.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": count, "problems": problems, "peak_mb": peak_rss_mb(),
                      **result}))


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM: ru_maxrss would carry the parent's peak over exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(kind: str, workbook: Path, store_path: Path | None = None) -> dict:
    command = [sys.executable, __file__, "--child", kind, str(workbook)]
    if store_path is not None:
        command.append(str(store_path))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_import(folder: Path, rows: int) -> tuple[float, float, float]:
    started = time.perf_counter()
    workbook = folder / "roster.xlsx"
    write_roster(workbook, rows)
    say(f"import: wrote {rows:,} rows ({workbook.stat().st_size / 1e6:.1f} MB) "
        f"in {time.perf_counter() - started:.1f} s; {load()}")
    store_path = folder / "import" / "stvs.sqlite"
    store_path.parent.mkdir()
    county_store(store_path).close()
    before = run_child("calamine", workbook)
    say(f"bare calamine read: {before['rows']:,} rows in {before['seconds']:.2f} s ({before['cpu']:.2f} s CPU), "
        f"peak {before['peak_mb']:.0f} MB; {load()}")
    ours = run_child("import", workbook, store_path)
    after = run_child("calamine", workbook)
    # The bare read before and after ours, averaged: a change of load during the run weighs on both sides alike.
    bare = {key: (before[key] + after[key]) / 2 for key in ("seconds", "cpu")}
    say(f"bare calamine read again: {after['seconds']:.2f} s ({after['cpu']:.2f} s CPU); the mean of the two, "
        f"{bare['seconds']:.2f} s ({bare['cpu']:.2f} s CPU), is the baseline; {load()}")
    dry, real = bare["seconds"] / ours["plan_seconds"], bare["seconds"] / ours["seconds"]
    say(f"import dry run: {ours['rows']:,} rows ({ours['problems']} problems) in {ours['plan_seconds']:.2f} s "
        f"({ours['plan_cpu']:.2f} s CPU), peak {ours['plan_peak_mb']:.0f} MB; ratio to the bare read "
        f"{dry:.2f} wall clock, {bare['cpu'] / ours['plan_cpu']:.2f} CPU time (target >= {DRY_TARGET}); {load()}")
    say(f"import real (the dry run, then the writing): {ours['rows']:,} rows in {ours['seconds']:.2f} s "
        f"({ours['cpu']:.2f} s CPU), peak {ours['peak_mb']:.0f} MB; ratio {real:.2f} wall clock, "
        f"{bare['cpu'] / ours['cpu']:.2f} CPU time (target >= {IMPORT_TARGET}); {load()}")
    return dry, real, ours["peak_mb"]


def raw_write(rows: list[list], path: Path) -> tuple[float, float]:
    """A bare openpyxl write-only save of ``rows``: wall-clock and CPU seconds."""
    from openpyxl import Workbook

    started, cpu = time.perf_counter(), time.process_time()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("raw")
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return time.perf_counter() - started, time.process_time() - cpu


def bench_export(folder: Path, volunteers: int, rounds: int) -> float:
    """Best of ``rounds`` for each, run alternately, so a busy machine weighs on both sides alike. Ours
    writes the printed form (boxed cells, row heights, the sign-off) and includes the SQL and formatting;
    the raw save writes the bare values already in memory."""
    from stvs_tui.excel import export_roster
    from stvs_tui.excel.lists import roster_rows

    started = time.perf_counter()
    store = county_store(folder / "export" / "stvs.sqlite", volunteers)
    say(f"export: a store of {volunteers:,} demo volunteers made in {time.perf_counter() - started:.1f} s; {load()}")
    raw_times: list[tuple[float, float]] = []
    our_times: list[tuple[float, float]] = []
    try:
        with store.engine.connect() as connection:
            rows = list(roster_rows(connection, COUNTY, False, "zh"))
        for _ in range(rounds):
            raw_times.append(raw_write(rows, folder / "raw.xlsx"))
            started, cpu = time.perf_counter(), time.process_time()
            count = export_roster(store, folder / "export.xlsx", today=TODAY)
            our_times.append((time.perf_counter() - started, time.process_time() - cpu))
    finally:
        store.close()
    (raw, raw_cpu), (ours, our_cpu) = min(raw_times), min(our_times)
    ratio = raw / ours
    say(f"export roster: {count:,} volunteers in {ours:.2f} s, {our_cpu:.2f} s CPU ({count / ours:,.0f} rows/s); "
        f"raw openpyxl write-only of the same rows {raw:.2f} s, {raw_cpu:.2f} s CPU; ratio raw/ours {ratio:.2f} "
        f"wall clock, {raw_cpu / our_cpu:.2f} CPU time (target >= 0.70; best of {rounds}); {load()}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the imported roster")
    parser.add_argument("--export-volunteers", type=int, default=4_000, help="0 skips the export bench")
    parser.add_argument("--rounds", type=int, default=3, help="export runs of each side, in turn (best one counts)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, workbook, *store = args.child
        child(kind, Path(workbook), Path(store[0]) if store else None)
        return 0
    started = time.perf_counter()
    say(f"excel bench: {load()}")
    with tempfile.TemporaryDirectory(prefix="stvs-bench-") as folder:
        dry, real, peak = bench_import(Path(folder), args.rows)
        ratio = bench_export(Path(folder), args.export_volunteers, args.rounds) if args.export_volunteers else None
    verdict = lambda ok: "ok" if ok else "BELOW TARGET"  # noqa: E731
    summary = (f"summary: dry run {dry:.2f}x calamine {verdict(dry >= DRY_TARGET)}; import {real:.2f}x "
               f"{verdict(real >= IMPORT_TARGET)}; peak {peak:.0f} MB {verdict(peak <= MEMORY_TARGET_MB)}")
    if ratio is not None:
        summary += f"; export ratio {ratio:.2f} {verdict(ratio >= 0.7)}"
    say(f"{summary}; {time.perf_counter() - started:.0f} s in all; {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
