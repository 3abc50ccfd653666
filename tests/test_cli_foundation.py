"""The foundation's commands: init, demo, where; exit codes and messages of ARCHITECTURE.md."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from stvs_tui.cli import main


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def dump(store: Path, query: str) -> list[tuple]:
    with sqlite3.connect(store) as connection:
        return connection.execute(query).fetchall()


def test_init_with_an_unknown_code_exits_1_naming_the_valid_codes(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "init", "--county", "999999")
    assert code == 1
    assert "999999" in err and "410522 安阳县" in err and "410581 林州市" in err


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


def test_demo_data_is_valid_and_covers_every_tier_and_minimum(tmp_path: Path) -> None:
    from schema.errors import InvalidRecord
    from schema.validation import clean_record

    run(tmp_path, "init", "--county", "410522")
    code, out, _ = run(tmp_path, "demo", "--volunteers", "200", "--seed", "3")
    assert code == 0 and "volunteer=200" in out
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
    for name, command in main.commands.items():
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        if hasattr(command, "commands"):
            for sub in command.commands:
                sub_help = CliRunner().invoke(main, [name, sub, "--help"]).stdout
                assert "Example" in sub_help, f"{name} {sub} --help has no example"
        else:
            assert "Example" in result.stdout, f"{name} --help has no example"
