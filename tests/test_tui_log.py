"""The logs folder `stvs-tui where` lists is made and written: the TUI logs when database work fails."""

from __future__ import annotations

import logging
from pathlib import Path

from click.testing import CliRunner
from test_tui_fixtures import county_app, make_store, settle, wait_until

from stvs_tui.cli import main
from stvs_tui.logs import LOG_FILENAME, LOGGER, start_log


def test_where_lists_the_folder_the_log_is_written_in(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "where", "--json"])
    import json

    listed = Path(json.loads(result.output)["logs"])
    path = start_log(listed)
    logging.getLogger(LOGGER).info("hello from the test")
    for handler in logging.getLogger(LOGGER).handlers:
        handler.flush()
    assert path == listed / LOG_FILENAME and "hello from the test" in path.read_text(encoding="utf-8")
    assert listed.stat().st_mode & 0o077 == 0


async def test_failed_database_work_is_logged_with_its_traceback(tmp_path: Path) -> None:
    path = start_log(tmp_path / "logs")
    store = make_store(tmp_path / "stvs.sqlite")
    try:
        app = county_app(store)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)

            def broken(_session: object) -> None:
                raise RuntimeError("disk on fire")

            app.run_db(app.screen, broken, lambda _r: None, group="test")
            await wait_until(pilot, lambda: "disk on fire" in path.read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        assert "database work failed" in text and "Traceback" in text
    finally:
        store.close()


async def test_the_tui_as_started_writes_its_log_in_the_folder_where_lists(tmp_path: Path) -> None:
    """``stvs-tui where`` makes the logs folder it lists; the TUI, started as the command starts it, logs there."""
    import json

    from stvs_tui.county.app import county_app_for
    from stvs_tui.paths import AppPaths

    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["--data-dir", str(data), "where", "--json"])
    listed = Path(json.loads(result.output)["logs"])
    assert result.exit_code == 0 and listed.is_dir()
    assert CliRunner().invoke(main, ["--data-dir", str(data), "init", "--county", "410522"]).exit_code == 0
    app = county_app_for(AppPaths.resolve(data), "zh")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
    finally:
        app.store.close()
    for handler in logging.getLogger(LOGGER).handlers:
        handler.flush()
    log = listed / LOG_FILENAME
    assert f"county TUI opened on {data / 'stvs.sqlite'}" in log.read_text(encoding="utf-8")
