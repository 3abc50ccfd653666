"""The city admin's commands: ``conflicts list|resolve``, ``bundle export|import`` and ``city`` (the TUI).

Exit codes as everywhere: 0 done, 1 failed with a one-line reason on stderr, 2 usage error.
The conflict commands and the TUI talk to the city server with an admin token (``--server``/``--token``,
or STVS_SERVER_URL / STVS_ADMIN_TOKEN, remembered in the local store once the server has accepted them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from schema.errors import StoreError
from sync.admin_protocol import DECISIONS, QUEUE_KINDS
from sync.errors import SyncError

if TYPE_CHECKING:
    from stvs_tui.city.api import CityAdminClient
    from stvs_tui.context import AppContext

server_option = click.option("--server", "server_url", envvar="STVS_SERVER_URL",
                             help="City server URL, e.g. https://kx.anyang.example:8765 (saved once the server accepts the token).")
token_option = click.option("--token", envvar="STVS_ADMIN_TOKEN",
                            help="An admin token from `stvs-tui token add --county 410500 --admin` (saved once accepted).")


def transport_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--ca-file`` and ``--insecure-http``, as for ``stvs-tui sync`` (sync.transport): saved like the server."""
    command = click.option("--insecure-http", is_flag=True,
                           help="Allow a plain http:// server on another machine (the admin token goes unencrypted).")(command)
    return click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, resolve_path=True),
                        help="Trust the city's own CA (PEM) for the server's certificate (saved).")(command)


@dataclass(frozen=True)
class AdminConnection:
    url: str
    token: str
    ca_file: str
    insecure_http: bool

    def client(self) -> CityAdminClient:
        from stvs_tui.city.api import CityAdminClient

        return CityAdminClient(self.url, self.token, ca_file=self.ca_file, insecure_http=self.insecure_http)

    def accepted_client(self) -> CityAdminClient:
        """A client once the server has accepted the token (else the server's refusal is raised)."""
        from stvs_tui.city.app import checked_client

        return checked_client(self.url, self.token, ca_file=self.ca_file, insecure_http=self.insecure_http)


def _one_line(exc: Exception) -> click.ClickException:
    return click.ClickException(" ".join(str(exc).split()))


def admin_connection(app: AppContext, server_url: str | None, token: str | None, ca_file: str | None = None,
                     insecure_http: bool = False) -> AdminConnection:
    """The server, admin token, CA file and plain-http consent: given, or saved by an earlier use (in the local
    store's settings)."""
    store = app.open_store()
    try:
        url = (server_url or store.setting("city_server_url")).strip().rstrip("/")
        secret = (token or store.setting("city_token")).strip()
        if not url or not secret:
            raise click.UsageError("需要 --server 和 --token (no city server or admin token saved yet)")
        connection = AdminConnection(url, secret, ca_file or store.setting("city_ca_file"),
                                     insecure_http or store.setting("city_insecure_http_url") == url)
    finally:
        store.close()
    return connection


def remember_connection(app: AppContext, connection: AdminConnection) -> None:
    """Save the server, token, CA file and plain-http consent: called only once the server has accepted the
    token, so a refused or mistyped one never comes back on the next launch."""
    store = app.open_store()
    try:
        store.set_settings(city_server_url=connection.url, city_token=connection.token)
        if connection.ca_file:
            store.set_settings(city_ca_file=connection.ca_file)
        if connection.insecure_http:
            store.set_settings(city_insecure_http_url=connection.url)
    finally:
        store.close()


@contextmanager
def _client(app: AppContext, server_url: str | None, token: str | None, ca_file: str | None,
            insecure_http: bool) -> Iterator[CityAdminClient]:
    """A client whose connection is saved when the server answered as to an admin (a refused decision is
    still an answer); a refused token, a missing admin right or an unreachable server saves nothing."""
    from stvs_tui.city.api import DecisionRefused

    connection = admin_connection(app, server_url, token, ca_file, insecure_http)
    with connection.client() as client:
        try:
            yield client
        except DecisionRefused:
            remember_connection(app, connection)
            raise
    remember_connection(app, connection)


# ---- conflicts --------------------------------------------------------------------------------------------


@click.group("conflicts")
def conflicts_group() -> None:
    """The city's conflict queue (field conflicts, duplicate persons, activities of dissolved teams).

    \b
    Example:
      stvs-tui conflicts list --county 410522 --json
    """


