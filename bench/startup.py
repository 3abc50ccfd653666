"""Benchmark: how fast ``stvs-tui`` starts (issue 12, "Start fast").

Measured in one run, each as the median of several fresh processes (spawn to exit, or to the marker), ours and
the bare start taken in turn so that both see the machine's drift alike:

- ``stvs-tui --help`` against a bare ``python -c 'import click'``: target ≤ 3×.
- the county TUI's first screen on a store of 20k volunteers (with a year of activities) against a bare
  ``python -c 'import textual.app'``: target ≤ 2×. Twice: the usual start, with the dashboard's slow figures kept
  by the last run (the store unchanged since: ``stvs_tui.dashboard_figures``, migration 0018), and a start that
  reads them all afresh (what follows a change the last run did not keep figures for). The TUI runs as ``stvs-tui --data-dir ...`` does, in a
  pseudo-terminal of 120×40, on the real dashboard with its real queries; the time is taken when the terminal
  has received the figures, the team table (texts read from the store by plain SQL) and the footer: the first
  frame a clerk sees whole. The time to the dashboard's report (STVS_STATE_FILE, stvs_tui/state.py) that it
  painted its data and the screen settled (after the frames that follow the first) is printed beside it; then the
  process is stopped.
- the volunteer form (Ctrl+N on the volunteers list) in the pilot: from the key to the app's own frame that shows
  the form (its title, first field and Save button), turned into the text a terminal would receive; first open
  and the median of the next ones: target ≤ 150 ms.

Each figure is given in wall time and in CPU time (the child's user+system time for the processes, this process's
for the pilot), since wall time on a shared machine counts the other sessions' work too. A child's CPU time runs
to its exit: for the first screen that includes the few milliseconds from the marker to the stop.

The 20k store is made once by ``stvs-tui demo`` and kept in bench/out/ (delete it to rebuild).

The project's own modules are compiled to bytecode first (``compileall``), as pip does when it installs stvs-tui:
where PYTHONDONTWRITEBYTECODE is set (as on the project's machines) every start would otherwise compile them from
source, which the bare imports it is compared with never do (their bytecode is in the environment).

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
STORE_VOLUNTEERS = 20_000
SIZE = (120, 40)


def say(text: str) -> None:
    print(text, flush=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def stvs_tui_command() -> list[str]:
    script = Path(sys.executable).with_name("stvs-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stvs_tui"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU: dict[str, float] = {}  # label -> median CPU seconds of its runs


def timed(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process from spawn to exit."""
    cpu = children_cpu()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, children_cpu() - cpu


def paired_medians(runs: int, bare: tuple[str, object], ours: tuple[str, object]) -> tuple[float, float]:
    """The median wall times of the bare start and of ours, run in turn (bare, ours, bare, ours, ...): the speed
    of a shared machine drifts within seconds, and runs in turn see the same drift (each side's runs in one
    block did not: the bare import alone went from 222 to 318 ms between runs a minute apart). Prints both
    sides with their medians, and the median of the pairs' own ratios."""
    results: dict[str, tuple[list[float], list[float]]] = {bare[0]: ([], []), ours[0]: ([], [])}
    for _ in range(runs):
        for label, once in (bare, ours):
            wall, cpu = once()  # type: ignore[operator]
            results[label][0].append(wall)
            results[label][1].append(cpu)
    medians = []
    for label, (walls, cpus) in results.items():
        CPU[label] = statistics.median(cpus)
        medians.append(statistics.median(walls))
        say(f"  {label:34} median {medians[-1] * 1000:7.0f} ms, CPU {CPU[label] * 1000:5.0f} ms  "
            f"(runs: {', '.join(f'{t * 1000:.0f}' for t in walls)})")
    pairs = [o / b for b, o in zip(results[bare[0]][0], results[ours[0]][0], strict=True)]
    say(f"  ratio of each pair: {', '.join(f'{r:.2f}' for r in pairs)}; median {statistics.median(pairs):.2f}x")
    return medians[0], medians[1]


# -- the 20k store ---------------------------------------------------------------------------------------

