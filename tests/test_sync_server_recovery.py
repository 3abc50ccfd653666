"""A city server that lost its database recovers from the county's store (issue 10, item 8).

The county synced, then kept working (``sqlite3`` edits, a soft delete, a hard delete); the city's database
is recreated empty and the server started again. The county's next sync sends every row the server does
not know whole (pending edits included), the digest disagrees, the repair runs, and the county ends in sync:
nothing lost, nothing doubled; on SQLite and on PostgreSQL. And a city database put back from a backup older
than the county's last sync: the edits that sync carried come back as edits, not as conflicts.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from city_server import DATABASES, database_url
from clerk import COUNTY, Clerk, assert_in_sync, open_conflicts, server_rows, two_devices
from sync_fixtures import thread_server


@pytest.fixture(params=DATABASES)
def city_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield database_url(request, tmp_path / "city")


def lose_database(url: str) -> None:
    """The database is gone: the SQLite file deleted, or every PostgreSQL table dropped."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def test_a_server_recreated_empty_gets_every_row_back_with_the_pending_edits(city_url: str,
                                                                            tmp_path: Path) -> None:
    clerk = Clerk(tmp_path / "county").setup(volunteers=15)
    with thread_server(city_url) as city:
        clerk.sync(city.url, city.token(COUNTY))
    first, second, third, fourth = [row[0] for row in clerk.query("SELECT id FROM volunteer ORDER BY id LIMIT 4")]
    clerk.sql("UPDATE volunteer SET name = '恢复测试' WHERE id = ?", first)
    clerk.sql("UPDATE volunteer SET deleted = 1 WHERE id = ?", second)
    clerk.sql("DELETE FROM participation WHERE volunteer_id = ?", third)
    clerk.sql("DELETE FROM membership WHERE volunteer_id = ?", third)
    clerk.sql("DELETE FROM volunteer WHERE id = ?", third)
    clerk.sql("UPDATE volunteer SET mobile = '13912345678' WHERE id = ?", fourth)
    expected = clerk.rows()
    lose_database(city_url)
    with thread_server(city_url) as city:
        summary = clerk.sync(city.url, city.token(COUNTY))
        assert summary["rejected"] == 0 and summary["conflicts"] == 0
        assert summary["digest"] == "repaired"
        assert server_rows(city.db) == expected
        again = clerk.sync()
        assert again["digest"] == "match" and again["pushed"] == 0
        assert_in_sync(clerk, city.db)
        server = server_rows(city.db)
        assert server[("volunteer", first)]["name"] == "恢复测试"
        assert server[("volunteer", fourth)]["mobile"] == "13912345678"
        assert ("volunteer", second) not in server and ("volunteer", third) not in server


def back_up(url: str, folder: Path) -> Path:
    """The city's database as its nightly backup keeps it: SQLite's backup API, or ``pg_dump``."""
    folder.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite:///"):
        target = folder / "city.sqlite"
        with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        return target
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("putting a PostgreSQL database back from a backup needs pg_dump and pg_restore on PATH")
    target = folder / "city.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(target), _libpq(url)], check=True)
    return target


def put_back(url: str, backup: Path) -> None:
    """The backup restored over the city's database, with the server stopped."""
    if url.startswith("sqlite:///"):
        lose_database(url)
        shutil.copyfile(backup, url.removeprefix("sqlite:///"))
        return
    lose_database(url)
    subprocess.run(["pg_restore", "--dbname", _libpq(url), str(backup)], check=True)


