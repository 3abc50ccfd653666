"""A disk that fills up (or a file-size limit) mid-command: one line naming the file, exit 1, nothing half written.

The limit is the process's own RLIMIT_FSIZE (no root or small mount needed): a write past it fails with EFBIG,
which SQLite reports as a disk I/O error, the way a full disk fails a write.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE is POSIX only")


def _limited(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _stvs(data_dir: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stvs_tui", *args], env={**os.environ, "STVS_DATA_DIR": str(data_dir)},
                          capture_output=True, text=True, timeout=600,
                          preexec_fn=_limited(limit) if limit else None)


def _count(store: Path, table: str) -> int:
    with sqlite3.connect(store) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_demo_on_a_disk_that_fills_up_says_so_in_one_line_and_writes_nothing(tmp_path) -> None:
    data = tmp_path / "d"
    assert _stvs(data, "init", "--county", "410522", "--clerk", "王芳").returncode == 0
    store = data / "stvs.sqlite"
    size = sum(path.stat().st_size for path in data.rglob("*") if path.is_file())
    result = _stvs(data, "demo", "--volunteers", "3000", "--seed", "2", limit=size + 400_000)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "stvs" in lines[0] and "磁盘" in lines[0], result.stderr
    # The demo's one transaction was rolled back: the store opens, and holds no demo team or volunteer.
    assert _count(store, "volunteer") == 0 and _count(store, "team") == 0
    assert _stvs(data, "demo", "--volunteers", "50", "--seed", "2").returncode == 0
    assert _count(store, "volunteer") == 50


def test_an_export_to_a_full_disk_names_the_file(tmp_path) -> None:
    data = tmp_path / "d"
    assert _stvs(data, "init", "--county", "410522", "--clerk", "王芳").returncode == 0
    assert _stvs(data, "demo", "--volunteers", "2000", "--seed", "2").returncode == 0
    out = tmp_path / "名册.xlsx"
    # Room for the store's own small writes on opening, not for the workbook of 2,000 people.
    result = _stvs(data, "export", "roster", "-o", str(out), limit=60_000)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(out) in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".stvs-export-*"))


def test_the_machine_failures_are_recognised_through_sqlalchemy_and_os_errors(tmp_path) -> None:
    """What the county app's database worker and the command line both use to name a full disk."""
    import errno

    import sqlalchemy as sa

    from stvs_tui.failures import storage_failure

    wrapped = sa.exc.OperationalError("INSERT …", {}, sqlite3.OperationalError("database or disk is full"))
    assert storage_failure(wrapped) is not None and "磁盘已满" in storage_failure(wrapped)[0]
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "a.xlsx"))
        except OSError as exc:
            raise RuntimeError("export failed") from exc
    except RuntimeError as chained:
        assert storage_failure(chained) == ("磁盘已满 (the disk is full)", str(tmp_path / "a.xlsx"))
    assert storage_failure(sqlite3.OperationalError("no such table: x")) is None
    assert storage_failure(ValueError("full of mistakes")) is None
