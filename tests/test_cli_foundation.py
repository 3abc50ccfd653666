"""The foundation's commands: init, demo, where; exit codes and messages of ARCHITECTURE.md."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import click
from click.testing import CliRunner

from stvs_tui.cli import main


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def dump(store: Path, query: str) -> list[tuple]:
    with sqlite3.connect(store) as connection:
        return connection.execute(query).fetchall()


def test_init_with_an_unknown_code_is_a_usage_error_naming_the_valid_codes_once(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "init", "--county", "999999")
    assert code == 2
    assert "999999" in err and "410581 林州市" in err and "--county" in err
    assert err.count("410522 安阳县") == 1


def test_init_sets_county_and_clerk(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "init", "--county", "410523", "--clerk", "王芳")
    assert code == 0 and "汤阴县" in out
    assert dict(dump(tmp_path / "stvs.sqlite", "SELECT key, value FROM setting WHERE key IN ('county_code','clerk')")) \
        == {"county_code": "410523", "clerk": "王芳"}


def test_init_refuses_to_switch_a_store_to_another_county(tmp_path: Path) -> None:
    run(tmp_path, "init", "--county", "410523")
    code, _, err = run(tmp_path, "init", "--county", "410522")
    assert code == 1 and "410523" in err


def test_demo_needs_an_initialised_store(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "demo")
    assert code == 1 and "init" in err


DEMO_QUERIES = (
    "SELECT id, name, id_number, mobile, work_unit, talent_tags FROM volunteer ORDER BY id",
    "SELECT id, name, tier, parent_id FROM team ORDER BY id",
    "SELECT id, title, team_id, starts_at, status FROM activity ORDER BY id",
    "SELECT id, activity_id, volunteer_id, hours FROM participation ORDER BY id",
)


def test_demo_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    for folder in ("a", "b", "c"):
        run(tmp_path / folder, "init", "--county", "410522")
    run(tmp_path / "a", "demo", "--volunteers", "120", "--seed", "7")
    run(tmp_path / "b", "demo", "--volunteers", "120", "--seed", "7")
    run(tmp_path / "c", "demo", "--volunteers", "120", "--seed", "8")
    for query in DEMO_QUERIES:
        first = dump(tmp_path / "a" / "stvs.sqlite", query)
        assert first and first == dump(tmp_path / "b" / "stvs.sqlite", query)
    assert dump(tmp_path / "a" / "stvs.sqlite", DEMO_QUERIES[0]) != dump(tmp_path / "c" / "stvs.sqlite", DEMO_QUERIES[0])


def counts(store: Path) -> dict[str, int]:
    return {table: dump(store, f"SELECT COUNT(*) FROM {table}")[0][0]
            for table in ("team", "volunteer", "membership", "activity", "participation", "change_log")}


def test_a_second_demo_is_refused_in_one_line_and_adds_nothing(tmp_path: Path) -> None:
    """Same seed (ids would collide) or another seed (every team would be there twice): refused alike."""
    run(tmp_path, "init", "--county", "410522")
    assert run(tmp_path, "demo", "--volunteers", "60", "--seed", "7")[0] == 0
    before = counts(tmp_path / "stvs.sqlite")
    for seed in ("7", "8"):
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "demo", "--volunteers", "60", "--seed", seed])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
        assert "already has demo data" in result.stderr and "seed 7, 60 volunteers" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert counts(tmp_path / "stvs.sqlite") == before
    assert dump(tmp_path / "stvs.sqlite", "SELECT name FROM team GROUP BY name HAVING COUNT(*) > 1") == []


def test_demo_after_the_demo_flag_is_refused_and_the_flag_twice_loads_once(tmp_path: Path) -> None:
    """The README's order: ``stvs-tui --demo``, then ``init``, then ``demo``."""
    from stvs_tui.cli import _open_with_demo_data
    from stvs_tui.context import AppContext
    from stvs_tui.paths import AppPaths

    for _ in range(2):  # what --demo does before it opens the TUI
        _open_with_demo_data(AppContext(AppPaths.resolve(tmp_path), "zh"))
    before = counts(tmp_path / "stvs.sqlite")
    assert before["volunteer"] == 300
    assert run(tmp_path, "init", "--county", "410522", "--clerk", "王芳")[0] == 0
    code, _, err = run(tmp_path, "demo", "--volunteers", "500", "--seed", "7")
    assert code == 1 and "already has demo data" in err and "seed 1, 300 volunteers" in err
    assert counts(tmp_path / "stvs.sqlite") == before


