"""Sync between county stores and the city server: change capture, merge, protocol, client, server."""

import sys
import types

# httpx imports its command-line tool at import time when click, rich and pygments are installed (they are: the
# TUI's and the CLI's), and with it rich and pygments: ~5 MB of a sync client's memory (69 -> 64 MB after its
# imports) for a tool this program never runs. An empty stand-in for that one module makes httpx define its
# fallback ``httpx.main`` instead (which says to install httpx[cli]); nothing else of httpx changes. Set here,
# before any module of this package imports httpx; if httpx was imported already, nothing changes.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", types.ModuleType("httpx._main"))