def _libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_server_put_back_from_an_older_backup_takes_the_edits_it_lost_as_edits(city_url: str,
                                                                                 tmp_path: Path) -> None:
    """The city's database is put back from a backup taken before the county's last sync: the server holds the
    rows that sync changed at their older versions. The county's next sync sends them again as edits of the
    server's rows (with an edit made since, waiting to go): applied, no conflict for the city to decide, and the
    county keeps its values. (Before, each went as a new row meeting the server's older one: a conflict for every
    field changed, and the county showed the older values until the city decided.)"""
    clerk = Clerk(tmp_path / "county").setup(volunteers=15)
    with thread_server(city_url) as city:
        token = city.token(COUNTY)
        clerk.sync(city.url, token)
    saved = back_up(city_url, tmp_path / "backup")
    first, second = [row[0] for row in clerk.query("SELECT id FROM volunteer ORDER BY id LIMIT 2")]
    clerk.sql("UPDATE volunteer SET name = '备份后改名' WHERE id = ?", first)
    clerk.sql("UPDATE volunteer SET mobile = '13912345678', work_unit = '县农技站' WHERE id = ?", second)
    with thread_server(city_url) as city:
        assert clerk.sync(city.url, token)["applied"] == 2
    put_back(city_url, saved)
    clerk.sql("UPDATE volunteer SET notes = '恢复后又改' WHERE id = ?", second)  # waiting to go at the restore
    expected = clerk.rows()
    with thread_server(city_url) as city:
        summary = clerk.sync(city.url, token)
        assert summary["conflicts"] == 0 and summary["rejected"] == 0, summary
        assert open_conflicts(city.db) == 0
        assert server_rows(city.db) == expected
        server = server_rows(city.db)
        assert server[("volunteer", first)]["name"] == "备份后改名"
        assert (server[("volunteer", second)]["mobile"], server[("volunteer", second)]["work_unit"],
                server[("volunteer", second)]["notes"]) == ("13912345678", "县农技站", "恢复后又改")
        again = clerk.sync()
        assert again["digest"] == "match" and again["pushed"] == 0
        assert_in_sync(clerk, city.db)


def conflict_fields(db) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    """The open conflict's fields (one open conflict expected)."""
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT fields FROM sync_conflict WHERE status = 'open'").all()
    assert len(rows) == 1, rows
    return dict(json.loads(rows[0][0]))


@pytest.mark.parametrize("how", ["nothing waiting", "an edit waiting", "fewer edits since"])
def test_a_restored_server_another_device_wrote_over_keeps_both_edits_for_the_city(city_url: str, tmp_path: Path,
                                                                                  how: str) -> None:
    """The city's database is put back from a backup taken before device A's last sync, and device B edits the
    same row on the restored server before A syncs. The row's history on the server is now B's, not A's: A's
    synced edit must not be replaced silently (before, the re-diff took B's row, an edit waiting on A was merged as
    if made on B's version, or A's row went as an edit of B's and replaced it). Each side's value goes to the
    city as a conflict, field by field, and what neither changed stays."""
    token, a, b, row, saved = backed_up_then_renamed_by_a(city_url, tmp_path)
    with thread_server(city_url) as city:
        assert a.sync(city.url, token)["applied"] == 1
        if how == "fewer edits since":
            a.sql("UPDATE volunteer SET work_unit = 'A的单位' WHERE id = ?", row)
            assert a.sync()["applied"] == 1
    fields, server = restored_then_edited_by_b(city_url, saved, token, a, b, row, how)
    if how == "fewer edits since":
        assert fields["work_unit"]["incoming"] == "A的单位"
    if how == "an edit waiting":
        assert "A又改" in (server["notes"], fields.get("notes", {}).get("incoming"))


def backed_up_then_renamed_by_a(city_url: str, tmp_path: Path) -> tuple[str, Clerk, Clerk, str, Path]:
    """Two devices in sync, the city's database backed up, then A renames the row (not yet synced): the token,
    A, B, the row and the backup."""
    with thread_server(city_url) as city:
        token = city.token(COUNTY)
        a, b, row = two_devices(city.url, token, tmp_path, volunteers=15)
    saved = back_up(city_url, tmp_path / "backup")
    a.sql("UPDATE volunteer SET name = 'A改名' WHERE id = ?", row)
    return token, a, b, row, saved


def restored_then_edited_by_b(city_url: str, saved: Path, token: str, a: Clerk, b: Clerk, row: str,
                              how: str) -> tuple[dict[str, dict[str, object]], dict[str, Any]]:
    """The city's backup put back; B edits the row's mobile on it (A its notes too, waiting, one way) and syncs,
    then A: A's lost edit of the name goes to the city as a conflict, and B's edit is not replaced either. The
    conflict's fields and the server's row."""
    put_back(city_url, saved)
    b.sql("UPDATE volunteer SET mobile = '13900000009' WHERE id = ?", row)
    if how == "an edit waiting":
        a.sql("UPDATE volunteer SET notes = 'A又改' WHERE id = ?", row)
    with thread_server(city_url) as city:
        assert b.sync(city.url, token)["applied"] == 1
        summary = a.sync(city.url, token)
        assert summary["rejected"] == 0, summary
        fields = conflict_fields(city.db)
        assert fields["name"]["incoming"] == "A改名", fields  # A's lost edit, for the city to decide
        server = server_rows(city.db)[("volunteer", row)]
        assert server["mobile"] == "13900000009"
    return fields, server


