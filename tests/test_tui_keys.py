"""Keys, the command palette, F1 help, language and markup safety of the county TUI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_tui_fixtures import county_app, make_store, screen_text, settle, wait_until
from textual.command import CommandInput, CommandList, CommandPalette
from textual.screen import Screen
from textual.widgets import DataTable

from schema.store import Store
from stvs_tui.actions import ACTIONS, ActionSpec
from stvs_tui.county.app import AREAS, CountyApp, LazyArea
from stvs_tui.county.screens.activities import ActivityScreen
from stvs_tui.county.screens.dashboard import DashboardScreen
from stvs_tui.county.screens.exports import ExportModal
from stvs_tui.county.screens.setup import SetupScreen
from stvs_tui.county.screens.volunteers import VolunteerScreen
from stvs_tui.i18n import CATALOGUE, t, use_language
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.form import FormModal
from stvs_tui.widgets.help import HelpModal
from stvs_tui.widgets.palette import ActionsProvider, palette_actions
from stvs_tui.widgets.picker import PickerModal

PACKAGE = Path(__file__).parent.parent / "stvs_tui"
COUNTY_SCREENS = ("base", "listing", "setup", "dashboard", "volunteers", "teams", "activities", "demands", "report",
                  "settings", "sync", "exports", "excel_import")


@pytest.fixture
def demo_store(tmp_path: Path) -> Store:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=60)
    yield store
    store.close()


def _screen_classes() -> dict[str, type]:
    """The class handling each registry scope."""
    classes: dict[str, type] = {"app": CountyApp, "setup": SetupScreen, "volunteer": VolunteerScreen,
                                "activity": ActivityScreen, "form": FormModal, "picker": PickerModal,
                                "export": ExportModal}
    for area in AREAS.values():
        area = area.screen_class() if isinstance(area, LazyArea) else area
        for scope in getattr(area, "SCOPES", ()):
            classes.setdefault(scope, area)
    return classes


def _method_for(spec: ActionSpec) -> str:
    return "action_" + re.sub(r"^app\.", "", spec.action).split("(")[0]


def test_every_action_id_is_unique_and_labelled_in_both_languages() -> None:
    ids = [spec.id for spec in ACTIONS]
    assert len(ids) == len(set(ids))
    for spec in ACTIONS:
        zh, en = CATALOGUE[spec.label]
        assert zh and en


def test_every_registered_county_action_has_a_handler() -> None:
    """Every county action has a handler; the city TUI's (scopes city*) are checked in test_city_tui.py."""
    from stvs_tui.county.app import _register_builtin_areas

    _register_builtin_areas()
    classes = _screen_classes()
    for spec in (spec for spec in ACTIONS if not spec.scope.startswith("city")):
        owner = CountyApp if spec.action.startswith("app.") else classes[spec.scope]
        assert hasattr(owner, _method_for(spec)), f"{spec.id}: {owner.__name__} has no {_method_for(spec)}"


def test_every_ui_string_key_used_in_the_code_is_in_the_catalogue() -> None:
    used: set[str] = set()
    # The county TUI's own modules (other areas register their words when they are imported).
    mine = [PACKAGE / "county" / "app.py", *(PACKAGE / "widgets").glob("*.py"),
            *(PACKAGE / "county" / "screens" / f"{name}.py" for name in COUNTY_SCREENS)]
    for path in mine:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\("([a-z_]+\.[a-z_]+)"', text))
        used |= set(re.findall(r'(?:HELP_KEY|TITLE_KEY|FILTER_PLACEHOLDER) = "([a-z_.]+)"', text))
    assert used, "the scan found no keys"
    assert sorted(used - CATALOGUE.keys()) == []


async def _palette_hits(app: CountyApp, screen: Screen[object]) -> list[str]:
    provider = ActionsProvider(screen)
    return [hit.text async for hit in provider.discover()]


async def test_every_palette_action_is_listed_with_its_key_and_runs(demo_store: Store) -> None:
    """On each main screen the palette lists every registry action for it, with its key, and each one runs.

    Actions available everywhere are run from the dashboard; each screen's own actions from that screen.
    """
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, rounds=1)
        async def go(area: str) -> None:
            app.action_go(area)
            await settle(pilot, rounds=1)
            if isinstance(app.screen, ConfirmModal):  # input typed by the actions just run: leave it
                app.screen.dismiss(True)
                await settle(pilot, rounds=1)

        for area in ("dashboard", "volunteers", "teams", "activities", "demands", "report", "settings", "sync"):
            await go(area)
            home = app.screen
            texts = await _palette_hits(app, home)
            specs = palette_actions(home)
            assert len(texts) == len(specs) and len(specs) > len(palette_actions(object()))
            for spec, text in zip(specs, texts, strict=True):
                assert text.startswith(t(spec.label)) and text.endswith(")")
            for index, spec in enumerate(specs):
                if spec.action == "quit" or (spec.scope == "app" and area != "dashboard"):
                    continue
                if app.screen is not home:
                    await go(area)
                    home = app.screen
                hit = [h async for h in ActionsProvider(home).discover()][index]
                await hit.command()
                await settle(pilot, rounds=1)
                assert app.is_running, spec.id
                while app.screen.is_modal:
                    app.pop_screen()
                    await settle(pilot, rounds=1)