def _item_line(item: Any) -> str:
    """id, county by name, table by its label, the subject by name (ID masked), kind, per field both sides (and
    who sent each: device and token label)."""
    from stvs_tui.city.audit import shown_value
    from stvs_tui.city.names import county_of, field_of, sender_of, subject_of, table_of

    fields = ", ".join(f"{field_of(item.table, name)}: {shown_value(name, sides.get('server'))} | "
                       f"{shown_value(name, sides.get('incoming'))}" for name, sides in item.fields.items())
    senders = " | ".join(sender_of(s) or "-" for s in (item.server_sender, item.incoming_sender))
    return (f"{item.id}  {county_of(item)}  {table_of(item.table)}  {subject_of(item)}  {item.kind}  {fields}"
            f"  [{senders}]")


def _queue_filters(county: str | None, table: str | None, kind: str | None, status: str, search: str | None,
                   since: Any, until: Any, decision: str | None = None) -> dict[str, Any]:
    return {"county": county, "table": table, "kind": kind, "status": status,
            "search": search, "resolved_from": since.date() if since else None,
            "resolved_to": until.date() if until else None, "decision": decision}


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Search, the decision's days and the side it took, shared by ``conflicts list`` and ``conflicts export``."""
    for option in reversed((
            click.option("--search", help="A person's name (or part), full ID number or mobile; a team's or "
                                          "activity's name; words of the reason or the deciding admin."),
            click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]),
                         help="Resolved items decided on or after this day (YYYY-MM-DD)."),
            click.option("--until", type=click.DateTime(["%Y-%m-%d"]),
                         help="Resolved items decided on or before this day (YYYY-MM-DD)."),
            click.option("--decision", type=click.Choice(DECISIONS),
                         help="Resolved items by the side taken: city (the server's value on every field), "
                              "county (this upload's), value (a typed value on a field), mixed; merge_first, "
                              "merge_later or keep_both for a duplicate person."))):
        command = option(command)
    return command


@conflicts_group.command("list")
@click.option("--county", help="Only this county (six-digit code).")
@click.option("--table", help="Only this table, e.g. volunteer.")
@click.option("--kind", type=click.Choice(QUEUE_KINDS), help="Only this kind of item.")
@click.option("--status", type=click.Choice(["open", "resolved", "all"]), default="open", show_default=True,
              help="Open items, or resolved ones (the audit trail: who decided what and why).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the items as JSON (with the ids).")
@server_option
@token_option
@transport_options
@click.pass_obj
def conflicts_list(app: AppContext, county: str | None, table: str | None, kind: str | None, status: str,
                   limit: int, search: str | None, since: Any, until: Any, decision: str | None, as_json: bool,
                   server_url: str | None, token: str | None, ca_file: str | None, insecure_http: bool) -> None:
    """List the conflict queue; relational items (duplicate persons, dissolved teams) are looked for first.

    Each line: id, county (by name), table (by its label), the person (ID masked), team or activity by name,
    kind, then per field the server's value (uploaded first) | this upload's, and in brackets the device and
    token label that sent each. Resolved items follow with who decided, when and why.

    \b
    Examples:
      stvs-tui conflicts list --status resolved --json
      stvs-tui conflicts list --status all --search 410522198001010015
      stvs-tui conflicts list --status resolved --decision value

    --decision (the side a resolved item took) lists resolved items only: --status may be left out.
    """
    if decision:
        from click.core import ParameterSource

        if status == "open" and click.get_current_context().get_parameter_source("status") != ParameterSource.DEFAULT:
            raise click.UsageError("--decision 只用于已处理事项，不能与 --status open 同用 "
                                   "(--decision is for resolved items, not with --status open)")
        status = "resolved"
    try:
        with _client(app, server_url, token, ca_file, insecure_http) as client:
            client.detect()
            page = client.queue(**_queue_filters(county, table, kind, status, search, since, until, decision),
                                limit=limit)
    except SyncError as exc:
        raise _one_line(exc) from None
    if as_json:
        click.echo(json.dumps({"total": page.total, "items": [i.model_dump(mode="json") for i in page.items]},
                              ensure_ascii=False, indent=2))
        return
    from stvs_tui.city.audit import decided_at, decided_by, decision_words
    from stvs_tui.i18n import use_language

    use_language(app.lang)  # labels (志愿者, 手机号码) in the language asked for (--lang)
    for item in page.items:
        line = _item_line(item)
        if item.status == "resolved":
            line += f"  → {decided_by(item)} {decided_at(item)}: {decision_words(item)}; {item.reason}"
        click.echo(line)
    click.echo(f"共 {page.total} 项 ({page.total} items)", err=True)


