"""What every command gets from the ``stvs-tui`` group: where the data is, the language, and the stores it opens.

It sits below the command modules (``stvs_tui.cli.*``), which take it as ``click``'s context object. The
group makes one for every command, ``--help`` included, so the store's libraries are imported only when a
store is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from schema.errors import StoreError
from stvs_tui.paths import AppPaths

if TYPE_CHECKING:
    from schema.store import Store
    from sync.serverdb import ServerDB


@dataclass
class AppContext:
    paths: AppPaths
    lang: str

    def open_store(self) -> Store:
        from schema.store import open_store
        from stvs_tui.regions import ensure_regions

        try:
            store = open_store(self.paths.store)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        ensure_regions(store)
        return store

    def open_initialised_store(self) -> Store:
        store = self.open_store()
        if not store.county_code:
            store.close()
            raise click.ClickException("本地数据库尚未初始化，请先运行 stvs-tui init --county CODE "
                                       "(the store has no county yet: run `stvs-tui init --county CODE`)")
        return store

    def server_db_url(self, database_url: str | None) -> str:
        """The city server's database: ``--database-url`` when given, else SQLite in the data dir."""
        return database_url or f"sqlite:///{self.paths.server_db}"

    def open_server_db(self, database_url: str | None) -> ServerDB:
        """Open (and migrate) the city server's database; a failure is a one-line ``ClickException``."""
        from sync.serverdb import open_server_db

        try:
            return open_server_db(self.server_db_url(database_url))
        except StoreError as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None