def test_demo_is_refused_in_a_store_that_holds_its_own_data(tmp_path: Path) -> None:
    from sync_fixtures import add_volunteer

    from schema.store import open_store

    run(tmp_path, "init", "--county", "410522")
    store = open_store(tmp_path / "stvs.sqlite", daily_backup=False)
    add_volunteer(store, name="李明")
    store.close()
    code, _, err = run(tmp_path, "demo")
    assert code == 1 and "0 teams and 1 volunteers" in err
    assert counts(tmp_path / "stvs.sqlite")["volunteer"] == 1


def test_demo_ids_are_unique_per_county_whatever_the_seed() -> None:
    from stvs_tui.demo import generate

    def ids(county: str, seed: int) -> list[str]:
        data = generate(county, "县", 80, seed, date(2026, 3, 1))
        return [row["id"] for _table, rows in data.tables() for row in rows]

    anyang, tangyin = ids("410522", 7), ids("410523", 7)
    assert anyang == ids("410522", 7)  # same seed, same county: the same data
    assert not set(anyang) & set(tangyin)
    assert not set(anyang) & set(ids("410523", 8)) and not set(anyang) & set(ids("410500", 7))


def test_demo_data_is_valid_and_covers_every_tier_and_minimum(tmp_path: Path) -> None:
    from schema.errors import InvalidRecord
    from schema.validation import clean_record

    run(tmp_path, "init", "--county", "410522")
    code, out, _ = run(tmp_path, "demo", "--volunteers", "200", "--seed", "3")
    assert code == 0 and "志愿者 200" in out
    store = tmp_path / "stvs.sqlite"
    for name, id_number, mobile in dump(store, "SELECT name, id_number, mobile FROM volunteer"):
        try:
            clean_record("volunteer", {"name": name, "id_number": id_number, "mobile": mobile})
        except InvalidRecord as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"demo volunteer {name} is invalid: {exc}") from None
    sizes = dump(store, "SELECT t.tier, COUNT(m.id) FROM team t JOIN membership m ON m.team_id = t.id GROUP BY t.id")
    assert any(tier == "county" and n >= 30 for tier, n in sizes)
    assert any(tier == "grassroots" and n >= 10 for tier, n in sizes)
    assert any(tier == "grassroots" and n < 10 for tier, n in sizes)
    months = dump(store, "SELECT COUNT(DISTINCT substr(starts_at, 1, 7)) FROM activity")[0][0]
    assert months >= 12
    assert dump(store, "SELECT COUNT(*) FROM participation WHERE hours > 0 AND hours_confirmed")[0][0] > 0


def test_where_prints_the_paths(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "where", "--json")
    paths = json.loads(out)
    assert code == 0
    assert paths["store"] == str(tmp_path.resolve() / "stvs.sqlite")
    assert paths["backups"] == str(tmp_path.resolve() / "backups")


def test_data_dir_comes_from_the_environment(tmp_path: Path) -> None:
    result = CliRunner(env={"STVS_DATA_DIR": str(tmp_path)}).invoke(main, ["where", "--json"])
    assert json.loads(result.stdout)["data"] == str(tmp_path.resolve())