@conflicts_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The workbook to write (.xlsx), e.g. 冲突记录.xlsx.")
@click.option("--county", help="Only this county (six-digit code).")
@click.option("--table", help="Only this table, e.g. volunteer.")
@click.option("--kind", type=click.Choice(QUEUE_KINDS), help="Only this kind of item.")
@filter_options
@server_option
@token_option
@transport_options
@click.pass_obj
def conflicts_export(app: AppContext, out: Path, county: str | None, table: str | None, kind: str | None,
                     search: str | None, since: Any, until: Any, decision: str | None, server_url: str | None,
                     token: str | None, ca_file: str | None, insecure_http: bool) -> None:
    """Write the conflict log: a workbook with the sheets 待处理 (the open queue) and 已处理 (who decided, when,
    which values and why), printed on A4; people by name with ID numbers masked, never UUIDs.

    --from/--until limit the resolved items to the days of their decision, --decision to the side they took
    (the open sheet is then empty: an open item has taken no side).

    \b
    Examples:
      stvs-tui conflicts export --out 冲突记录.xlsx --from 2026-01-01
      stvs-tui conflicts export --out 输入值.xlsx --decision value
    """
    from datetime import date

    from schema.paths import output_problem
    from stvs_tui.city.conflict_log import export_conflict_log

    if out.suffix.lower() != ".xlsx":
        out = out.with_name(f"{out.name}.xlsx")
    problem = output_problem(out)
    if problem:
        raise click.ClickException(f"无法写入 (cannot write) {problem}")
    base = {"county": county, "table": table, "kind": kind, "search": search}
    try:
        with _client(app, server_url, token, ca_file, insecure_http) as client:
            client.detect()
            open_items = [] if decision else client.all_items(**base, status="open")
            resolved = client.all_items(**_queue_filters(county, table, kind, "resolved", search, since, until,
                                                         decision))
    except SyncError as exc:
        raise _one_line(exc) from None
    export_conflict_log(open_items, resolved, out, date.today())
    click.echo(f"已导出冲突记录 {out}：待处理 {len(open_items)} 项，已处理 {len(resolved)} 项 "
               f"(conflict log written: {len(open_items)} open, {len(resolved)} resolved)")


