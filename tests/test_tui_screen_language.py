"""The screens speak one language: no English words in the Chinese UI (keys and codes aside) and no Chinese in
the English UI (the clerk's data aside: names of people, teams, places are what they are)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pytest
from test_tui_fixtures import county_app, make_store, screen_text, settle

from schema.store import Store

# Keys and codes a Chinese screen may show as they are.
ALLOWED_ASCII = {
    "esc", "Esc", "ctrl", "Ctrl", "pgup", "pgdn", "space", "Space", "Enter", "Tab", "PageUp", "PageDown",
    "Excel", "STVS", "ID", "http", "https",
}
SCREENS = {
    "dashboard": [], "help": ["f1"], "volunteers": ["f3"], "volunteer_form": ["f3", "ctrl+n"],
    "select_open": ["f3", "slash", "tab", "enter"], "teams": ["f4"], "activities": ["f5"],
    "activity": ["f5", "enter"], "demands": ["f6"], "report": ["f7"], "sync": ["f8"], "settings": ["f9"],
    "palette": ["ctrl+p"],
}
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]+")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = make_store(tmp_path_factory.mktemp("lang") / "stvs.sqlite", volunteers=60)
    yield store
    store.close()


def data_text(store: Store) -> str:
    """Every text value stored (people, teams, places, activities): what the clerk typed, in any language."""
    path = store.engine.url.database
    values: list[str] = []
    with sqlite3.connect(path) as db:
        for (table,) in db.execute("select name from sqlite_master where type='table'"):
            columns = [row[1] for row in db.execute(f'pragma table_info("{table}")')]
            for row in db.execute(f'select * from "{table}"'):
                values += [value for value, _c in zip(row, columns, strict=True) if isinstance(value, str)]
    return "\n".join(values)


async def screens_text(store: Store, lang: str) -> dict[str, str]:
    """Each screen's text at 80×24, visited in one app (Esc and F2 lead back to the dashboard between)."""
    app = county_app(store, lang)
    shown: dict[str, str] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for name, keys in SCREENS.items():
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            shown[name] = screen_text(app)
            while len(app.screen_stack) > 2 or app.screen.is_modal:
                await pilot.press("escape")
                await settle(pilot)
    return shown


async def test_no_chinese_in_the_english_screens_but_the_data(store: Store) -> None:
    data = data_text(store)
    for screen, text in (await screens_text(store, "en")).items():
        # A value cut with "…" shows its head only; a run of Chinese that is part of a stored value is data.
        foreign = [run for run in CJK.findall(text.replace("…", "\n")) if not _made_of_data(run, data)]
        assert not foreign, f"{screen}: Chinese in the English UI: {foreign}"


def _made_of_data(run: str, data: str) -> bool:
    """A run of Chinese is data when it is part of a stored value, or two such parts side by side: a table
    draws a value cut at its column's edge right against the next column's (消防安全演练 + 安阳县科…)."""
    if run in data:
        return True
    return any(run[:cut] in data and run[cut:] in data for cut in range(1, len(run)))


async def test_no_english_words_in_the_chinese_screens(store: Store) -> None:
    data = data_text(store)
    for screen, text in (await screens_text(store, "zh")).items():
        words = set(re.findall(r"[A-Za-z]{2,}", text))
        foreign = sorted(word for word in words - ALLOWED_ASCII
                         if word not in data and not re.fullmatch(r"[fF]\d", word))
        assert not foreign, f"{screen}: English in the Chinese UI: {foreign}"
