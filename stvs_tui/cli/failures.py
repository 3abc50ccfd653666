"""Failures of the machine, not of the command: a full disk, a disk error, a read-only or locked store.

Any command can meet them mid-write (a demo, an import, a pull, an export). The command's transaction is
rolled back by SQLite; what the clerk needs is one line saying which file and what is wrong, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from stvs_tui.failures import storage_failure


def as_click_error(exc: BaseException, store: Path | None) -> click.ClickException | None:
    found = storage_failure(exc)
    if found is None:
        return None
    reason, filename = found
    where = filename or store or "?"
    return click.ClickException(f"{where}: {reason}；本次操作已撤销，未写入一半的数据 (this operation was rolled back: "
                                "nothing half written)")


class StvsGroup(click.Group):
    """The top-level group: a storage failure anywhere below becomes one line and exit code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            paths = getattr(ctx.obj, "paths", None)
            error = as_click_error(exc, getattr(paths, "store", None))
            if error is None:
                raise
            raise error from None