def _field_decisions(fields: tuple[str, ...], values: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    decisions: dict[str, dict[str, Any]] = {}
    for text in fields:
        name, _, side = text.partition("=")
        if side not in ("county", "city"):
            raise click.BadParameter(f"{text!r}: 应为 FIELD=county 或 FIELD=city", param_hint="--field")
        decisions[name] = {"take": side}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep:
            raise click.BadParameter(f"{text!r}: 应为 FIELD=VALUE", param_hint="--set")
        decisions[name] = {"take": "value", "value": value}
    return decisions


@conflicts_group.command("resolve")
@click.argument("conflict_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--take", type=click.Choice(["county", "city"]),
              help="Every field: the county's (losing) value or the city's (current) one. For a duplicate "
                   "person: merge into the county's (later) or the city's (first registered) record.")
@click.option("--field", "fields", multiple=True, metavar="FIELD=county|city", help="One field's side (repeatable).")
@click.option("--set", "values", multiple=True, metavar="FIELD=VALUE", help="Type a field's value (repeatable).")
@click.option("--keep-both", is_flag=True, help="A duplicate person: keep both records, each with a note.")
@click.option("--reason", required=True, help="Why (required: it is kept in the audit trail and shown to the county).")
@server_option
@token_option
@transport_options
@click.pass_obj
def conflicts_resolve(app: AppContext, conflict_ids: tuple[str, ...], take: str | None, fields: tuple[str, ...],
                      values: tuple[str, ...], keep_both: bool, reason: str, server_url: str | None,
                      token: str | None, ca_file: str | None, insecure_http: bool) -> None:
    """Resolve one item, or several at once with --take (bulk). The resolution is a new version of the
    record that reaches the county on its next sync.

    \b
    Examples:
      stvs-tui conflicts resolve 0190a1b2-... --take county --reason "县里核实后的号码"
      stvs-tui conflicts resolve 0190a1b2-... --field mobile=county --set work_unit=安阳县人民医院 --reason 核实
      stvs-tui conflicts resolve ID1 ID2 ID3 --take city --reason "以市里数据为准"
    """
    decisions = _field_decisions(fields, values)
    if not take and not decisions and not keep_both:
        raise click.UsageError("请给出 --take、--field、--set 或 --keep-both (say what to keep)")
    if len(conflict_ids) > 1 and (decisions or keep_both or not take):
        raise click.UsageError("多项批量处理只能用 --take (bulk resolution takes --take only)")
    try:
        with _client(app, server_url, token, ca_file, insecure_http) as client:
            if len(conflict_ids) > 1:
                _bulk(client, list(conflict_ids), take or "city", reason)
                return
            _resolve_one(client, conflict_ids[0], take, decisions, keep_both, reason)
    except SyncError as exc:
        raise _one_line(exc) from None


def _bulk(client: CityAdminClient, ids: list[str], take: str, reason: str) -> None:
    outcome = client.bulk(ids, take, reason)
    for conflict_id, result in outcome.items():
        click.echo(f"{conflict_id}  {result}")
    failed = [i for i, r in outcome.items() if r != "resolved"]
    if failed:
        raise click.ClickException(f"{len(failed)} 项未处理 ({len(failed)} of {len(ids)} not resolved)")


def _resolve_one(client: CityAdminClient, conflict_id: str, take: str | None, decisions: dict[str, dict[str, Any]],
                 keep_both: bool, reason: str) -> None:
    item = client.item(conflict_id)
    if item.kind == "duplicate_person":
        if keep_both:
            done = client.duplicate(conflict_id, "keep_both", reason)
        else:
            done = client.duplicate(conflict_id, "merge", reason, survivor=take or "city", decisions=decisions)
    else:
        every = {name: {"take": take} for name in item.fields} if take else {}
        done = client.decide(conflict_id, every | decisions, reason)
    click.echo(f"{done.id}  {done.status}  {json.dumps(done.resolution, ensure_ascii=False)}")


# ---- bundles ----------------------------------------------------------------------------------------------


@click.group("bundle")
def bundle_group() -> None:
    """Offline sync by file: a county exports a bundle, the city imports it and writes a return bundle.

    \b
    Example:
      stvs-tui bundle export /media/usb/anyang-county.stvsb
    """


@bundle_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def bundle_export(app: AppContext, file: Path) -> None:
    """Write this county's pending changes and its device identity to FILE, signed with this device's key.

    The city accepts it once this device is registered: by an online sync, or by the enrolment file
    (`bundle enrol`) the city imports.

    The changes stay pending until the city's return bundle (or an online sync) brings the answers.

    \b
    Example:
      stvs-tui bundle export /media/usb/anyang-county.stvsb
    """
    from sync.bundle import export_push_bundle

    store = app.open_initialised_store()
    try:
        count = export_push_bundle(store, file)
    except (SyncError, StoreError, OSError) as exc:
        raise _one_line(exc) from None
    finally:
        store.close()
    click.echo(f"已导出 {count} 条修改到 {file} (exported {count} changes)")


@bundle_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--return-file", type=click.Path(dir_okay=False, path_type=Path),
              help="City: where to write the return bundle (default: FILE with .return before the suffix).")