@pytest.mark.parametrize("how", ["nothing waiting", "an edit waiting"])
def test_sync_bases_from_before_stamps_take_the_servers_and_a_later_restore_is_still_told_apart(
        city_url: str, tmp_path: Path, how: str) -> None:
    """Device A's last sync was made before stamps were kept with the sync bases (migration 0020): its bases have
    none. Its next sync gives each the server's stamp where the server holds that very version, once; so that when
    the city's database is later put back from an older backup and device B edits the row, A's synced edit still
    goes to the city as a conflict (without a stamp A took B's row for its own history and lost its edit)."""
    token, a, b, row, saved = backed_up_then_renamed_by_a(city_url, tmp_path)
    with thread_server(city_url) as city:
        assert a.sync(city.url, token)["applied"] == 1
        # As a store synced before the upgrade keeps its bases: no stamp, and the fill not yet done.
        a.sql("UPDATE sync_base SET stamp = ''")
        a.sql("DELETE FROM sync_checkpoint WHERE key = 'stamps_filled'")
        bases = a.query("SELECT COUNT(*) FROM sync_base WHERE version > 0")[0][0]
        filled = a.sync(city.url, token)
        assert filled["digest"] == "match" and filled["stamps_filled"] == bases > 15, filled
        stamps = dict(a.query("SELECT row_id, stamp FROM sync_base WHERE tbl = 'volunteer'"))
        with city.db.engine.connect() as connection:
            server_stamps = dict(connection.execute(sa.text(
                "SELECT id, updated_hlc FROM volunteer WHERE county_code = :c"), {"c": COUNTY}).all())
        assert stamps == server_stamps
        assert a.sync(city.url, token)["stamps_filled"] == 0  # once: the next sync is a no-op again
        assert a.query("SELECT value FROM sync_checkpoint WHERE key = 'stamps_filled'") == [("1",)]
    restored_then_edited_by_b(city_url, saved, token, a, b, row, how)


def test_a_store_with_every_base_stamped_asks_nothing_more(city_url: str, tmp_path: Path) -> None:
    """A store made since stamps were kept: its first sync finds no base without one (before its push, while it has
    no bases at all) and never asks the server for stamps."""
    clerk = Clerk(tmp_path / "county").setup(volunteers=5)
    with thread_server(city_url) as city:
        token = city.token(COUNTY)
        first = clerk.sync(city.url, token)
        assert first["stamps_filled"] == 0 and first["digest"] == "match"
        assert clerk.query("SELECT COUNT(*) FROM sync_base WHERE stamp = '' AND version > 0") == [(0,)]
        assert clerk.query("SELECT value FROM sync_checkpoint WHERE key = 'stamps_filled'") == [("1",)]


def test_the_rediff_sends_stamps_only_when_asked(city_url: str, tmp_path: Path) -> None:
    """A client from before stamps on the re-diff reads its page with ``extra="forbid"``: the key goes only to one
    that asks for it."""
    import httpx

    from sync.protocol import API_PREFIX

    clerk = Clerk(tmp_path / "county").setup(volunteers=5)
    with thread_server(city_url) as city:
        token = city.token(COUNTY)
        clerk.sync(city.url, token)
        with httpx.Client(base_url=city.url + API_PREFIX, headers={"Authorization": f"Bearer {token}"}) as client:
            plain = client.get("/sync/rediff", params={"table": "volunteer"}).json()
            asked = client.get("/sync/rediff", params={"table": "volunteer", "stamps": "true"}).json()
    assert set(plain) == {"table", "rows", "hashes", "next_after"} and len(plain["rows"]) == 5
    assert asked["stamps"] and len(asked["stamps"]) == len(asked["rows"]) == 5
    assert {key: value for key, value in asked.items() if key != "stamps"} == plain


