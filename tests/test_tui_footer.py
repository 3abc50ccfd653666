"""The footer at 80 columns: F1 and Ctrl+Q first, every key shown whole under its short word, in Chinese and
English, on every screen of the county TUI and in each state that changes its keys; F1 help and the palette
keep the full names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.cells import cell_len
from test_tui_fixtures import county_app, make_store, screen_text, settle, wait_until
from textual.widgets import DataTable
from textual.widgets._footer import FooterKey

from schema.enums import ActivityStatus
from schema.store import Store
from stvs_tui import queries
from stvs_tui.actions import ACTIONS
from stvs_tui.county.screens.activities import ActivityScreen
from stvs_tui.county.screens.teams import TeamsScreen
from stvs_tui.i18n import t, use_language
from stvs_tui.widgets.help import HelpModal

SCREENS = {
    "dashboard": [], "volunteers": ["f3"], "volunteer": ["f3", "enter"], "teams": ["f4"],
    "team_members": ["f4", "tab"], "activities": ["f5"], "demands": ["f6"], "report": ["f7"], "sync": ["f8"],
    "settings": ["f9"], "excel": ["f10"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = make_store(tmp_path_factory.mktemp("footer") / "stvs.sqlite", volunteers=60)
    yield store
    store.close()


def footer_keys(app: object) -> tuple[list[FooterKey], FooterKey]:
    keys = list(app.screen.query(FooterKey))  # type: ignore[attr-defined]
    palette = next(key for key in keys if "-command-palette" in key.classes)
    return [key for key in keys if key is not palette], palette


def check_footer(app: object, where: str) -> list[str]:
    """Every key of the footer whole and left of the palette key, F1 and Ctrl+Q first; the keys shown."""
    keys, palette = footer_keys(app)
    assert [key.key for key in keys[:2]] == ["f1", "ctrl+q"], f"{where}: footer starts {[k.key for k in keys[:3]]}"
    line = screen_text(app).splitlines()[-1]  # type: ignore[arg-type]
    for key in keys:
        assert key.region.width > 0 and key.region.right <= palette.region.x, \
            f"{where}: {key.key_display} {key.description!r} is cut at 80 columns"
        assert key.description in line, f"{where}: {key.description!r} not drawn whole in {line!r}"
    assert cell_len(line) <= 80
    return [key.key for key in keys]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_every_footer_fits_80_columns_with_f1_and_ctrl_q_first(store: Store, lang: str) -> None:
    app = county_app(store, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for name, keys in SCREENS.items():
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            shown = check_footer(app, f"{lang} {name}")
            if name == "team_members":  # the footer follows the focus: member keys on the members
                assert app.screen.focused.id == "members"
                assert {"ctrl+r", "ctrl+x"} <= set(shown) and "ctrl+n" not in shown, shown
            if name == "teams":
                assert "ctrl+n" in shown and "ctrl+x" not in shown, shown
            while len(app.screen_stack) > 2 or app.screen.is_modal:
                await pilot.press("escape")
                await settle(pilot)
        # The dissolved teams: Restore is shown there.
        app.open_area(TeamsScreen())
        await wait_until(pilot, lambda: isinstance(app.screen, TeamsScreen))
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert "ctrl+g" in check_footer(app, f"{lang} dissolved teams")


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_activity_footer_follows_its_status_and_fits(tmp_path: Path, lang: str) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=60)
    with store.engine.connect() as connection:
        draft = connection.execute(sa.text("select id from activity where status = 'draft' limit 1")).scalar_one()
        finished = connection.execute(sa.text("select id from activity where status = 'finished' limit 1")).scalar_one()
    expected = {
        ActivityStatus.DRAFT: {"ctrl+e", "ctrl+u", "ctrl+d"},
        ActivityStatus.PUBLISHED: {"ctrl+e", "ctrl+g", "ctrl+a", "ctrl+d"},
        ActivityStatus.IN_PROGRESS: {"ctrl+a", "space", "ctrl+k", "ctrl+t"},
    }
    app = county_app(store, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for status, keys in expected.items():
            if status is not ActivityStatus.DRAFT:
                with store.session() as session:
                    queries.change_status(session, draft, status)
                    session.commit()
            app.open_area(ActivityScreen(draft))
            await wait_until(pilot, lambda: isinstance(app.screen, ActivityScreen) and app.screen.detail is not None)
            await settle(pilot)
            assert set(check_footer(app, f"{lang} {status}")[2:]) == keys
        app.open_area(ActivityScreen(finished))
        await wait_until(pilot, lambda: isinstance(app.screen, ActivityScreen) and app.screen.detail is not None
                         and app.screen.detail.activity.id == finished)
        await settle(pilot)
        assert check_footer(app, f"{lang} finished")[2:] == ["ctrl+y"]
        # Every key still works where the footer does not show it: Ctrl+K on a finished activity says why not.
        await pilot.press("ctrl+k")
        await wait_until(pilot, lambda: any(t("action.confirm_hours") in str(n.message)
                                            for n in app._notifications))
    store.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_help_and_palette_keep_the_full_names(store: Store, lang: str) -> None:
    app = county_app(store, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        keys, _palette = footer_keys(app)
        assert t("key.new") in [key.description for key in keys]  # 新建 / New in the footer
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpModal))
        table = app.screen.query_one("#help-keys", DataTable)
        actions = [str(table.get_row_at(row)[1]) for row in range(table.row_count)]
        assert t("action.new_volunteer") in actions and t("action.export_roster") in actions
        assert t("key.new") not in actions
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*t("action.new_volunteer"))
        await settle(pilot)
        assert t("action.new_volunteer") in screen_text(app)


def test_every_footer_word_is_short_and_in_both_languages() -> None:
    """A footer word is at most 10 columns (five characters) in Chinese and 11 in English (longer ones would not fit)."""
    for lang, limit in (("zh", 10), ("en", 11)):
        use_language(lang)
        for spec in ACTIONS:
            if spec.show and not spec.scope.startswith("city"):
                word = t(spec.group or spec.short or spec.label)
                assert cell_len(word) <= limit, f"{spec.id}: footer word {word!r} too long in {lang}"
    use_language("zh")


async def test_the_footer_is_rebuilt_when_its_keys_change_and_only_then() -> None:
    """KeyFooter: the same keys published again (the focus landing on a widget whose bindings show nothing) leave
    the footer's key widgets as they are; a key that comes or goes rebuilds it."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.widgets import Input

    from stvs_tui.widgets.footer import KeyFooter

    class Keys(App[None]):
        BINDINGS = [Binding("f2", "second", "第二"), Binding("f3", "third", "第三")]
        third_shown = True

        def compose(self) -> ComposeResult:
            yield Input(id="one")
            yield Input(id="two")
            yield KeyFooter()

        def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
            return self.third_shown if action == "third" else True

    app = Keys()
    async with app.run_test(size=(80, 10)) as pilot:
        await settle(pilot)

        def shown() -> list[FooterKey]:
            return [key for key in app.screen.query(FooterKey) if key.key in ("f2", "f3")]

        first = shown()
        assert [key.key for key in first] == ["f2", "f3"]
        app.screen.query_one("#two").focus()  # publishes the bindings again: the same keys
        await settle(pilot)
        app.screen.refresh_bindings()
        await settle(pilot)
        assert shown() == first and all(key.is_attached for key in first)
        app.third_shown = False
        app.screen.refresh_bindings()
        await wait_until(pilot, lambda: [key.key for key in shown()] == ["f2"])
        app.third_shown = True
        app.screen.refresh_bindings()
        await wait_until(pilot, lambda: [key.key for key in shown()] == ["f2", "f3"])
        assert not any(key in first for key in shown())  # rebuilt