@click.option("--database-url", envvar="STVS_SERVER_DATABASE_URL",
              help="City: the server's database (default: SQLite in the data dir).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def bundle_import(app: AppContext, file: Path, return_file: Path | None, database_url: str | None,
                  as_json: bool) -> None:
    """Import a bundle: at the city a county's upload (then a return bundle, signed by the city, is written,
    and the cross-county duplicate persons it revealed are opened in the queue and named: the person, the ID
    number masked, both counties), on a county's device the city's return bundle.

    Refused, changing nothing, when the file is truncated or its signature fails; at the city when its device
    is not registered (see `node enrol`) or revoked, or it carries another county's record; on a county's
    device when it is not signed by this store's city or carries another county's record.

    \b
    Examples:
      stvs-tui bundle import /media/usb/anyang-county.stvsb          (city)
      stvs-tui bundle import /media/usb/anyang-county.return.stvsb   (county)
    """
    from sync.bundle import PUSH, read_bundle

    try:
        bundle = read_bundle(file)
        summary, persons = _import_at_city(app, bundle, file, return_file, database_url) if bundle.kind == PUSH \
            else (_import_at_county(app, bundle), None)
    except (SyncError, StoreError, OSError) as exc:
        raise _one_line(exc) from None
    if as_json:
        click.echo(json.dumps(summary.to_dict() | ({"duplicate_persons": persons} if persons is not None else {}),
                              ensure_ascii=False, indent=2, default=str))  # a registration date: ISO text
    else:
        click.echo(f"上传 pushed {summary.pushed}: applied {summary.applied}, merged {summary.merged}, "
                   f"conflicts {summary.conflicts}, duplicates {summary.duplicates}, rejected {summary.rejected}; "
                   f"下载 pulled {summary.pulled}")
        if persons:
            click.echo(f"新发现跨县重复人员 {len(persons)} 人 (new cross-county duplicate persons: {len(persons)}):")
        for person in persons or []:
            click.echo(f"  {person['name']} {person['id_number']}  {person['first_county']} / "
                       f"{person['later_county']}")


def _import_at_city(app: AppContext, bundle: Any, file: Path, return_file: Path | None,
                    database_url: str | None) -> tuple[Any, list[dict[str, str]]]:
    """Import a county's upload at the city; the summary, and the cross-county duplicate persons it revealed
    (each named: the person, the ID number masked, the two counties)."""
    from schema.paths import output_problem
    from sync.bundle import BundleError, import_push_bundle, write_bundle
    from sync.city_audit import describe_duplicates, open_duplicate_ids
    from sync.city_queue import detect_relational

    target = return_file or file.with_name(f"{file.stem}.return{file.suffix or '.stvsb'}")
    problem = output_problem(target)  # checked first: an import whose answers cannot be written is not begun
    if problem:
        raise BundleError(f"无法写回传包 (cannot write the return bundle) {problem}")
    db = app.open_server_db(database_url)
    try:
        known = open_duplicate_ids(db)
        result = import_push_bundle(db, bundle)
        write_bundle(result.return_bundle, target, db.city_key)
        # The same ID number registered by another county: opened in the queue now, and named in the summary.
        detect_relational(db)
        persons = describe_duplicates(db, open_duplicate_ids(db) - known)
    finally:
        db.close()
    click.echo(f"回传包 return bundle: {target}", err=True)
    return result.summary, persons


def _import_at_county(app: AppContext, bundle: Any) -> Any:
    from sync.bundle import apply_return_bundle

    store = app.open_initialised_store()
    try:
        return apply_return_bundle(store, bundle)
    finally:
        store.close()


@bundle_group.command("enrol")
@click.option("-o", "--output", "file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the enrolment file.")
@click.option("--label", default="", help="A note for the city, e.g. 安阳县科协-王芳的笔记本.")
@click.pass_obj
def bundle_enrol(app: AppContext, file: Path, label: str) -> None:
    """Write this device's enrolment file for a city it never syncs with online: its node id, county and
    public key, signed by its key. The city imports it with `stvs-tui node enrol FILE`; compare the
    fingerprint printed here with the one the city sees (by phone) before trusting it.

    \b
    Example:
      stvs-tui bundle enrol -o /media/usb/anyang-county.enrol.json --label 安阳县科协
    """
    from sync.keys import fingerprint, write_enrolment

    store = app.open_initialised_store()
    try:
        enrolment = write_enrolment(store, file, label)
    except (SyncError, StoreError, OSError) as exc:
        raise _one_line(exc) from None
    finally:
        store.close()
    click.echo(f"设备 node {enrolment.node_id} ({enrolment.county_code}), 指纹 fingerprint {fingerprint(enrolment.public_key)}")
    click.echo(f"已写入 written: {file}", err=True)


@bundle_group.command("trust-city")
@click.argument("source", metavar="FILE|KEY")
@click.pass_obj
def bundle_trust_city(app: AppContext, source: str) -> None:
    """Trust the city's key for return bundles: a city-key file (`stvs-tui node city-key -o FILE`) or the key
    `stvs-tui token add` printed (ed25519:...). Needed only by a county that never syncs online: an online
    sync learns the key itself.

    \b
    Example:
      stvs-tui bundle trust-city /media/usb/city-key.json
    """
    from sync.keys import fingerprint, read_city_key, trust_city

    try:
        server_id, key = read_city_key(source)
    except SyncError as exc:
        raise _one_line(exc) from None
    store = app.open_initialised_store()
    try:
        trust_city(store, server_id, key)
    finally:
        store.close()
    click.echo(f"已信任市里的密钥 trusted the city's key, 指纹 fingerprint {fingerprint(key)}")


