"""The same change sent twice is the same change, and a copied or restored store becomes a new device
(issue 10, items 3 and 4). Each case is made the way a clerk makes it: the real CLI, ``sqlite3`` edits, a
bundle on a USB stick, a backup copied back, a data folder copied to a second laptop; against a real
server on SQLite and on PostgreSQL. The county ends in sync, with nothing lost and nothing doubled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from city_server import DATABASES, database_url
from clerk import COUNTY, Clerk, assert_in_sync, open_conflicts, server_rows
from sync_fixtures import ThreadServer, thread_server


@pytest.fixture(params=DATABASES)
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(database_url(request, tmp_path / "city")) as server:
        yield server


def volunteer_ids(clerk: Clerk) -> list[str]:
    return [row[0] for row in clerk.query("SELECT id FROM volunteer WHERE deleted = 0 ORDER BY id")]


def test_a_bundle_then_an_online_sync_then_the_bundle_at_the_city_is_one_change(city: ThreadServer,
                                                                                tmp_path: Path) -> None:
    """The bundle stamps the changes; the online sync re-stamps them (and carries an edit made since);
    the city imports the bundle afterwards: duplicates and the county's own older state, never a 409 or
    a conflict with itself."""
    clerk = Clerk(tmp_path / "county").setup()
    token = city.token(COUNTY)
    assert clerk.cli("bundle", "export", str(tmp_path / "up.stvsb"))[0] == 0
    first = volunteer_ids(clerk)[0]
    clerk.sql("UPDATE volunteer SET name = '改名后' WHERE id = ?", first)
    online = clerk.sync(city.url, token)
    assert online["rejected"] == 0 and online["conflicts"] == 0 and online["applied"] == online["pushed"] > 0
    city_clerk = Clerk(tmp_path / "citydata")
    code, out, err = city_clerk.cli("bundle", "import", str(tmp_path / "up.stvsb"), "--json", "--database-url",
                                    city.db.engine.url.render_as_string(hide_password=False))
    assert code == 0, out + err
    imported = json.loads(out)
    # Every change as the online sync sent it; the renamed row's older state is superseded by its later one.
    assert (imported["applied"], imported["duplicates"]) == (1, online["pushed"] - 1)
    assert imported["conflicts"] == imported["rejected"] == imported["merged"] == 0
    code, out, err = clerk.cli("bundle", "import", str(tmp_path / "up.return.stvsb"))
    assert code == 0, out + err
    again = clerk.sync()
    assert again["digest"] == "match" and again["pushed"] == 0
    assert server_rows(city.db)[("volunteer", first)]["name"] == "改名后"
    assert open_conflicts(city.db) == 0
    assert_in_sync(clerk, city.db)


def test_a_store_restored_from_a_backup_continues_as_a_new_device(city: ThreadServer, tmp_path: Path) -> None:
    """A backup taken with an edit not yet synced; the edit is synced, the clerk works on and syncs; then the
    backup is copied back over the store (the same file). The restored store replays the old edit (the same
    change: a duplicate), is told it is behind its node's history, continues as a new node, and gets back
    every later edit by pulling. Its own new edit reaches the server."""
    clerk = Clerk(tmp_path / "county").setup()
    token = city.token(COUNTY)
    clerk.sync(city.url, token)
    one, two, three = volunteer_ids(clerk)[:3]
    clerk.sql("UPDATE volunteer SET work_unit = '备份前' WHERE id = ?", one)
    backup = clerk.backup_to(tmp_path / "backup.sqlite")
    clerk.sync()
    clerk.sql("UPDATE volunteer SET work_unit = '备份后' WHERE id = ?", two)
    clerk.sync()
    old_node = clerk.node_id()
    clerk.restore_from(backup)
    clerk.sql("UPDATE volunteer SET notes = '恢复后' WHERE id = ?", three)
    restored = clerk.sync()
    assert restored["former_node"] == old_node and clerk.node_id() != old_node
    assert restored["rejected"] == 0 and restored["conflicts"] == 0
    assert restored["duplicates"] == 1 and restored["applied"] == 1
    final = clerk.sync()
    assert final["digest"] == "match" and final["former_node"] == ""
    server = server_rows(city.db)
    assert (server[("volunteer", one)]["work_unit"], server[("volunteer", two)]["work_unit"],
            server[("volunteer", three)]["notes"]) == ("备份前", "备份后", "恢复后")
    assert open_conflicts(city.db) == 0
    assert_in_sync(clerk, city.db)


def test_two_copies_of_one_store_sync_as_two_devices(city: ThreadServer, tmp_path: Path) -> None:
    """The data folder copied to a second laptop, with an edit pending in it. Both copies sync: the pending
    edit is one change (sent by both: a duplicate for the second), the copy finds it is a new file and
    becomes a new node, each gets the other's later edits, and no row is doubled."""
    original = Clerk(tmp_path / "laptop1").setup()
    token = city.token(COUNTY)
    original.sync(city.url, token)
    one, two, three = volunteer_ids(original)[:3]
    original.sql("UPDATE volunteer SET work_unit = '复制前' WHERE id = ?", one)
    copy = original.copy_to(tmp_path / "laptop2")
    original.sql("UPDATE volunteer SET notes = '一号机' WHERE id = ?", two)
    copy.sql("UPDATE volunteer SET notes = '二号机' WHERE id = ?", three)
    first = original.sync()
    second = copy.sync()
    assert first["former_node"] == "" and second["former_node"] == original.node_id() != copy.node_id()
    assert second["duplicates"] == 1 and second["applied"] == 1 and second["rejected"] == 0
    original.sync()
    copy.sync()
    server = server_rows(city.db)
    assert (server[("volunteer", one)]["work_unit"], server[("volunteer", two)]["notes"],
            server[("volunteer", three)]["notes"]) == ("复制前", "一号机", "二号机")
    assert open_conflicts(city.db) == 0
    assert_in_sync(original, city.db)
    assert_in_sync(copy, city.db)


def test_a_copy_that_keeps_its_file_identity_is_found_by_its_history(city: ThreadServer, tmp_path: Path) -> None:
    """Two stores that are byte for byte one file's copy (as a copy written over another store's file would
    be), both syncing after the copy: the second to come is behind the node's history and becomes new."""
    original = Clerk(tmp_path / "laptop1").setup()
    token = city.token(COUNTY)
    original.sync(city.url, token)
    twin = Clerk(tmp_path / "laptop2").setup()
    twin.restore_from(original.backup_to(tmp_path / "copy.sqlite"))
    twin.sql("UPDATE setting SET value = ? WHERE key = 'store_file'",
             original.query("SELECT value FROM setting WHERE key = 'store_file'")[0][0])
    _row, other = volunteer_ids(original)[:2]
    original.sql("UPDATE volunteer SET notes = '一号机' WHERE id = ?", other)
    original.sync()
    twin.sql("UPDATE volunteer SET work_unit = '二号机' WHERE id = ?", other)
    outcome = twin.sync()
    assert outcome["former_node"] == original.node_id() != twin.node_id()
    original.sync()
    server = server_rows(city.db)
    assert (server[("volunteer", other)]["notes"], server[("volunteer", other)]["work_unit"]) == ("一号机", "二号机")
    assert_in_sync(original, city.db)
    assert_in_sync(twin, city.db)
