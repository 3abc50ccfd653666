"""Sync between county stores and the city server: change capture, merge, protocol, client, server."""

import importlib.abc
import sys


class _WithoutUnusedExtras(importlib.abc.MetaPathFinder):
    """Two modules that libraries import only because another package happens to be installed (rich and pygments,
    which Textual brings), for features this program never uses. Asked for one of them, this finder says there is
    none and the library takes its own fallback; nothing else changes, and nothing is put in ``sys.modules``.

    - ``httpx._main``: httpx imports its command-line tool, and rich and pygments with it, at import time: ~5 MB of
      a sync client's memory (69 -> 64 MB after its imports); httpx's fallback ``httpx.main`` says to install
      httpx[cli].
    - ``mako.ext.pygmentplugin``: a city server that migrates its database (its first start, or the first after an
      upgrade) does so through alembic, which imports mako's exceptions, which load pygments to colour the HTML
      page of a template's error: 5.5 MB of that process's memory for as long as it runs (95.8 -> 90.4 MB after
      start-up, 2026-12-01); mako's fallback escapes the text instead. (A server opening a database already at
      the current revision imports none of alembic: 73 MB.)"""

    REFUSED = frozenset({"httpx._main", "mako.ext.pygmentplugin"})

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name in self.REFUSED:
            raise ModuleNotFoundError(f"{name} is not used by stvs-tui", name=name)


# Before any module of this package imports httpx or opens a database (a module imported already stays as it is).
if not any(isinstance(finder, _WithoutUnusedExtras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _WithoutUnusedExtras())