def test_a_newer_store_gives_exit_1_and_one_line_reason(tmp_path: Path) -> None:
    run(tmp_path, "init", "--county", "410522")
    with sqlite3.connect(tmp_path / "stvs.sqlite") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'fffffuture'")
    completed = subprocess.run([sys.executable, "-m", "stvs_tui", "--data-dir", str(tmp_path), "demo"],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert "newer" in completed.stderr and "Traceback" not in completed.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, _ = run(tmp_path, "init")
    assert code == 2


def test_every_command_help_has_an_example() -> None:
    context = click.Context(main)
    names = main.list_commands(context)
    assert {"init", "sync", "export", "node"} <= set(names)
    for name in names:
        command = main.get_command(context, name)
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        if hasattr(command, "commands"):
            for sub in command.commands:
                sub_help = CliRunner().invoke(main, [name, sub, "--help"]).stdout
                assert "Example" in sub_help, f"{name} {sub} --help has no example"
        else:
            assert "Example" in result.stdout, f"{name} --help has no example"


def _options_named(command: click.Command, name: str, path: str = "") -> list[tuple[str, click.Parameter]]:
    found = [(f"{path} {command.name}".strip(), p) for p in command.params if p.name == name]
    if isinstance(command, click.Group):  # through click's API: the group loads its lazy commands
        context = click.Context(command)
        for sub_name in command.list_commands(context):
            sub = command.get_command(context, sub_name)
            assert sub is not None, sub_name
            found += _options_named(sub, name, f"{path} {command.name}".strip())
    return found


def test_every_month_option_checks_its_value_as_a_usage_error() -> None:
    from stvs_tui.cli.params import PeriodType

    months = _options_named(main, "month")
    assert months, "no command takes --month any more: drop this test"
    for where, option in months:
        assert isinstance(option.type, PeriodType), f"{where} --month is not a PeriodType"


def test_a_bad_month_is_a_usage_error_exit_2_on_every_export(tmp_path: Path) -> None:
    run(tmp_path, "init", "--county", "410522")
    out = str(tmp_path / "x.xlsx")
    for kind in ("monthly", "activities", "hours", "certificate"):
        extra = ["--volunteer", "11010519491231002X"] if kind == "certificate" else []
        for bad in ("2026/05", "05-2026", "2026-13", "2026-5-1", "next"):
            code, _, err = run(tmp_path, "export", kind, "--month", bad, "-o", out, *extra)
            assert code == 2 and "--month" in err and bad in err, (kind, bad, err)
    code, _, err = run(tmp_path, "export", "monthly", "--month", "2026", "-o", out)
    assert code == 2 and "YYYY-MM" in err
    assert not (tmp_path / "x.xlsx").exists()
    assert run(tmp_path, "export", "activities", "--month", "2026-5", "-o", out)[0] == 0  # 2026-5 is 2026-05


def test_demo_says_what_it_wrote_in_the_clerks_language(tmp_path: Path) -> None:
    """Chinese by default (no ``team=7 volunteer=60`` in the Chinese UI), English with --lang en."""
    for folder, lang in (("zh", []), ("en", ["--lang", "en"])):
        run(tmp_path / folder, "init", "--county", "410522")
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / folder), *lang, "demo", "--volunteers", "60"])
        assert result.exit_code == 0, result.output
        volunteers = dump(tmp_path / folder / "stvs.sqlite", "SELECT COUNT(*) FROM volunteer")[0][0]
        teams = dump(tmp_path / folder / "stvs.sqlite", "SELECT COUNT(*) FROM team")[0][0]
        if lang:
            assert result.stdout.startswith("Demo data written: ") and f"volunteer {volunteers}" in result.stdout
            assert f"team {teams}," in result.stdout and not re.search(r"[\u4e00-\u9fff]", result.stdout)
        else:
            assert result.stdout.startswith("已写入演示数据：") and f"志愿者 {volunteers}" in result.stdout
            assert f"队伍 {teams}，" in result.stdout and not re.search(r"[A-Za-z=]", result.stdout)