def store_dir() -> Path:
    folder = OUT / f"startup-{STORE_VOLUNTEERS}"
    if not (folder / "ready").exists():
        say(f"making a store of {STORE_VOLUNTEERS} volunteers in {folder} (once) ...")
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.sqlite*"):
            old.unlink()
        command = stvs_tui_command()
        subprocess.run([*command, "--data-dir", str(folder), "init", "--county", "410522", "--clerk", "王芳"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*command, "--data-dir", str(folder), "demo", "--volunteers", str(STORE_VOLUNTEERS),
                        "--seed", "7"], check=True, stdout=subprocess.DEVNULL)
        (folder / "ready").write_text("made by bench/startup.py\n")
    return folder


# -- the first screen, in a child process on a pseudo-terminal -------------------------------------------

def first_screen_texts(data_dir: Path) -> list[str]:
    """Texts the first screen shows, read from the store with plain SQL: the header's month, the unsynced changes
    and volunteers lines of the figures, and the start of the team table's first row (the widest name may be cut)."""
    import sqlite3
    from datetime import date

    with sqlite3.connect(data_dir / "stvs.sqlite") as db:
        county = db.execute("SELECT value FROM setting WHERE key = 'county_code'").fetchone()[0]
        volunteers = db.execute("SELECT COUNT(*) FROM volunteer WHERE county_code = ? AND NOT deleted "
                                "AND status = 'active'", (county,)).fetchone()[0]
        changes = db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT tbl, row_id FROM change_log)").fetchone()[0]
        team = db.execute("SELECT name FROM team WHERE county_code = ? AND NOT deleted AND status = 'active' "
                          "ORDER BY tier, name LIMIT 1", (county,)).fetchone()[0]
    db.close()
    # ... and the footer's last key (the command palette's), so that the frame is the whole first screen
    return [f"本月：{date.today():%Y-%m}", f"未同步更改：{changes} 条", f"志愿者：{volunteers} 人", team[:4], "命令"]


def keep_figures(data_dir: Path) -> None:
    """Keep the dashboard's slow figures as a quit does (``stvs_tui.county.start.keep_figures_for_next_start``)."""
    import sqlite3
    from datetime import date

    from stvs_tui.county.start import keep_figures_for_next_start

    with sqlite3.connect(data_dir / "stvs.sqlite") as db:
        county = db.execute("SELECT value FROM setting WHERE key = 'county_code'").fetchone()[0]
    db.close()
    keep_figures_for_next_start(data_dir / "stvs.sqlite", county, date.today())


def forget_kept_figures(data_dir: Path) -> None:
    import sqlite3

    with sqlite3.connect(data_dir / "stvs.sqlite") as db:
        db.execute("UPDATE dashboard_cache SET fingerprint = ''")
    db.close()


SETTLED: list[float] = []  # wall time of each measured start to the dashboard's report (see first_screen_once)


