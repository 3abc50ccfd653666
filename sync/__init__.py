"""Sync between county stores and the city server: change capture, merge, protocol, client, server."""

import importlib.abc
import sys


class _WithoutHttpxCommandLine(importlib.abc.MetaPathFinder):
    """httpx imports its command-line tool at import time when click, rich and pygments are installed (they are:
    the TUI's and the CLI's), and with it rich and pygments: ~5 MB of a sync client's memory (69 -> 64 MB after
    its imports) for a tool this program never runs. Asked for that one module, this finder says there is none,
    and httpx defines its fallback ``httpx.main`` instead (which says to install httpx[cli]); nothing else of
    httpx changes, and nothing is put in ``sys.modules``."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "httpx._main":
            raise ModuleNotFoundError("httpx's command-line tool is not used by stvs-tui", name=name)


# Before any module of this package imports httpx (if httpx was imported already, it changes nothing).
if not any(isinstance(finder, _WithoutHttpxCommandLine) for finder in sys.meta_path):
    sys.meta_path.insert(0, _WithoutHttpxCommandLine())
