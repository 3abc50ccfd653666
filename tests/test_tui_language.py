"""The language on start-up: ``--lang`` when given, else the one saved in Settings, else Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_tui_fixtures import make_store

import stvs_tui.county.app
import stvs_tui.county.start
from stvs_tui.cli import main
from stvs_tui.county.app import startup_language
from stvs_tui.county.screens.settings import LANGUAGE


def test_saved_language_is_used_when_no_flag_is_given(tmp_path: Path) -> None:
    store = make_store(tmp_path / "stvs.sqlite")
    try:
        assert startup_language(store, None) == "zh"
        store.set_settings(**{LANGUAGE: "en"})
        assert startup_language(store, None) == "en"
        assert startup_language(store, "zh") == "zh"
    finally:
        store.close()


@pytest.mark.parametrize(("args", "env", "expected"), [([], {}, None), (["--lang", "en"], {}, "en"),
                                                       ([], {"STVS_LANG": "en"}, "en")])
def test_cli_passes_the_flag_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                         env: dict[str, str], expected: str | None) -> None:
    """Without --lang (or STVS_LANG) the CLI hands no language over, so the saved one wins at start-up."""
    seen: list[Any] = []
    monkeypatch.setattr(stvs_tui.county.start, "run_county_app", lambda paths, lang: seen.append(lang))
    monkeypatch.delenv("STVS_LANG", raising=False)
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), *args], env=env)
    assert result.exit_code == 0, result.output
    assert seen == [expected]


def test_help_says_where_the_language_comes_from() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "saved in" in result.output and "STVS_LANG" in result.output