async def test_palette_opens_on_ctrl_p_in_the_clerks_language(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(CommandInput).placeholder == "搜索命令…"
        await pilot.press(*"zzqq")
        # The palette says so after its own countdown: wait for the words, not for the countdown.
        await wait_until(pilot, lambda: "没有匹配的命令" in screen_text(app))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_palette_runs_an_action_chosen_by_typing(demo_store: Store) -> None:
    app = county_app(demo_store, lang="en")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert app.screen.query_one(CommandInput).placeholder == "Search for commands…"
        await pilot.press(*"Teams")
        # The search runs in the palette's own task: enter once the hit for what was typed is highlighted.
        results = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: results.highlighted is not None and results.option_count > 0
                         and "Teams" in str(results.get_option_at_index(results.highlighted).prompt))
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "TeamsScreen"


async def test_f1_shows_help_with_the_keys_of_the_screen(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpModal)
        table = app.screen.query_one("#help-keys", DataTable)
        rows = [(str(table.get_row_at(row)[0]), str(table.get_row_at(row)[1])) for row in range(table.row_count)]
        assert ("^n", "新建志愿者") in rows  # the full name: the footer shows the short 新建
        await pilot.press("f1")
        await settle(pilot)
        assert not isinstance(app.screen, HelpModal)


async def test_english_ui_has_no_chinese_in_its_own_words(demo_store: Store) -> None:
    app = county_app(demo_store, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shot = screen_text(app)
        assert "Volunteers: 60" in shot and "f3 Volunteers" in shot
        app.action_help_quit()  # what Textual runs when ctrl+c is pressed where nothing copies
        await settle(pilot)
        assert [n.message for n in app._notifications] == ["Press Ctrl+Q to quit the app"]
    use_language("zh")


async def test_language_change_in_settings_redraws_in_english(demo_store: Store) -> None:
    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        app.screen.query_one("#set-lang").value = "en"
        app.screen.query_one("#set-server").value = "ftp://city"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert demo_store.setting("language") == ""
        app.screen.query_one("#set-server").value = "https://city.example/"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert demo_store.setting("language") == "en"
        assert demo_store.setting("server_url") == "https://city.example/"
        assert "Settings" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "Volunteers: 60" in screen_text(app)
    use_language("zh")


async def test_sync_screen_shows_pending_changes_and_reports_an_unreachable_server(demo_store: Store) -> None:
    from functools import partial

    from stvs_tui.county.screens.sync import SyncScreen
    from sync.client import SyncClient

    app = county_app(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_area(SyncScreen(client_factory=partial(SyncClient, retries=0, timeout=2.0)))
        await settle(pilot)
        text = screen_text(app)
        assert f"未同步更改：{demo_store.pending_change_count()} 条" in text
        assert "请先在设置中填写" in text
        demo_store.set_settings(server_url="http://127.0.0.1:9", token="t0ken")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "同步失败" in screen_text(app)
        assert app.is_running
