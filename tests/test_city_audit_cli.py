"""``conflicts list`` names people, counties and tables (ids only in --json), ``--search`` and the decision's days,
and ``conflicts export`` writes the conflict log: through click's runner against a real server (uvicorn)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from city_server import CityServer, running_city_server
from click.testing import CliRunner
from openpyxl import load_workbook
from test_city_audit_tui import UUID, check_log, masked, resolve
from test_city_queue import make_conflict, queue, resident_id

from stvs_tui.cli import main
from sync.admin_protocol import ADMIN_PREFIX


@pytest.fixture
def city(tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path) as server:
        yield server


def run(city: CityServer, folder: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--data-dir", str(folder), *args, "--server", city.url,
                                       "--token", city.admin_token])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_conflicts_list_names_the_person_county_table_and_senders(city, tmp_path) -> None:
    row_id = make_conflict(city, 1)
    listed = run(city, tmp_path / "admin", "conflicts", "list")
    line = listed.strip()
    assert f"安阳县  志愿者  张三 {masked(1)}  field_conflict" in line
    assert "手机号码: 13900000001 | 13900000002" in line
    assert "[设备 node-b · 410522 设备 | 设备 node-a · 410522 设备]" in line
    assert row_id not in line and resident_id(1) not in line
    as_json = json.loads(run(city, tmp_path / "admin", "conflicts", "list", "--json"))
    item = as_json["items"][0]
    assert item["row_id"] == row_id and item["subject"] == f"张三 {masked(1)}" and item["county_name"] == "安阳县"
    assert item["incoming_sender"]["node_id"] == "node-a"


def test_conflicts_list_search_and_days_cover_the_resolved_items(city, tmp_path) -> None:
    make_conflict(city, 1)
    resolve(city, "电话核实", datetime(2026, 3, 2, 9, 15))
    make_conflict(city, 2)
    found = run(city, tmp_path / "admin", "conflicts", "list", "--status", "all", "--search", resident_id(1))
    assert len(found.strip().splitlines()) == 1 and masked(1) in found
    assert "→ 市科协李明 2026-03-02 09:15: 手机号码=本次上传, 工作单位=输入值; 电话核实" in found
    assert run(city, tmp_path / "admin", "conflicts", "list", "--status", "resolved", "--from", "2026-03-03") == ""
    assert masked(1) in run(city, tmp_path / "admin", "conflicts", "list", "--status", "resolved",
                            "--until", "2026-03-02")
    bad = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "admin"), "conflicts", "list", "--search", "a\x00b",
                                    "--server", city.url, "--token", city.admin_token])
    assert bad.exit_code == 1 and "search" in bad.output and len(bad.output.strip().splitlines()) == 1


def test_conflicts_export_writes_the_conflict_log(city, tmp_path) -> None:
    resolved_row = make_conflict(city, 1)
    resolve(city, "电话核实", datetime(2026, 3, 2, 9, 15))
    open_row = make_conflict(city, 2)
    out = tmp_path / "冲突记录.xlsx"
    said = run(city, tmp_path / "admin", "conflicts", "export", "--out", str(out))
    assert "待处理 1 项，已处理 1 项" in said and not re.search(UUID, said)
    check_log(out, open_row, resolved_row)
    missing = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "admin"), "conflicts", "export", "--out",
                                        str(tmp_path / "no-such" / "log.xlsx"), "--server", city.url,
                                        "--token", city.admin_token])
    assert missing.exit_code == 1 and "no-such" in missing.output


def test_conflicts_list_and_export_by_the_side_taken(city, tmp_path) -> None:
    """``--decision`` lists and exports the resolved items that took that side; with ``--status open`` it is a
    one-line usage error, and an unknown side is refused by click with the choices."""
    typed = make_conflict(city, 1)
    resolve(city, "部分输入", datetime(2026, 3, 2, 9, 0))  # mobile: the upload's, work_unit: typed
    uploaded = make_conflict(city, 2)
    with city.client() as client:
        client.post(f"{ADMIN_PREFIX}/queue/{queue(city)['items'][0]['id']}/decide", json={
            "decisions": {"mobile": {"take": "county"}, "work_unit": {"take": "county"}},
            "reason": "以上传为准"}).raise_for_status()
    make_conflict(city, 3)  # stays open
    home = tmp_path / "admin"
    listed = run(city, home, "conflicts", "list", "--decision", "county")
    assert len(listed.strip().splitlines()) == 1 and masked(2) in listed and "以上传为准" in listed
    as_json = json.loads(run(city, home, "conflicts", "list", "--decision", "value", "--json"))
    assert [(i["row_id"], i["decision"]) for i in as_json["items"]] == [(typed, "value")]
    assert run(city, home, "conflicts", "list", "--decision", "mixed") == ""
    assert uploaded in run(city, home, "conflicts", "list", "--status", "all", "--decision", "county", "--json")
    for wrong, said in ((["--status", "open", "--decision", "city"], "--status open"),
                        (["--decision", "both"], "'both' is not one of")):
        result = CliRunner().invoke(main, ["--data-dir", str(home), "conflicts", "list", *wrong,
                                           "--server", city.url, "--token", city.admin_token])
        assert result.exit_code == 2 and said in result.output, result.output
    out = tmp_path / "输入值.xlsx"
    said = run(city, home, "conflicts", "export", "--out", str(out), "--decision", "value")
    assert "待处理 0 项，已处理 1 项" in said
    sheet = load_workbook(out)["已处理"]
    header = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "序号")
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0] == 1 or row[0] == 2]
    assert len(rows) == 1 and rows[0][header.index("处理方式")] == "含输入值" and "部分输入" in rows[0]
    assert "--decision" in CliRunner().invoke(main, ["conflicts", "list", "--help"]).output
