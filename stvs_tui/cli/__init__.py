"""The ``stvs-tui`` command line. Exit codes: 0 done, 1 failed (one-line reason on stderr), 2 usage error.

The group and its store commands (``init``, ``demo``, ``where``) are here; the other families live in their
own modules (``stvs_tui.cli.sync``, ``.city``, ``.excel``, ``.keys``), imported only when one of their commands
runs or shows its help. Importing this module imports no SQLAlchemy, Textual, openpyxl or HTTP client
(tests/test_cli_startup.py): ``stvs-tui --help`` starts in about the time Python takes to import click.
"""

from __future__ import annotations

import importlib
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schema.errors import StoreError
from stvs_tui import __version__
from stvs_tui.cli.failures import StvsGroup
from stvs_tui.context import AppContext
from stvs_tui.paths import AppPaths

if TYPE_CHECKING:
    from schema.store import Store

DEMO_COUNTY = "410522"

# The commands of the other modules: name -> ("module:attribute", the first sentence of its help). The group's
# --help lists them from here without importing them; tests/test_cli_startup.py checks both against the command.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("stvs_tui.cli.excel:import_group", "Import records from a workbook."),
    "export": ("stvs_tui.cli.excel:export_command", "Write an official form or a list as .xlsx."),
    "sync": ("stvs_tui.cli.sync:sync_command",
             "Push this county's changes to the city server, then pull what changed for it."),
    "serve": ("stvs_tui.cli.sync:serve_command",
              "Run the city sync server (FastAPI on uvicorn); OpenAPI document at /docs, health at /healthz."),
    "token": ("stvs_tui.cli.sync:token_group",
              "Tokens of the city server (one per county device; admin tokens for the city)."),
    "conflicts": ("stvs_tui.cli.city:conflicts_group",
                  "The city's conflict queue (field conflicts, duplicate persons, activities of dissolved teams)."),
    "bundle": ("stvs_tui.cli.city:bundle_group",
               "Offline sync by file: a county exports a bundle, the city imports it and writes a return bundle."),
    "city": ("stvs_tui.cli.city:city_command",
             "Open the city admin TUI: uploads, the conflict queue, city reports, period locks."),
    "node": ("stvs_tui.cli.keys:node_group",
             "County devices known to the city server, and the keys their bundles are checked with."),
}


def load_command(name: str) -> click.Command:
    module, _, attribute = LAZY_COMMANDS[name][0].partition(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command), LAZY_COMMANDS[name]
    return command


class LazyGroup(StvsGroup):
    """The top-level group (a storage failure is one line, see ``StvsGroup``) whose ``LAZY_COMMANDS`` are imported
    when first asked for by name (to run, or for their help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but a command not imported yet is listed from the first sentence in ``LAZY_COMMANDS``."""
        commands: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                commands.append((name, click.Command(name, help=LAZY_COMMANDS[name][1])))
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])


def initialise(store: Store, county: str, clerk: str) -> str:
    """Set the store's county (and clerk); return the county's name. Refuses to switch county."""
    from stvs_tui.cli.params import unknown_county
    from stvs_tui.regions import region_names

    names = region_names(store)
    if county not in names:
        raise click.BadParameter(unknown_county(county, names), param_hint="--county")
    current = store.county_code
    if current and current != county:
        raise click.ClickException(
            f"本地数据库已属于 {current} {names.get(current, '')}，不能改为 {county} "
            f"(this store already belongs to county {current}; use another --data-dir)")
    store.set_settings(county_code=county, **({"clerk": clerk} if clerk else {}))
    store.identity  # noqa: B018  (the store becomes a node: its id and key pair are made now)
    return names[county]


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STVS_DATA_DIR",
              help="Folder of the local store (default: the platform's user data dir; env STVS_DATA_DIR).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, envvar="STVS_LANG",
              help="Language of the interface (default: the one saved in Settings, else zh; env STVS_LANG).")
@click.option("--demo", is_flag=True, help=f"Open with demo data (a new store is set up as {DEMO_COUNTY}).")
@click.option("--web", is_flag=True, help="Serve the county TUI to a browser (textual-serve) instead of this terminal.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --web: the address to listen on.")
@click.option("--port", default=8767, show_default=True, type=click.IntRange(1, 65535),
              help="With --web: the port to listen on.")
