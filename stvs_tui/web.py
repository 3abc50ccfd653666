"""``--web``: serve the county or the city app to a browser with textual-serve (by Textual's authors).

Each browser tab gets its own app process, started from the same command line as the terminal app. The
server listens on loopback unless told otherwise; any other address gets a warning, because whoever reaches
the port reaches the app (the county app has no sign-in; the city app asks for the admin token on its first
screen). For other machines, put a TLS reverse proxy (nginx, Caddy) in front and pass its address as
``--public-url``.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys

import click

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(arguments: list[str], host: str, port: int, title: str, public_url: str | None = None) -> None:
    """Serve ``python -m stvs_tui <arguments>`` at http://host:port until Ctrl+C."""
    from textual_serve.server import Server

    if not is_loopback(host):
        click.echo(f"警告 warning: 在 {host} 上提供服务，能访问此端口的任何人都能打开本应用；请在前面放置 TLS 反向代理 "
                   f"(serving on {host}: anyone who reaches this port reaches the app; put a TLS reverse proxy in "
                   "front of it)", err=True)
    command = shlex.join([sys.executable, "-m", "stvs_tui", *arguments])
    url = public_url or f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    click.echo(f"{title}: {url}  (Ctrl+C 停止 stops)")
    Server(command, host=host, port=port, title=title, public_url=url).serve()
