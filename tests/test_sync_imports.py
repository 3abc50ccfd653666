"""What a sync client loads: not httpx's command-line tool, nor rich and pygments with it (~5 MB of its memory),
while httpx itself works as ever. In a fresh interpreter, as `stvs-tui sync` starts one."""

from __future__ import annotations

import subprocess
import sys


def test_the_sync_client_leaves_httpx_command_line_tool_unloaded() -> None:
    code = ("import sys\nfrom schema.store import open_store\nfrom sync.client import SyncClient\nimport httpx\n"
            "print(sorted(m for m in ('rich', 'pygments', 'httpx._main') if m in sys.modules))\n"
            "print(httpx.Client(base_url='http://127.0.0.1:1').base_url)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "http://127.0.0.1:1"], done.stdout + done.stderr


def test_the_city_server_leaves_pygments_unloaded(tmp_path) -> None:
    """alembic imports mako's exceptions, which load pygments whenever it is installed (Textual brings it) to colour
    an HTML error page: 5.5 MB of the memory of a server that migrates its database. The server makes its database,
    migrations and all, without it, and mako's exceptions still work (their fallback)."""
    code = ("import os, sys\nfrom sync.server import DATABASE_URL_ENV, app_from_env\n"
            f"os.environ[DATABASE_URL_ENV] = 'sqlite:///{tmp_path / 'server.sqlite'}'\n"
            "app = app_from_env()\nimport mako.exceptions\n"
            "print(sorted(m for m in ('pygments', 'mako.ext.pygmentplugin') if m in sys.modules))\n"
            "print('alembic' in sys.modules, mako.exceptions.syntax_highlight()('<b>'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "True &lt;b&gt;"], done.stdout + done.stderr
