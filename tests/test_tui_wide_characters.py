"""A wide (CJK) character is drawn whole where widgets meet: a toast over a dialog full of widget edges showed
"该月报告已报送  不能修改" (the characters over the edges beneath were split into two spaces)."""

from __future__ import annotations

from test_tui_fixtures import screen_text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

import stvs_tui.widgets.help  # noqa: F401  (installs the mend, as the county and city apps do)

MESSAGE = "该月报告已报送，不能修改。请先撤回报送再改正数据"


class EdgesApp(App[None]):
    """Rows of one-cell-wide widgets at odd offsets: an edge under every other cell of the toast."""

    def compose(self) -> ComposeResult:
        with Vertical():
            for row in range(24):
                with Horizontal(classes="row"):
                    yield from (Label("填" if (row + i) % 2 else "x", classes="cell") for i in range(40))

    CSS = ".row { height: 1; } .cell { width: 1; } .cell:odd { width: 2; }"


async def test_a_toast_over_many_widget_edges_keeps_every_character() -> None:
    app = EdgesApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.notify(MESSAGE, timeout=600)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        text = screen_text(app).replace("\n", "")
        assert MESSAGE[:12] in text
        assert "送再改正数据" in text  # the toast wraps the rest onto its next line
