"""The city's register of county devices and their keys: ``node enrol|list|revoke|city-key``.

A device's key is registered at its first online sync; a county that never goes online writes an
enrolment file (``stvs-tui bundle enrol``) that the city admin imports here. Revoking a lost device
revokes its key (its bundles are refused) and the token it synced with.
Exit codes as everywhere: 0 done, 1 failed with a one-line reason on stderr, 2 usage error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sync.errors import SyncError

if TYPE_CHECKING:
    from stvs_tui.context import AppContext

database_option = click.option("--database-url", envvar="STVS_SERVER_DATABASE_URL",
                               help="The server's database (default: SQLite in the data dir).")


def _one_line(exc: Exception) -> click.ClickException:
    return click.ClickException(" ".join(str(exc).split()))


@click.group("node")
def node_group() -> None:
    """County devices known to the city server, and the keys their bundles are checked with.

    \b
    Example:
      stvs-tui node list --county 410522
    """


@node_group.command("enrol")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@database_option
@click.pass_obj
def node_enrol(app: AppContext, file: Path, database_url: str | None) -> None:
    """Register a county device from its enrolment file (`stvs-tui bundle enrol`), so that the city accepts
    its bundles. Compare the fingerprint printed with the one the county saw before you trust it.

    \b
    Example:
      stvs-tui node enrol /media/usb/anyang-county.enrol.json
    """
    from sync.keys import enrol_node, fingerprint, read_enrolment

    db = app.open_server_db(database_url)
    try:
        registered = enrol_node(db, read_enrolment(file))
    except SyncError as exc:
        raise _one_line(exc) from None
    finally:
        db.close()
    click.echo(f"已登记 registered {registered.node_id} ({registered.county_code}), "
               f"指纹 fingerprint {fingerprint(registered.public_key)}")


@node_group.command("list")
@click.option("--county", help="Only this county (six-digit code).")
@click.option("--json", "as_json", is_flag=True, help="Print the devices as JSON.")
@database_option
@click.pass_obj
def node_list(app: AppContext, county: str | None, as_json: bool, database_url: str | None) -> None:
    """List registered devices: node id, county, key fingerprint, how registered, revoked or not.

    \b
    Example:
      stvs-tui node list --county 410522 --json
    """
    from sync.keys import node_keys

    db = app.open_server_db(database_url)
    try:
        keys = [key.to_dict() for key in node_keys(db, county)]
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(keys, ensure_ascii=False, indent=2))
        return
    for key in keys:
        state = f"revoked {key['revoked_at'][:10]} {key['revoked_reason']}" if key["revoked_at"] else "active"
        click.echo(f"{key['node_id']}  {key['county_code']}  {key['fingerprint']}  {key['source']}  "
                   f"{key['registered_at'][:16]}  {state}  {key['label']}")


@node_group.command("revoke")
@click.argument("node_id")
@click.option("--reason", required=True, help="Why (kept with the key), e.g. 笔记本丢失.")
@database_option
@click.pass_obj
def node_revoke(app: AppContext, node_id: str, reason: str, database_url: str | None) -> None:
    """Revoke a lost or retired device: its bundles are refused from now on, and the token it synced with
    is revoked too. Give the county a new token (`token add`) for its new device.

    \b
    Example:
      stvs-tui node revoke 0190a1b2-... --reason 笔记本丢失
    """
    from sync.keys import revoke_node

    db = app.open_server_db(database_url)
    try:
        revoked = revoke_node(db, node_id, reason)
    except SyncError as exc:
        raise _one_line(exc) from None
    finally:
        db.close()
    click.echo(f"已注销 revoked {revoked.node_id} ({revoked.county_code})"
               + (f", 令牌 token {revoked.token_id}" if revoked.token_id else ""))


@node_group.command("city-key")
@click.option("-o", "--output", "file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write it to FILE, for `stvs-tui bundle trust-city FILE` on a county's device.")
@database_option
@click.pass_obj
def node_city_key(app: AppContext, file: Path | None, database_url: str | None) -> None:
    """Print the city's public key, which signs return bundles (a county that never syncs online needs it).

    \b
    Example:
      stvs-tui node city-key -o /media/usb/city-key.json
    """
    from sync.keys import fingerprint, write_city_key

    db = app.open_server_db(database_url)
    try:
        key = write_city_key(db, file) if file else db.city_key.public_key
    except OSError as exc:
        raise _one_line(exc) from None
    finally:
        db.close()
    click.echo(key)
    click.echo(f"指纹 fingerprint {fingerprint(key)}", err=True)
