"""Conflicts made by real county stores syncing with a real server, resolved by the city through the
``conflicts`` commands; the resolution reaches both devices of the county on their next sync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    local_record,
    sync,
    thread_server,
    update_row,
)

from schema.store import Store
from stvs_tui.cli import main


@dataclass
class Scene:
    server: ThreadServer
    devices: list[Store]
    tangyin: Store
    admin: str
    tokens: dict[str, str]


@pytest.fixture
def scene(tmp_path) -> Iterator[Scene]:
    factory = StoreFactory(tmp_path / "stores")
    with thread_server(f"sqlite:///{tmp_path / 'city' / 'city.sqlite'}") as server:
        devices = [factory.make("410522"), factory.make("410522")]
        tangyin = factory.make("410523")
        tokens = {"410522": server.token("410522"), "410523": server.token("410523")}
        yield Scene(server, devices, tangyin, server.token("410500", admin=True), tokens)
        for store in (*devices, tangyin):
            store.close()


def run(scene: Scene, *args: str) -> str:
    result = CliRunner().invoke(main, ["--data-dir", str(scene.devices[0].path.parent.parent / "admin"), *args,
                                       "--server", scene.server.url, "--token", scene.admin])
    assert result.exit_code == 0, result.output
    return result.stdout


def conflict_on_both_devices(scene: Scene) -> str:
    first, second = scene.devices
    row_id = add_volunteer(first)
    sync(first, scene.server, scene.tokens["410522"])
    sync(second, scene.server, scene.tokens["410522"])
    update_row(first, "volunteer", row_id, mobile="13900000001", title="主任医师")
    update_row(second, "volunteer", row_id, mobile="13900000002", title="副主任医师")
    assert sync(first, scene.server, scene.tokens["410522"]).applied == 1
    assert sync(second, scene.server, scene.tokens["410522"]).conflicts == 1
    return row_id


def test_per_field_resolution_reaches_both_devices_on_their_next_sync(scene) -> None:
    row_id = conflict_on_both_devices(scene)
    listed = json.loads(run(scene, "conflicts", "list", "--county", "410522", "--json"))
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["fields"]["mobile"]["incoming"] == "13900000002"
    run(scene, "conflicts", "resolve", item["id"], "--field", "mobile=county", "--set", "title=主任医师（正高）",
        "--reason", "电话核实")
    for device in scene.devices:
        sync(device, scene.server, scene.tokens["410522"])
        record = local_record(device, "volunteer", row_id)
        assert (record["mobile"], record["title"], record["sync_state"]) == ("13900000002", "主任医师（正高）", "synced")
    audit = json.loads(run(scene, "conflicts", "list", "--status", "resolved", "--json"))["items"][0]
    assert audit["reason"] == "电话核实" and audit["resolved_by"].startswith("admin:")


def test_bulk_take_city_from_the_command_line(scene) -> None:
    conflict_on_both_devices(scene)
    conflict_on_both_devices(scene)
    ids = [i["id"] for i in json.loads(run(scene, "conflicts", "list", "--json"))["items"]]
    out = run(scene, "conflicts", "resolve", *ids, "--take", "city", "--reason", "以先上传的为准")
    assert out.count("resolved") == 2
    assert json.loads(run(scene, "conflicts", "list", "--json"))["total"] == 0


def test_same_person_in_two_counties_from_real_stores(scene) -> None:
    first = add_volunteer(scene.devices[0])
    number = local_record(scene.devices[0], "volunteer", first)["id_number"]
    later = add_volunteer(scene.tangyin, county_code="410523")
    update_row(scene.tangyin, "volunteer", later, id_number=number)
    sync(scene.devices[0], scene.server, scene.tokens["410522"])
    sync(scene.tangyin, scene.server, scene.tokens["410523"])
    items = json.loads(run(scene, "conflicts", "list", "--kind", "duplicate_person", "--json"))["items"]
    assert len(items) == 1 and items[0]["fields"]["id"] == {"base": None, "server": first, "incoming": later}
    run(scene, "conflicts", "resolve", items[0]["id"], "--keep-both", "--reason", "两县均在服务")
    sync(scene.tangyin, scene.server, scene.tokens["410523"])
    assert "两县均在服务" in local_record(scene.tangyin, "volunteer", later)["notes"]


def test_resolve_needs_a_reason_and_a_choice(scene) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(scene.devices[0].path.parent.parent / "admin"), "conflicts", "resolve", "x",
            "--server", scene.server.url, "--token", scene.admin]
    assert runner.invoke(main, [*base, "--take", "city"]).exit_code == 2
    assert runner.invoke(main, [*base, "--reason", "r"]).exit_code == 2
    missing = runner.invoke(main, [*base, "--take", "city", "--reason", "r"])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_a_refused_admin_token_is_not_saved_and_an_accepted_one_is(scene, tmp_path) -> None:
    data_dir = ["--data-dir", str(tmp_path / "admin-laptop")]

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, [*data_dir, *args])
        return result.exit_code, result.output

    code, output = invoke("conflicts", "list", "--server", scene.server.url, "--token", "mistyped-token")
    assert code == 1 and "不接受该令牌" in output
    code, output = invoke("city", "--server", scene.server.url, "--token", "mistyped-token")  # the TUI never opens
    assert code == 1 and "refuses this token" in output
    code, output = invoke("city", "--server", scene.server.url, "--token", scene.tokens["410522"])  # not an admin
    assert code == 1 and "admin" in output
    code, output = invoke("conflicts", "list")
    assert code == 2 and "no city server or admin token saved yet" in output  # nothing refused was kept
    assert invoke("conflicts", "list", "--server", scene.server.url, "--token", scene.admin)[0] == 0
    code, output = invoke("conflicts", "list")  # the accepted one was saved
    assert code == 0, output
