"""The ``stvs-tui`` command line. Exit codes: 0 done, 1 failed (one-line reason on stderr), 2 usage error."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from schema.errors import StoreError
from schema.store import Store
from stvs_tui import __version__
from stvs_tui.cli.failures import StvsGroup
from stvs_tui.cli.params import unknown_county
from stvs_tui.context import AppContext
from stvs_tui.paths import AppPaths
from stvs_tui.regions import region_names

DEMO_COUNTY = "410522"


def initialise(store: Store, county: str, clerk: str) -> str:
    """Set the store's county (and clerk); return the county's name. Refuses to switch county."""
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


@click.group(cls=StvsGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
    from stvs_tui.county.app import run_county_app

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
    """Fill the store with realistic demo data for its county.

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
    click.echo(" ".join(f"{table}={count}" for table, count in counts.items()))


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
    from sync.credentials import token_place

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


from stvs_tui.cli.excel import register as register_excel_commands  # noqa: E402  (import / export commands)

register_excel_commands(main)

from stvs_tui.cli.sync import register as register_sync_commands  # noqa: E402  (sync, serve, token)

register_sync_commands(main)

from stvs_tui.cli.city import register as register_city_commands  # noqa: E402  (conflicts, bundle, city)

register_city_commands(main)

from stvs_tui.cli.keys import register as register_key_commands  # noqa: E402  (node enrol, list, revoke, city-key)

register_key_commands(main)
