"""Where things live on disk: the data dir (``--data-dir``, ``STVS_DATA_DIR`` or the platform's)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from schema.paths import BACKUP_DIRNAME, STORE_FILENAME

APP_NAME = "stvs-tui"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        chosen = data_dir or os.environ.get("STVS_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)
        return cls(Path(chosen).expanduser().resolve())

    @property
    def store(self) -> Path:
        return self.data_dir / STORE_FILENAME

    @property
    def backups(self) -> Path:
        return self.data_dir / BACKUP_DIRNAME

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def server_db(self) -> Path:
        return self.data_dir / "city-server.sqlite"
