"""The sync commands: ``sync`` (county), ``serve`` and ``token add`` (city server).

Exit codes as everywhere: 0 done (a sync with conflicts is done too), 1 failed with a one-line reason
on stderr (unreachable server, refused token, incompatible version, unusable store), 2 usage error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa

from schema.errors import InvalidValue, StoreError
from schema.models import Region
from schema.regions import read_regions
from schema.validators import normalize_region_code
from stvs_tui.cli.params import unknown_county
from stvs_tui.doctor import clock_lines, doctor_lines, server_line
from stvs_tui.i18n import t, use_language
from sync.client import SyncClient, SyncProgress, SyncSummary
from sync.credentials import load_token, save_token
from sync.doctor import diagnose, drop_batch, take_city
from sync.errors import SyncError
from sync.transport import CA_FILE_SETTING, INSECURE_URL_SETTING

if TYPE_CHECKING:
    from stvs_tui.context import AppContext
    from sync.serverdb import ServerDB

PHASES = {"push": "上传 (push)", "pull": "下载 (pull)", "verify": "核对 (verify)"}


def _progress_printer(enabled: bool) -> Callable[[SyncProgress], None]:
    def show(progress: SyncProgress) -> None:
        if not enabled:
            return
        total = f"/{progress.total}" if progress.total is not None else ""
        click.echo(f"\r{PHASES.get(progress.phase, progress.phase)} {progress.done}{total}   ", nl=False, err=True)

    return show


def _print_summary(summary: SyncSummary) -> None:
    click.echo(f"上传 pushed {summary.pushed}: 已应用 applied {summary.applied}, 已合并 merged {summary.merged}, "
               f"冲突 conflicts {summary.conflicts}, 重复 duplicates {summary.duplicates}, "
               f"拒绝 rejected {summary.rejected}")
    click.echo(f"下载 pulled {summary.pulled}" + (f" (有未上传修改而暂缓 held for unsynced edits: "
                                                 f"{summary.skipped_pending})" if summary.skipped_pending else ""))
    if summary.quarantined:
        click.echo(f"暂存未写入 quarantined {summary.quarantined} (见 see `stvs-tui sync doctor`)")
    click.echo(f"冲突处理结果 resolutions {summary.resolutions}" + (
        f" (未能获取 could not fetch: {summary.resolutions_error})" if summary.resolutions_error else ""))
    click.echo(f"核对 digest: {summary.digest}" + (f" (修复 repaired {summary.repaired}, 重新上传 resent "
                                                   f"{summary.requeued})" if summary.repaired or summary.requeued else ""))
    for line in clock_lines(summary):
        click.echo(f"时钟 clock: {line}")
    for item in summary.rejected_records:
        click.echo(f"  拒绝 rejected {item['table']} {item['id']}: {item['reason']} {item['message']}")
    for item in summary.conflict_records:
        click.echo(f"  冲突 conflict {item['table']} {item['id']}: {item['reason']} (conflict {item['conflict_id']})")


@click.group("sync", invoke_without_command=True)
@click.option("--server", "server_url", help="City server URL, e.g. https://kx.anyang.example:8765 (saved).")
@click.option("--token", help="This device's token from `stvs-tui token add` (saved in the OS keyring, else the store; "
              "`stvs-tui where` says which).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, resolve_path=True),
              help="Trust the city's own CA (PEM) for the server's certificate (saved, like the server).")
@click.option("--insecure-http", is_flag=True,
              help="Allow a plain http:// server on another machine: the token and records go unencrypted (saved "
                   "for that URL). Without it only https://, or http:// to this machine, is used.")
@click.option("--retries", default=4, show_default=True, type=click.IntRange(0, 10),
              help="How many times to try again when the server cannot be reached, waiting 0.5 s, 1 s, 2 s, ... "
                   "between tries (0: one try only).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (for scripts).")
@click.pass_context
def sync_command(ctx: click.Context, server_url: str | None, token: str | None, ca_file: str | None,
                 insecure_http: bool, retries: int, as_json: bool) -> None:
    """Push this county's changes to the city server, then pull what changed for it.

    Conflicts do not stop a sync: they are listed in the summary and wait in the city's queue. A pulled
    row this store cannot write is quarantined (the pull goes on) and retried by every sync; `sync doctor`
    lists whatever is stuck and how to clear it.
    Server, token, CA file and --insecure-http are remembered once a sync with them has run.
    The dashboard's figures are then read and kept, so the TUI's next start shows them at once.
    The server's certificate is verified; a token is never sent over plain http:// to another
    machine unless --insecure-http is given.

    \b
    Examples:
      stvs-tui sync --server https://kx.anyang.example:8765 --token 6fQ...x2 --json
      stvs-tui sync --server https://10.1.2.3:8765 --token 6fQ...x2 --ca-file anyang-ca.pem
      stvs-tui sync doctor
    """
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj
    use_language(app.lang)
    store = app.open_initialised_store()
    try:
        url = (server_url or store.setting("server_url")).strip().rstrip("/")
        secret = (token or load_token(store)).strip()
        if not url or not secret:
            raise click.UsageError("需要 --server 和 --token (no server or token saved yet: give --server and --token)")
        with SyncClient(store, url, secret, ca_file=ca_file, insecure_http=insecure_http or None,
                        retries=retries) as client:
            summary = client.run(_progress_printer(not as_json and sys.stderr.isatty()))
        # Remembered only once the server has taken them: a mistyped token must not replace a good one.
        if server_url or token:
            store.set_settings(server_url=url)
            save_token(store, secret)
        if ca_file:
            store.set_settings(**{CA_FILE_SETTING: ca_file})
        if insecure_http:
            store.set_settings(**{INSECURE_URL_SETTING: url})
        county = store.county_code
    except (SyncError, StoreError) as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    finally:
        store.close()
    from stvs_tui.county.start import keep_figures_for_next_start

    # What the sync brought changes the dashboard: its figures kept now, the TUI's next start shows them at once.
    keep_figures_for_next_start(store.path, county or "", date.today())
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
    else:
        if sys.stderr.isatty():
            click.echo("", err=True)
        _print_summary(summary)


@sync_command.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the items as JSON (for scripts).")
@click.option("--offline", is_flag=True, help="Do not ask the city server for the county's other open conflicts.")
@click.pass_obj
def doctor_command(app: AppContext, as_json: bool, offline: bool) -> None:
    """List whatever keeps this store from being in sync, each with its reason and what clears it:
    outbox batches the server refused, quarantined rows, rejected records, open conflicts of this county
    (the county's other devices' too, asked of the saved server unless --offline). Changes nothing.

    \b
    Example:
      stvs-tui sync doctor --json
    """
    store = app.open_initialised_store()
    try:
        found = diagnose(store, ask_server=not offline)
    finally:
        store.close()
    use_language(app.lang)
    if as_json:
        click.echo(json.dumps({"items": [item.to_dict() | {"action_text": t(f"doctor.action.{item.action}")}
                                         for item in found.items],
                               "server": found.server, "server_error": found.server_error},
                              ensure_ascii=False, indent=2))
        return
    for line in [*doctor_lines(found.items), server_line(found)]:
        click.echo(line)


@sync_command.command("drop-batch")
@click.argument("batch_id")
@click.pass_obj
def drop_batch_command(app: AppContext, batch_id: str) -> None:
    """Drop an outbox batch the server refused; its changes stay queued and go in new batches next sync.

    \b
    Example:
      stvs-tui sync drop-batch 0190f3c2-7a1b-7c3d-9e4f-123456789abc
    """
    use_language(app.lang)
    store = app.open_initialised_store()
    try:
        changes = drop_batch(store, batch_id)
    finally:
        store.close()
    if not changes:
        raise click.ClickException(t("doctor.no_batch", batch=batch_id))
    click.echo(t("doctor.dropped", batch=batch_id, changes=changes))


@sync_command.command("take-city")
@click.argument("key", metavar="TABLE:ID")
@click.pass_obj
def take_city_command(app: AppContext, key: str) -> None:
    """Clear a unique-key quarantine the city's way: the local row holding the key is deleted (the
    deletion goes to the city with the next sync) and the city's record is written.

    \b
    Example:
      stvs-tui sync take-city monthly_report:0190f3c2-7a1b-7c3d-9e4f-123456789abc
    """
    use_language(app.lang)
    table, _, row_id = key.partition(":")
    if not row_id:
        raise click.BadParameter("TABLE:ID, e.g. monthly_report:0190…", param_hint="TABLE:ID")
    store = app.open_initialised_store()
    try:
        removed = take_city(store, table, row_id)
    except KeyError:
        raise click.ClickException(t("doctor.not_held", key=key)) from None
    finally:
        store.close()
    click.echo(t("doctor.took_city", ids=", ".join(removed) or "-"))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--database-url", envvar="STVS_SERVER_DATABASE_URL",
              help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/stvs (default: SQLite in the data dir).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="uvicorn worker processes (use several with PostgreSQL).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, resolve_path=True),
              help="Serve HTTPS with this certificate (PEM, the chain included); needs --tls-key.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, resolve_path=True),
              help="The certificate's private key (PEM).")
@click.pass_obj
def serve_command(app: AppContext, host: str, port: int, database_url: str | None, workers: int,
                  tls_cert: str | None, tls_key: str | None) -> None:
    """Run the city sync server (FastAPI on uvicorn); OpenAPI document at /docs, health at /healthz.

    With --tls-cert and --tls-key it serves HTTPS (uvicorn's own TLS). Without them, counties on other
    machines must pass `sync --insecure-http` to send their tokens in clear: use TLS across any network.

    \b
    Examples:
      stvs-tui serve --host 0.0.0.0 --port 8765 --tls-cert kx.anyang.pem --tls-key kx.anyang.key
      stvs-tui serve --host 0.0.0.0 --database-url postgresql+psycopg://stvs@db/stvs --workers 4 \\
          --tls-cert kx.anyang.pem --tls-key kx.anyang.key
    """
    import uvicorn

    from sync.server import DATABASE_URL_ENV

    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert 与 --tls-key 须同时给出 (give both --tls-cert and --tls-key)")
    url = app.server_db_url(database_url)
    app.open_server_db(url).close()  # migrate once, before the workers start
    os.environ[DATABASE_URL_ENV] = url
    scheme = "https" if tls_cert else "http"
    click.echo(f"stvs-tui server on {scheme}://{host}:{port} ({url.split('@')[-1]})", err=True)
    uvicorn.run("sync.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", timeout_graceful_shutdown=10, ssl_certfile=tls_cert, ssl_keyfile=tls_key)


@click.group("token")
def token_group() -> None:
    """Tokens of the city server (one per county device; admin tokens for the city).

    \b
    Example:
      stvs-tui token add --county 410522
    """


@token_group.command("add")
@click.option("--county", required=True, help="Six-digit code of the county the device belongs to (410500: city).")
@click.option("--admin", is_flag=True, help="A city admin token: reads and writes every county.")
@click.option("--label", default="", help="A note to recognise the token by, e.g. 安阳县-王芳的笔记本.")
@click.option("--database-url", envvar="STVS_SERVER_DATABASE_URL",
              help="The server's database (default: SQLite in the data dir).")
@click.pass_obj
def token_add(app: AppContext, county: str, admin: bool, label: str, database_url: str | None) -> None:
    """Issue a token and print it once; the server keeps only its hash.

    Also printed (on stderr): the city's public key, which a county that never syncs online gives to
    `stvs-tui bundle trust-city` so that it accepts the city's return bundles.

    \b
    Example:
      stvs-tui token add --county 410522 --label 安阳县科协
    """
    from sync.auth import issue_token
    from sync.keys import fingerprint

    try:
        code = normalize_region_code(county)
    except InvalidValue as exc:
        raise click.BadParameter(str(exc), param_hint="--county") from None
    db = app.open_server_db(database_url)
    try:
        names = _server_regions(db)
        if code not in names:
            raise click.BadParameter(unknown_county(code, names), param_hint="--county")
        click.echo(issue_token(db.engine, code, admin=admin, label=label))
        city_key = db.city_key.public_key
    finally:
        db.close()
    click.echo("请妥善保存，此令牌只显示一次 (keep it safe: it is shown only this once)", err=True)
    if not admin:
        click.echo(f"市里的公钥 city key (fingerprint {fingerprint(city_key)}); 只用同步包的县运行 (a county that "
                   f"syncs by bundle only runs):\n  stvs-tui bundle trust-city {city_key}", err=True)


@token_group.command("list")
@click.option("--county", help="Only this county (six-digit code).")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
@click.option("--database-url", envvar="STVS_SERVER_DATABASE_URL",
              help="The server's database (default: SQLite in the data dir).")
@click.pass_obj
def token_list(app: AppContext, county: str | None, as_json: bool, database_url: str | None) -> None:
    """List tokens (never the tokens themselves): id, county, admin or not, label, issued, revoked.

    \b
    Example:
      stvs-tui token list --county 410522
    """
    from sync.auth import list_tokens

    db = app.open_server_db(database_url)
    try:
        tokens = list_tokens(db.engine, county)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(tokens, ensure_ascii=False, indent=2))
        return
    for row in tokens:
        state = f"revoked {row['revoked_at'][:10]}" if row["revoked_at"] else "active"
        click.echo(f"{row['id']}  {row['county_code']}  {'admin' if row['is_admin'] else 'device'}  "
                   f"{row['created_at'][:16]}  {state}  {row['label']}")


@token_group.command("revoke")
@click.argument("token_id")
@click.option("--reason", default="token revoked", show_default=True, help="Why (kept with the device keys).")
@click.option("--database-url", envvar="STVS_SERVER_DATABASE_URL",
              help="The server's database (default: SQLite in the data dir).")
@click.pass_obj
def token_revoke(app: AppContext, token_id: str, reason: str, database_url: str | None) -> None:
    """Revoke a token (its id from `token list`): it is refused from now on, and the keys of the devices
    that synced with it are revoked too (their bundles are refused).

    \b
    Example:
      stvs-tui token revoke 0190a1b2-... --reason 笔记本丢失
    """
    from sync.keys import revoke_token

    db = app.open_server_db(database_url)
    try:
        nodes = revoke_token(db, token_id, reason)
    except SyncError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    finally:
        db.close()
    click.echo(f"已注销令牌 revoked token {token_id}" + (f"; 设备 devices {', '.join(nodes)}" if nodes else ""))


def _server_regions(db: ServerDB) -> dict[str, str]:
    """The server's region list (code → name); the shipped one while the city has not loaded its own."""
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(Region.code, Region.name).order_by(Region.code)).all()
    return {code: name for code, name in rows} or {r.code: r.name for r in read_regions()}
