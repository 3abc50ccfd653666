"""The city server's push handler alone, measured in turn on two trees: the same push bodies (captured once from a
real push of a generated store through the real server) replayed into a fresh city database in-process, without
HTTP or a client beside it. For comparing a change to the handler on a shared machine, whose speed drifts by a
fifth from minute to minute: the trees take turns, and the system time (the kernel's share: statement journals,
page reads and writes) is printed apart.

    python bench/push_replay.py                            # this tree: 3 replays of a ~100k-record push
    python bench/push_replay.py --against /tmp/before      # and another tree, in turn (git worktree add /tmp/before REV)
    python bench/push_replay.py --records 20000 --valgrind # instructions a record under cachegrind (exact; slow)

Under ``--valgrind`` each tree is counted once (the count does not drift: stable to ~0.1%), as the replay's
instructions less those of the same process replaying nothing; it undercounts memory-bound work (the collector's
walks) and SHA-256, which runs without the CPU's SHA instructions there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Run, say
from sync_push import COUNTY, make_store, running_server

ROOT = Path(__file__).resolve().parent.parent


def capture(folder: Path, records: int, run: Run) -> Path:
    """Make a store of ~``records`` records, push it through the real server, keep each batch's body."""
    store = folder / "county" / "stvs.sqlite"
    total = make_store(store, records, seed=1)
    run.step(f"store of {total:,} records made")
    bodies = folder / "bodies"
    bodies.mkdir()
    with running_server(f"sqlite:///{folder / 'capture.sqlite'}") as (_, url, token):
        subprocess.run([sys.executable, __file__, "--capture", str(store), url, str(bodies)], check=True,
                       env={**os.environ, "STVS_BENCH_TOKEN": token})
    run.step(f"{len(list(bodies.iterdir()))} push bodies captured")
    return bodies


def capture_main(store_path: str, url: str, bodies: str) -> None:
    """In a child process: one sync of the store, each batch's body written to ``bodies`` in the order sent."""
    from schema.store import open_store
    from sync.client import SyncClient

    stage = SyncClient._stage
    count = 0

    def keeping(client: SyncClient, changes: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], bytes]:
        nonlocal count
        staged = stage(client, changes)
        (Path(bodies) / f"{count:05d}.json").write_bytes(staged[2])
        count += 1
        return staged

    SyncClient._stage = keeping  # type: ignore[method-assign]
    store = open_store(Path(store_path), daily_backup=False)
    with SyncClient(store, url, os.environ["STVS_BENCH_TOKEN"]) as client:
        summary = client.run()
    assert summary.applied == summary.pushed and summary.digest == "match", summary


def replay_main(tree: str, bodies: str, limit: int) -> None:
    """In a child process, on ``tree``'s code: the bodies replayed into a fresh database; figures as JSON."""
    sys.path.insert(0, tree)
    import orjson
    from fastapi.security import HTTPAuthorizationCredentials

    from sync import server
    from sync.auth import issue_token
    from sync.serverdb import open_server_db

    assert Path(server.__file__).resolve().is_relative_to(Path(tree).resolve()), server.__file__
    payloads = [path.read_bytes() for path in sorted(Path(bodies).iterdir())][:limit]
    records = sum(len(orjson.loads(payload)["changes"]) for payload in payloads)
    with tempfile.TemporaryDirectory() as folder:
        db = open_server_db(f"sqlite:///{Path(folder) / 'server.sqlite'}")
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=issue_token(db.engine, COUNTY))
        started, thread, times = time.perf_counter(), time.thread_time(), os.times()
        for payload in payloads:
            server._push(db, credentials, payload)
        wall, thread, after = time.perf_counter() - started, time.thread_time() - thread, os.times()
        db.close()
    per = 1e6 / max(records, 1)
    print(json.dumps({"records": records, "handler_us": thread * per, "wall_us": wall * per,
                      "user_us": (after.user - times.user) * per, "sys_us": (after.system - times.system) * per}))


def replay(tree: Path, bodies: Path, limit: int = 1 << 30, valgrind: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--replay", str(tree), str(bodies), str(limit)]
    if not valgrind:
        done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=tree)
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    setup, _ = _counted([*command[:-1], "0"], tree)
    everything, figures = _counted(command, tree)
    figures["instructions"] = (everything - setup) / max(figures["records"], 1)
    return figures


def _counted(command: list[str], tree: Path) -> tuple[int, dict[str, Any]]:
    """A replay under cachegrind: the instructions it ran (start-up included), and its figures."""
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           *command], check=True, capture_output=True, text=True, cwd=tree)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    assert found, done.stderr[-2000:]
    return int(found.group(1).replace(",", "")), dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=3, help="replays on each tree, in turn; the median is reported")
    parser.add_argument("--against", type=Path, help="another tree of the code (a git worktree), replayed in turn")
    parser.add_argument("--valgrind", action="store_true", help="count instructions a record instead (one replay each)")
    parser.add_argument("--capture", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--replay", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.capture:
        capture_main(*args.capture)
        return
    if args.replay:
        replay_main(args.replay[0], args.replay[1], int(args.replay[2]))
        return
    if args.valgrind and shutil.which("valgrind") is None:
        parser.exit(2, "push_replay.py: --valgrind needs valgrind (apt-get install valgrind)\n")
    trees = {"this tree": ROOT} | ({f"{args.against}": args.against.resolve()} if args.against else {})
    run = Run("bench/push_replay.py")
    with tempfile.TemporaryDirectory() as folder:
        bodies = capture(Path(folder), args.records, run)
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for trial in range(1 if args.valgrind else args.trials):
            for name, tree in trees.items():
                figures = replay(tree, bodies, valgrind=args.valgrind)
                results[name].append(figures)
                extra = f", {figures['instructions']:,.0f} instructions" if args.valgrind else ""
                run.step(f"{name}, replay {trial + 1}: {figures['records']:,} records, handler {figures['handler_us']:.1f} "
                         f"µs a record (user {figures['user_us']:.1f}, system {figures['sys_us']:.1f}){extra}")
    medians = {name: {key: statistics.median(f[key] for f in found) for key in found[0]}
               for name, found in results.items()}
    for name, figures in medians.items():
        extra = f"; {figures['instructions']:,.0f} instructions a record" if args.valgrind else ""
        say(f"{name}: handler {figures['handler_us']:.1f} µs a record, user {figures['user_us']:.1f}, system "
            f"{figures['sys_us']:.1f} (medians of {len(results[name])}){extra}")
    if args.against:
        mine, theirs = medians["this tree"], medians[f"{args.against}"]
        key = "instructions" if args.valgrind else "handler_us"
        say(f"this tree / {args.against}: {mine[key] / theirs[key]:.3f} ({key}, the medians')")
    run.done()


if __name__ == "__main__":
    main()