def first_screen_once(data_dir: Path, expected: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds from spawn to the first screen: the terminal has received every text of ``expected``
    (what the app wrote, decoded): the figures, the team table and the footer, the first frame a clerk sees whole.
    The time to the dashboard's own report that it has painted its data and the screen has settled (its marker,
    written after the frames that follow the first: the footer's keys for the focused list, the table's fitting
    to its width) is appended to SETTLED. The CPU time runs to the stop, after the report."""
    import codecs
    import fcntl
    import pty
    import struct
    import termios

    marker = OUT / "startup-first-screen.marker"
    marker.unlink(missing_ok=True)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    received: list[str] = []
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def drain() -> None:  # a terminal reads what the app writes
        try:
            while chunk := os.read(leader, 65536):
                received.append(decoder.decode(chunk))
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    # The dashboard appends "county.dashboard ..." to STVS_STATE_FILE after the refresh that painted its data.
    env = {**os.environ, "TERM": "xterm-256color", "STVS_LANG": "zh", "STVS_STATE_FILE": str(marker)}
    cpu = children_cpu()
    started = time.perf_counter()
    child = subprocess.Popen([*stvs_tui_command(), "--data-dir", str(data_dir)],
                             stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True)
    os.close(follower)
    shown = settled = None
    try:
        while settled is None and child.poll() is None:
            if shown is None and all(text in "".join(received) for text in expected):
                shown = time.perf_counter() - started
            if shown is not None and marker.exists() and "county.dashboard" in marker.read_text(encoding="utf-8"):
                settled = time.perf_counter() - started
            else:
                time.sleep(0.002)
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    reader.join(timeout=5)
    os.close(leader)
    if shown is None or settled is None:
        missing = [text for text in expected if text not in "".join(received)]
        raise SystemExit(f"the TUI did not show its first screen (exit code {child.returncode}; not seen: {missing})")
    SETTLED.append(settled)
    return shown, children_cpu() - cpu


# -- the volunteer form, in the pilot --------------------------------------------------------------------

async def form_times(data_dir: Path, opens: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each open: from the key to the app's first frame after which the screen shows the
    form's title, its first field's label and its Save button.

    The pilot's driver never writes to a terminal, so each frame the app makes (``App._display``) is turned into
    the text a terminal would receive, as a real driver does, inside the time. Whether the screen then shows the
    form is checked on a full render of the screen, outside the time (its cost is taken off what follows).
    """
    import asyncio
    import io

    from rich.console import Console

    from schema.models import Volunteer, field_label
    from schema.store import open_store
    from stvs_tui.county.app import CountyApp
    from stvs_tui.county.screens.volunteers import VOLUNTEER_FIELDS, VolunteersScreen
    from stvs_tui.i18n import t
    from stvs_tui.widgets.form import FormModal

    def screen_text(app: CountyApp) -> str:
        console = Console(width=SIZE[0], height=SIZE[1], file=io.StringIO(), force_terminal=True, record=True,
                          color_system="truecolor", legacy_windows=False)
        console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
        return console.export_text()

    store = open_store(data_dir / "stvs.sqlite", daily_backup=False)
    times: list[tuple[float, float]] = []
    try:
        app = CountyApp(store, lang="zh", freeze_heap=True)
        terminal = Console(width=SIZE[0], height=SIZE[1], file=io.StringIO(), force_terminal=True,
                           color_system="truecolor", legacy_windows=False)
        watch: dict[str, object] = {}
        shown: list[tuple[float, float]] = []
        display = app._display

        def displayed(screen: object, renderable: object) -> None:
            display(screen, renderable)  # type: ignore[arg-type]
            if renderable is None or not watch or shown or not isinstance(screen, FormModal):
                return
            renderable.render_segments(terminal)  # type: ignore[attr-defined]  (what a terminal driver does)
            wall, cpu = time.perf_counter(), time.process_time()
            text = screen_text(app)
            if all(part in text for part in watch["expected"]):  # type: ignore[attr-defined]
                shown.append((wall - watch["checking_wall"], cpu - watch["checking_cpu"]))  # type: ignore[operator]
            else:  # the check's own time is not the form's
                watch["checking_wall"] += time.perf_counter() - wall  # type: ignore[operator]
                watch["checking_cpu"] += time.process_time() - cpu  # type: ignore[operator]

        app._display = displayed  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            app.action_go("volunteers")
            while not isinstance(app.screen, VolunteersScreen):
                await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            expected = (t("form.new_volunteer"), field_label(Volunteer, VOLUNTEER_FIELDS[0].name, "zh"),
                        f"{t('action.save')} (Ctrl+S)")
            for _ in range(opens):
                shown.clear()
                watch.update(expected=expected, checking_wall=0.0, checking_cpu=0.0)
                started, cpu = time.perf_counter(), time.process_time()
                await pilot.press("ctrl+n")
                while not shown:
                    await asyncio.sleep(0.0005)
                watch.clear()
                wall_at, cpu_at = shown[0]
                times.append((wall_at - started, cpu_at - cpu))
                form = app.screen
                await pilot.press("escape")
                while app.screen is form:
                    await pilot.pause()
    finally:
        store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per figure (median), bare and ours in turn")
    args = parser.parse_args()
    began = time.perf_counter()
    say(f"bench/startup.py  ({load()}, {os.cpu_count()} CPUs)")
    data_dir = store_dir()
    python = sys.executable
    subprocess.run([python, "-m", "compileall", "-q", *(str(ROOT / name) for name in ("schema", "sync", "stvs_tui"))],
                   check=True, stdout=subprocess.DEVNULL)
    results: list[tuple[str, float, float, float, float, float]] = []

    say("stvs-tui --help")
    bare_click, help_time = paired_medians(args.runs, ("python -c 'import click'",
                                                       lambda: timed([python, "-c", "import click"])),
                                           ("stvs-tui --help", lambda: timed([*stvs_tui_command(), "--help"])))
    results.append(("stvs-tui --help / bare click", help_time, bare_click, 3.0, CPU["stvs-tui --help"],
                    CPU["python -c 'import click'"]))
    say(f"  ratio {help_time / bare_click:.2f}x (target ≤ 3x)  {load()}")

    expected = first_screen_texts(data_dir)
    first_screen_once(data_dir, expected)  # once unmeasured: a store made by an older version is migrated here
    for kept in (True, False):
        if kept:
            say(f"county TUI first screen at {STORE_VOLUNTEERS} volunteers, the usual start: the dashboard's slow "
                "figures kept by the last run (nothing changed since)")
            keep_figures(data_dir)
            label = "first screen (figures kept)"
        else:
            say(f"county TUI first screen at {STORE_VOLUNTEERS} volunteers, after a change the last run did not "
                "keep figures for (a crash, an edit at the sqlite3 prompt): all figures read afresh")
            label = "first screen (figures read afresh)"

        def ours(kept: bool = kept) -> tuple[float, float]:
            if not kept:
                forget_kept_figures(data_dir)
            return first_screen_once(data_dir, expected)

        SETTLED.clear()
        bare_textual, first = paired_medians(args.runs, ("python -c 'import textual.app'",
                                                         lambda: timed([python, "-c", "import textual.app"])),
                                             (label, ours))
        say(f"  settled (the dashboard's report, after the frames that follow the first): median "
            f"{statistics.median(SETTLED) * 1000:.0f} ms, {statistics.median(SETTLED) / bare_textual:.2f}x "
            f"(runs: {', '.join(f'{t * 1000:.0f}' for t in SETTLED)})")
        results.append((f"{label} / bare textual.app", first, bare_textual, 2.0, CPU[label],
                        CPU["python -c 'import textual.app'"]))
        say(f"  ratio {first / bare_textual:.2f}x (target ≤ 2x)  {load()}")

    say("volunteer form (Ctrl+N on the volunteers list, pilot)")
    import asyncio

    times = asyncio.run(form_times(data_dir, opens=max(args.runs, 3) + 1))
    (first_open, first_cpu), later = times[0], statistics.median(wall for wall, _ in times[1:])
    later_cpu = statistics.median(cpu for _, cpu in times[1:])
    say(f"  first open {first_open * 1000:.0f} ms (CPU {first_cpu * 1000:.0f} ms), median of the next "
        f"{len(times) - 1}: {later * 1000:.0f} ms (CPU {later_cpu * 1000:.0f} ms) (target ≤ 150 ms)  {load()}")
    say(f"  runs: {', '.join(f'{wall * 1000:.0f}' for wall, _ in times)} ms")

    say("summary (wall time decides; CPU time beside it, as the ratio of the CPU medians)")
    for label, value, base, target, cpu, cpu_base in results:
        verdict = "ok" if value / base <= target else "MISSED"
        say(f"  {label:34} {value * 1000:7.0f} ms / {base * 1000:5.0f} ms = {value / base:5.2f}x "
            f"(target ≤ {target:g}x) {verdict};  CPU {cpu * 1000:.0f} / {cpu_base * 1000:.0f} ms = "
            f"{cpu / cpu_base:.2f}x")
    for label, value, cpu in (("volunteer form, first open", first_open, first_cpu),
                              ("volunteer form, median", later, later_cpu)):
        say(f"  {label:34} {value * 1000:7.0f} ms (target ≤ 150 ms) {'ok' if value <= 0.150 else 'MISSED'};  "
            f"CPU {cpu * 1000:.0f} ms")
    say(f"done in {time.perf_counter() - began:.0f} s, {load()}")


if __name__ == "__main__":
    main()
