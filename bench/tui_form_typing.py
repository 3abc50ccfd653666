"""Benchmark: what a key typed into the volunteer form costs (issue 12, "a list that behaves": type-ahead).

The county TUI holds a key that comes while the one before is in flight (handed on, its effects not yet handled:
``CountyApp._screen_settled``), so a key that opens a screen leaves the next ones to it. This measures what that
costs a clerk typing into a form: the volunteer form (Ctrl+N on the volunteers list, a store of 300 volunteers)
gets ``--keys`` name characters, one at a time as a human types them (each posted to the app as the terminal
driver does, then left until every node of the app and its screen is quiet and the input has settled, then a
pause of ``--gap`` ms). Prints, per run, the CPU time of the process per key from the key's post to quiet (its
handling, the form's check of the record as typed, and the settle), and over the whole typing with its pauses
(the refreshes besides), with wall-clock times beside them. Run it on a tree before and after a change to
compare (``PYTHONPATH=<tree>``).

    python bench/tui_form_typing.py [--runs 3] [--keys 40] [--gap 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from _common import Run, say
from textual import events
from textual.widgets import Input

from schema.regions import install_regions, read_regions
from schema.store import open_store
from stvs_tui.county.app import CountyApp
from stvs_tui.county.screens.volunteers import VolunteersScreen
from stvs_tui.demo import generate, store_demo
from stvs_tui.widgets.form import FormModal

TODAY = date(2025, 3, 15)
SIZE = (120, 40)
NAME = "韩刚小明李华欧阳"


def quiet(node: object) -> bool:
    """Nothing queued for ``node`` and its loop parked between messages (the same test as the app's)."""
    if node._closing or node._closed:  # type: ignore[attr-defined]
        return True
    queue = node._message_queue  # type: ignore[attr-defined]
    return (node._pending_message is None and queue.empty()  # type: ignore[attr-defined]
            and any(not waiter.done() for waiter in queue.ready_event._waiters))


def all_quiet(app: CountyApp) -> bool:
    return (not getattr(app, "_replaying", False) and not app.held_input
            and all(quiet(node) for node in [app, *app.screen.walk_children(with_self=True)]))


async def until(condition, give_up: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition`` every 2 ms (its own cost is in the figures: a walk of the screen's nodes, as rarely as
    that, and the same before and after a change)."""
    deadline = time.perf_counter() + give_up
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit(f"not reached after {give_up:.0f} s: {condition}")
        await asyncio.sleep(0.002)


async def one_run(path: Path, keys: int, gap: float) -> tuple[list[float], list[float], float, float, int]:
    store = open_store(path, daily_backup=False)
    try:
        app = CountyApp(store, today=TODAY)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            app.action_go("volunteers")
            await until(lambda: isinstance(app.screen, VolunteersScreen) and app.screen.is_mounted)
            await app.workers.wait_for_complete()
            await pilot.pause()
            app.post_message(events.Key("ctrl+n", None))
            await until(lambda: isinstance(app.screen, FormModal) and isinstance(app.focused, Input)
                        and app.focused.id == "f-name")
            await app.workers.wait_for_complete()
            await until(lambda: all_quiet(app))
            await asyncio.sleep(0.2)
            form = app.screen
            field = app.focused
            nodes = len(list(form.walk_children(with_self=True)))
            cpu_per_key, wall_per_key = [], []
            total_cpu, total_wall = time.process_time(), time.perf_counter()
            for index in range(keys):
                char = NAME[index % len(NAME)]
                typed = field.value + char
                cpu, wall = time.process_time(), time.perf_counter()
                app.post_message(events.Key(char, char))
                await until(lambda typed=typed: field.value == typed and all_quiet(app))
                cpu_per_key.append(time.process_time() - cpu)
                wall_per_key.append(time.perf_counter() - wall)
                await asyncio.sleep(gap)
            total_cpu, total_wall = time.process_time() - total_cpu, time.perf_counter() - total_wall
            assert field.value == "".join(NAME[i % len(NAME)] for i in range(keys))
            return cpu_per_key, wall_per_key, total_cpu / keys, total_wall / keys, nodes
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--gap", type=float, default=30.0, help="ms between keys")
    args = parser.parse_args()
    run = Run("tui_form_typing")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stvs.sqlite"
        store = open_store(path, daily_backup=False)
        with store.session() as session:
            install_regions(session, read_regions())
        store.set_settings(county_code="410522", clerk="王芳")
        store_demo(store, generate("410522", "安阳县", 300, seed=7, today=TODAY, with_activities=False))
        store.close()
        run.step("store of 300 volunteers written")
        for number in range(args.runs):
            cpu, wall, total_cpu, total_wall, nodes = asyncio.run(one_run(path, args.keys, args.gap / 1000))
            run.step(f"run {number + 1}: {args.keys} keys into the form ({nodes} nodes): post to quiet median "
                     f"{statistics.median(cpu) * 1000:.2f} ms CPU ({statistics.median(wall) * 1000:.2f} ms wall), "
                     f"worst {max(cpu) * 1000:.2f} ms CPU; over the typing with its {args.gap:.0f} ms pauses "
                     f"{total_cpu * 1000:.2f} ms CPU per key ({total_wall * 1000:.2f} ms wall)")
    run.done()
    say("")


if __name__ == "__main__":
    main()