def test_a_server_that_sends_no_stamps_leaves_the_quiet_syncs_and_is_asked_again_the_next_day(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A city server from before the re-diff's stamps (here: one that leaves them out) cannot fill the bases: the store
    notes the day it asked, its no-op syncs stay one request each, and the next day's sync asks again."""
    from datetime import date, timedelta

    import sync.partition
    import sync.server
    from sync.protocol import API_PREFIX
    from sync.replica import STAMPS_FILLED, STAMPS_TRIED

    with thread_server(f"sqlite:///{tmp_path / 'city.sqlite'}") as city:
        clerk, token = a_store_synced_before_stamps(city.url, city.token(COUNTY), tmp_path)
        older = sync.partition.rediff_page
        monkeypatch.setattr(sync.server, "rediff_page", lambda *arguments: older(*arguments[:5]))
        assert clerk.sync(city.url, token)["stamps_filled"] == 0
        today = STAMPS_TRIED + date.today().isoformat()
        assert clerk.query("SELECT value FROM sync_checkpoint WHERE key = ?", STAMPS_FILLED) == [(today,)]
        assert requests_of_a_sync(clerk, city.url, token) == [f"{API_PREFIX}/sync/hello"]  # a quiet no-op
        monkeypatch.setattr(sync.server, "rediff_page", older)  # the server upgraded
        yesterday = STAMPS_TRIED + (date.today() - timedelta(days=1)).isoformat()
        clerk.sql("UPDATE sync_checkpoint SET value = ? WHERE key = ?", yesterday, STAMPS_FILLED)
        clerk.sql("UPDATE volunteer SET notes = '次日' WHERE id = (SELECT MIN(id) FROM volunteer)")  # a whole sync
        assert clerk.sync(city.url, token)["stamps_filled"] > 5
        assert clerk.query("SELECT value FROM sync_checkpoint WHERE key = ?", STAMPS_FILLED) == [("1",)]
        assert clerk.query("SELECT COUNT(*) FROM sync_base WHERE stamp = '' AND version > 0") == [(0,)]


def requests_of_a_sync(clerk: Clerk, url: str, token: str) -> list[str]:
    """The paths a sync of the clerk's store asks the server for, in order."""
    from schema.store import open_store
    from sync.client import SyncClient

    store, sent = open_store(clerk.store_file, daily_backup=False), []
    try:
        with SyncClient(store, url, token) as client:
            client.http.event_hooks["request"].append(lambda request: sent.append(request.url.path))
            client.run()
    finally:
        store.close()
    return sent


def test_a_server_failing_the_stamps_leaves_the_sync_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamps' fill is a sync's extra: the server failing it (here its re-diff answering 500 when stamps are
    asked) leaves the sync done, the day noted, and the no-op syncs after it one request each."""
    from datetime import date

    import sync.partition
    import sync.server
    from sync.protocol import API_PREFIX
    from sync.replica import STAMPS_FILLED, STAMPS_TRIED

    with thread_server(f"sqlite:///{tmp_path / 'city.sqlite'}") as city:
        clerk, token = a_store_synced_before_stamps(city.url, city.token(COUNTY), tmp_path)
        clerk.sql("UPDATE volunteer SET notes = '改' WHERE id = (SELECT MIN(id) FROM volunteer)")
        older = sync.partition.rediff_page

        def failing(*arguments: Any) -> Any:
            if arguments[5:6] == (True,):
                raise RuntimeError("the re-diff's stamps fail")
            return older(*arguments)
        monkeypatch.setattr(sync.server, "rediff_page", failing)
        summary = clerk.sync(city.url, token)
        assert summary["applied"] == 1 and summary["digest"] == "match" and summary["stamps_filled"] == 0, summary
        assert clerk.query("SELECT value FROM sync_checkpoint WHERE key = ?", STAMPS_FILLED) == [
            (STAMPS_TRIED + date.today().isoformat(),)]
        assert requests_of_a_sync(clerk, city.url, token) == [f"{API_PREFIX}/sync/hello"]


def a_store_synced_before_stamps(url: str, token: str, tmp_path: Path) -> tuple[Clerk, str]:
    """A store of 5 volunteers synced, then its sync bases' stamps and the fill's checkpoint taken away, as a store
    synced before migration 0020 has them: the store and its token."""
    from sync.replica import STAMPS_FILLED

    clerk = Clerk(tmp_path / "county").setup(volunteers=5)
    clerk.sync(url, token)
    clerk.sql("UPDATE sync_base SET stamp = ''")
    clerk.sql("DELETE FROM sync_checkpoint WHERE key = ?", STAMPS_FILLED)
    return clerk, token
