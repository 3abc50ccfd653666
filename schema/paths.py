"""What is wrong with a path a user gave: one line naming the path and the reason (not found, not a folder,
not writable, read-only), checked before any work starts, so nothing half done is left and no traceback or
wrong reason ("damaged") reaches the user. Used by the store, the exports and the bundles."""

from __future__ import annotations

import errno
import os
from pathlib import Path

# The names of a data folder's store file and backup folder (here, so that naming them costs no SQLAlchemy).
STORE_FILENAME = "stvs.sqlite"
BACKUP_DIRNAME = "backups"

NOT_FOUND = "不存在 (not found)"
NOT_A_FOLDER = "不是文件夹 (not a folder)"
A_FOLDER = "是文件夹而不是文件 (a folder, not a file)"
FOLDER_NOT_WRITABLE = "文件夹无写入权限 (folder not writable)"
NOT_READABLE = "无读取权限 (not readable: permission denied)"
READ_ONLY = "只读，无法写入 (read-only: cannot write to it)"

_OS_REASONS = {errno.ENOENT: NOT_FOUND, errno.ENOTDIR: NOT_A_FOLDER, errno.EISDIR: A_FOLDER,
               errno.EACCES: "无权限 (permission denied)", errno.EPERM: "不允许 (operation not permitted)",
               errno.EROFS: "只读文件系统 (read-only file system)", errno.ENOSPC: "磁盘已满 (disk full)"}


def os_reason(exc: OSError) -> str:
    """An ``OSError`` in the words above (its path is named by the caller)."""
    return _OS_REASONS.get(exc.errno or 0) or f"{exc.strerror} (errno {exc.errno})"


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written into ``folder``, or None."""
    if not folder.exists():
        return f"{folder}: 文件夹{NOT_FOUND}"
    if not folder.is_dir():
        return f"{folder}: {NOT_A_FOLDER}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder}: {FOLDER_NOT_WRITABLE}"
    return None


def output_problem(path: Path) -> str | None:
    """Why ``path`` cannot be written (made, or replaced as a whole), or None."""
    path = Path(path)
    if path.is_dir():
        return f"{path}: {A_FOLDER}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path}: {READ_ONLY}"
    return folder_problem(path.parent.absolute())


def input_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read, or None."""
    path = Path(path)
    if not path.exists():
        return f"{path}: {NOT_FOUND}"
    if path.is_dir():
        return f"{path}: {A_FOLDER}"
    if not os.access(path, os.R_OK):
        return f"{path}: {NOT_READABLE}"
    return None