@click.version_option(__version__, prog_name="stvs-tui")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, lang: str | None, demo: bool, web: bool, host: str,
         port: int) -> None:
    """Science & technology volunteer service teams (科技志愿服务) for county and city associations.

    Run without a command to open the county TUI on the local store.

    \b
    Examples:
      stvs-tui                          open the TUI (first run asks for the county)
      stvs-tui --demo --lang en         open with demo data, in English
      stvs-tui --web                    the same TUI in a browser at http://127.0.0.1:8767
      stvs-tui init --county 410522 --clerk 王芳
      stvs-tui demo --volunteers 500 --seed 7
    """
    ctx.obj = AppContext(paths=AppPaths.resolve(data_dir), lang=lang or "zh")
    if ctx.invoked_subcommand is not None:
        return
    if demo:
        _open_with_demo_data(ctx.obj)
    if web:
        from stvs_tui.web import serve

        arguments = ["--data-dir", str(ctx.obj.paths.data_dir), *(["--lang", lang] if lang else [])]
        serve(arguments, host, port, "stvs-tui")
        return
    from stvs_tui.county.start import run_county_app

    try:
        run_county_app(ctx.obj.paths, lang)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--county", required=True, help="Six-digit region code of this county, e.g. 410522 (安阳县).")
@click.option("--clerk", default="", help="Name of the clerk who keeps this store.")
@click.pass_obj
def init(app: AppContext, county: str, clerk: str) -> None:
    """Create the local store for a county without opening the TUI.

    \b
    Example:
      stvs-tui init --county 410522 --clerk 王芳
    """
    store = app.open_store()
    try:
        name = initialise(store, county.strip(), clerk.strip())
        click.echo(f"已初始化 {county} {name}: {app.paths.store}")
    finally:
        store.close()


def _fill_demo(store: Store, volunteers: int, seed: int) -> dict[str, int]:
    """Load demo data; a store that has demo data or data of its own is refused with a one-line reason."""
    from stvs_tui.demo import DemoRefused, generate, store_demo
    from stvs_tui.regions import region_names

    county = store.county_code
    data = generate(county, region_names(store)[county], volunteers, seed, date.today())
    try:
        return store_demo(store, data)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None


def _open_with_demo_data(app: AppContext) -> None:
    """``--demo``: a new store is set up as the demo county and filled; a store that already has demo
    data, or data of its own, opens as it is."""
    from stvs_tui.demo import demo_refusal

    store = app.open_store()
    try:
        if not store.county_code:
            initialise(store, DEMO_COUNTY, "")
        with store.engine.connect() as connection:
            refusal = demo_refusal(connection)
        if refusal is None:
            _fill_demo(store, volunteers=300, seed=1)
    finally:
        store.close()


@main.command()
@click.option("--volunteers", default=300, show_default=True, type=click.IntRange(1, 1_000_000),
              help="How many volunteers to create.")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data.")
@click.pass_obj
def demo(app: AppContext, volunteers: int, seed: int) -> None:
    """Fill the store with realistic demo data for its county, and say how many rows of each kind were written
    (in Chinese, or English with --lang en).

    Teams of every tier (some short of the minimum size), volunteers with valid ID numbers and mobiles,
    and a year of activities with participation and hours. A store takes demo data once, and only while
    it holds no teams or volunteers (after `stvs-tui --demo` it already has some): a second `demo` is
    refused and changes nothing. Record ids carry the county code, so two counties' demo data both sync.

    \b
    Example:
      stvs-tui demo --volunteers 500 --seed 7
    """
    store = app.open_initialised_store()
    try:
        counts = _fill_demo(store, volunteers, seed)
    finally:
        store.close()
    click.echo(demo_summary(counts, app.lang))


def demo_summary(counts: dict[str, int], lang: str) -> str:
    """What ``demo`` wrote, in the clerk's language: ``已写入演示数据：队伍 7，志愿者 60，…``."""
    from schema.models import table_label

    if lang == "en":
        return "Demo data written: " + ", ".join(f"{table_label(table, 'en')} {n}" for table, n in counts.items())
    return "已写入演示数据：" + "，".join(f"{table_label(table, 'zh')} {n}" for table, n in counts.items())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the paths as JSON.")
@click.pass_obj
def where(app: AppContext, as_json: bool) -> None:
    """Print where the data, settings, backups and logs are, and where the sync token is kept (the OS keyring
    where there is one, else the store).

    \b
    Example:
      stvs-tui where --json
    """
    from stvs_tui.logs import start_log
    from sync.credentials import token_place

    start_log(app.paths.logs)  # the folder listed exists (the TUI writes its log there)
    paths = {
        "data": str(app.paths.data_dir),
        "store": str(app.paths.store),
        "config": f"{app.paths.store} (table setting)",
        "backups": str(app.paths.backups),
        "logs": str(app.paths.logs),
        "token": token_place(app.paths.store),
    }
    if as_json:
        click.echo(json.dumps(paths, ensure_ascii=False, indent=2))
    else:
        for key, value in paths.items():
            click.echo(f"{key:8} {value}")

