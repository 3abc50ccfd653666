"""Failures of the machine, not of the work: a full disk, a disk error, a read-only or locked store file.

The command line (``stvs_tui.cli.failures``) and the county app turn them into one sentence the clerk can act on.
"""

from __future__ import annotations

import errno

# (what SQLite or the OS says, what the clerk reads)
_SQLITE_REASONS = (
    ("full", "磁盘已满 (the disk is full)"),
    ("disk I/O", "磁盘读写出错或文件超过允许的大小 (a disk read/write error, or the file grew past what is allowed)"),
    ("readonly", "只读，无法写入 (read-only: cannot write to it)"),
    ("locked", "被其他程序锁定 (locked by another program)"),
)
_OS_REASONS = {
    errno.ENOSPC: _SQLITE_REASONS[0][1],
    errno.EDQUOT: "超出磁盘配额 (over the disk quota)",
    errno.EFBIG: _SQLITE_REASONS[1][1],
    errno.EROFS: _SQLITE_REASONS[2][1],
    errno.EIO: _SQLITE_REASONS[1][1],
}


def storage_failure(exc: BaseException) -> tuple[str, str | None] | None:
    """(reason, file or None) when ``exc`` (or what caused it) is the disk's or the store file's fault."""
    import sqlite3

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.OperationalError):
            message = str(current)
            for needle, reason in _SQLITE_REASONS:
                if needle in message:
                    return reason, None
        if isinstance(current, OSError) and current.errno in _OS_REASONS:
            return _OS_REASONS[current.errno], current.filename
        orig = getattr(current, "orig", None)  # SQLAlchemy's wrapper holds the driver's error here
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return None