# ---- the city TUI -----------------------------------------------------------------------------------------


@click.command("city")
@server_option
@token_option
@transport_options
@click.option("--web", is_flag=True, help="Serve the city TUI to a browser (textual-serve); it asks for the token.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --web: the address to listen on.")
@click.option("--port", default=8766, show_default=True, type=click.IntRange(1, 65535),
              help="With --web: the port to listen on.")
@click.option("--ask-token", is_flag=True, hidden=True,
              help="Open on the sign-in screen and save nothing (each browser session of --web).")
@click.pass_obj
def city_command(app: AppContext, server_url: str | None, token: str | None, ca_file: str | None,
                 insecure_http: bool, web: bool, host: str, port: int, ask_token: bool) -> None:
    """Open the city admin TUI: uploads, the conflict queue, city reports, period locks.

    The server's certificate is verified (--ca-file for the city's own CA); the admin token is never sent over
    plain http:// to another machine unless --insecure-http is given.

    With --web the same app is served to a browser (http://127.0.0.1:8766 by default, loopback only unless
    --host says otherwise); each browser session asks for the admin token on its first screen and never saves
    it or puts it in a URL.

    \b
    Examples:
      stvs-tui city --server https://kx.anyang.example:8765 --token 6fQ...x2
      stvs-tui city --web --server https://kx.anyang.example:8765
    """
    from stvs_tui.city.app import run_city_app
    from sync.errors import ServerUnreachable

    if web or ask_token:
        _city_without_token(app, server_url, ca_file, insecure_http, web, host, port)
        return

    try:
        connection = admin_connection(app, server_url, token, ca_file, insecure_http)
        client = connection.client()
    except SyncError as exc:
        raise _one_line(exc) from None
    try:
        client.uploads(limit=1)  # the token is saved only once the server accepts it
        remember_connection(app, connection)
    except ServerUnreachable:
        pass  # nothing saved; the TUI opens and says the server cannot be reached
    except SyncError as exc:
        client.close()
        raise _one_line(exc) from None

    def connect(url: str, secret: str) -> CityAdminClient:
        """The palette's "change server/token": same CA and plain-http consent, saved once accepted."""
        url = url.rstrip("/")  # consent to plain http was given for one address only
        other = AdminConnection(url, secret, connection.ca_file, connection.insecure_http and url == connection.url)
        new = other.accepted_client()
        remember_connection(app, other)
        return new

    run_city_app(client, app.lang, connect)


def _city_without_token(app: AppContext, server_url: str | None, ca_file: str | None, insecure_http: bool,
                        web: bool, host: str, port: int) -> None:
    """``--web`` serves the app; each browser session runs it with ``--ask-token``: the sign-in screen for the
    server given (or the one saved), a token typed there, checked by the server and never saved."""
    from stvs_tui.city.app import run_city_app

    url = (server_url or "").strip().rstrip("/")
    ca_file = ca_file or None
    if not url or not ca_file:
        store = app.open_store()
        try:
            url = url or store.setting("city_server_url").strip().rstrip("/")
            ca_file = ca_file or store.setting("city_ca_file") or None
            insecure_http = insecure_http or bool(url) and store.setting("city_insecure_http_url") == url
        finally:
            store.close()
    if web:
        from stvs_tui.web import serve

        arguments = ["--data-dir", str(app.paths.data_dir), "--lang", app.lang, "city", "--ask-token",
                     *(["--server", url] if url else []), *(["--ca-file", ca_file] if ca_file else []),
                     *(["--insecure-http"] if insecure_http else [])]
        serve(arguments, host, port, "stvs-tui city")
        return

    def connect(given_url: str, secret: str) -> CityAdminClient:
        given_url = given_url.rstrip("/")
        return AdminConnection(given_url, secret, ca_file, insecure_http and given_url == url).accepted_client()

    run_city_app(None, app.lang, connect, server_url=url)
