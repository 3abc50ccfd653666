"""The digest compares content (issue 10, item 9): a row whose content differs between a county store and the
server while the versions agree (a hand edit of either database) is seen by the digest, and the re-diff gives
the county the server's value, never over an edit waiting to be pushed. On SQLite and PostgreSQL servers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from city_server import DATABASES, database_url
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    local_record,
    resident_id,
    server_record,
    sync,
    thread_server,
    update_row,
)

from schema.models import Activity, Team
from schema.store import Store
from stvs_tui.demo import generate, store_demo
from sync.partition import PARTITION, _rebuilt, county_digest
from sync.records import table_of
from sync.replica import Replica

COUNTY = "410522"
NINE_AM = datetime(2026, 12, 1, 9, 0)


@pytest.fixture(params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    with thread_server(database_url(request, tmp_path / "city")) as running:
        yield running


def add_activity(store: Store) -> str:
    with store.session() as session:
        team = Team(county_code=COUNTY, name="白璧镇科技志愿服务队")
        session.add(team)
        session.flush()
        activity = Activity(county_code=COUNTY, title="冬小麦管理培训", team_id=team.id,
                            starts_at=NINE_AM, ends_at=datetime(2026, 12, 1, 17, 0))
        session.add(activity)
        session.commit()
        return activity.id


def edit_server(server: ThreadServer, statement: str, **params: object) -> None:
    """Plain SQL on the city's database, behind the sync engine's back (the version stays)."""
    with server.db.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def edit_behind_the_log(store: Store, statement: str, *params: object) -> None:
    """The clerk at the sqlite3 prompt, with the sync guard set so the change log does not see the edit."""
    connection = sqlite3.connect(store.path)
    with connection:
        connection.execute("UPDATE sync_guard SET active = 1")
        connection.execute(statement, params)
        connection.execute("UPDATE sync_guard SET active = 0")
    connection.close()


def assert_digests_are_of_the_rows(server: ThreadServer, store: Store) -> None:
    """The kept digests are what a rebuild from the rows gives, and the county's equals the server's."""
    with server.db.engine.begin() as connection:
        kept = connection.execute(sa.select(PARTITION.c.row_count, PARTITION.c.digest)
                                  .where(PARTITION.c.county_code == COUNTY)).one()
        assert tuple(kept) == _rebuilt(connection, COUNTY)
    assert Replica(store).digest() == tuple(kept)


def test_the_kept_digests_are_the_digests_of_the_rows_content(server: ThreadServer, stores: StoreFactory) -> None:
    token = server.token(COUNTY)
    store = stores.make(COUNTY)
    store_demo(store, generate(COUNTY, "安阳县", 12, 5, date(2026, 3, 1)))  # every table, every kind of column
    assert sync(store, server, token).digest == "match"
    assert_digests_are_of_the_rows(server, store)
    activity_id = add_activity(store)
    update_row(store, "activity", activity_id, title="冬小麦春季管理培训")
    assert sync(store, server, token).digest == "match"
    assert_digests_are_of_the_rows(server, store)


def test_a_hand_edit_of_the_server_is_seen_by_the_digest_and_the_county_gets_the_servers_value(
        server: ThreadServer, stores: StoreFactory) -> None:
    token = server.token(COUNTY)
    store, other = stores.make(COUNTY), stores.make(COUNTY)
    activity_id = add_activity(store)
    sync(store, server, token)
    sync(other, server, token)
    version = server_record(server.db, "activity", activity_id)["version"]  # type: ignore[index]
    before = county_digest(server.db, COUNTY)
    # The same instant in another form (SQLite keeps the text as typed; PostgreSQL's column drops the offset
    # of a value in the stored zone): the content is the same, so is the digest.
    same = "2026-12-01T01:00:00Z" if server.db.engine.dialect.name == "sqlite" else "2026-12-01 09:00:00+08"
    edit_server(server, "UPDATE activity SET starts_at = :v WHERE id = :id", v=same, id=activity_id)
    assert county_digest(server.db, COUNTY) == before
    assert sync(store, server, token).digest == "match"
    # Another value at the same version: the digest disagrees, and the re-diff takes the server's row.
    edit_server(server, "UPDATE activity SET starts_at = :v WHERE id = :id", v="2026-12-01 10:30:00", id=activity_id)
    assert county_digest(server.db, COUNTY).digest != before.digest
    for device in (store, other):
        summary = sync(device, server, token)
        assert (summary.digest, summary.repaired) == ("repaired", 1)
        assert local_record(device, "activity", activity_id)["starts_at"] == datetime(2026, 12, 1, 10, 30)  # type: ignore[index]
        assert local_record(device, "activity", activity_id)["version"] == version  # type: ignore[index]
        assert sync(device, server, token).digest == "match"
        assert_digests_are_of_the_rows(server, device)


def test_a_county_edit_behind_the_change_log_is_seen_by_the_digest_and_repaired(
        server: ThreadServer, stores: StoreFactory) -> None:
    token = server.token(COUNTY)
    store = stores.make(COUNTY)
    activity_id = add_activity(store)
    sync(store, server, token)
    edit_behind_the_log(store, "UPDATE activity SET title = '改过的标题', starts_at = '2026-12-02 08:00:00.000000' "
                               "WHERE id = ?", activity_id)
    assert store.pending_change_count() == 0  # the change log did not see it
    before = Replica(store).checkpoint("digest")
    assert Replica(store).digest()[1] != before  # the digest did
    summary = sync(store, server, token)
    assert (summary.digest, summary.repaired, summary.applied) == ("repaired", 1, 0)
    row = local_record(store, "activity", activity_id)
    assert (row["title"], row["starts_at"]) == ("冬小麦管理培训", NINE_AM)  # type: ignore[index]
    assert server_record(server.db, "activity", activity_id)["title"] == "冬小麦管理培训"  # type: ignore[index]
    assert sync(store, server, token).digest == "match"
    assert_digests_are_of_the_rows(server, store)


def test_a_pending_edit_is_never_lost_to_a_content_repair(server: ThreadServer, stores: StoreFactory) -> None:
    token = server.token(COUNTY)
    store = stores.make(COUNTY)
    activity_id = add_activity(store)
    sync(store, server, token)
    edit_server(server, "UPDATE activity SET starts_at = :v WHERE id = :id", v="2026-12-01 10:30:00", id=activity_id)
    update_row(store, "activity", activity_id, title="冬小麦春季管理培训")  # the clerk's edit, waiting to go
    summary = sync(store, server, token)
    # The push is applied on the hand-edited row; its answer does not carry the row (the server cannot know
    # this store's base differs), so the digest disagrees once and the re-diff brings the hand-edited field.
    assert (summary.applied, summary.digest) == (1, "repaired")
    assert sync(store, server, token).digest == "match"
    for row in (local_record(store, "activity", activity_id), server_record(server.db, "activity", activity_id)):
        assert (row["title"], row["starts_at"]) == ("冬小麦春季管理培训", datetime(2026, 12, 1, 10, 30))  # type: ignore[index]
    assert_digests_are_of_the_rows(server, store)


def test_rows_inserted_or_deleted_by_hand_on_the_server_are_seen_and_every_device_converges(
        server: ThreadServer, stores: StoreFactory) -> None:
    """A row INSERTed on the city's database by hand (say, one copied from another record) reaches every
    device of the county at its next sync; a row DELETEd there by hand is sent back by the county (the
    device still holds it), so nothing the county entered is lost. Before either sync, the digest disagrees."""
    token = server.token(COUNTY)
    store, other = stores.make(COUNTY), stores.make(COUNTY)
    kept, doomed = add_volunteer(store), add_volunteer(store)
    sync(store, server, token)
    sync(other, server, token)
    before = county_digest(server.db, COUNTY)
    volunteer = table_of("volunteer")
    copied = dict(server_record(server.db, "volunteer", kept))  # type: ignore[arg-type]
    copied |= {"id": "0190c0de-0000-7000-8000-000000000001", "name": "手工录入", "id_number": resident_id(COUNTY, 999)}
    with server.db.engine.begin() as connection:  # by hand: outside the sync engine's transactions
        connection.execute(sa.insert(volunteer), copied)
    inserted = county_digest(server.db, COUNTY)
    assert (inserted.row_count, inserted.digest != before.digest) == (before.row_count + 1, True)
    for device in (store, other):
        summary = sync(device, server, token)
        assert (summary.digest, summary.repaired) == ("repaired", 1)
        assert local_record(device, "volunteer", copied["id"])["name"] == "手工录入"  # type: ignore[index]
        assert_digests_are_of_the_rows(server, device)
    with server.db.engine.begin() as connection:
        connection.execute(sa.delete(volunteer).where(volunteer.c.id == doomed))
    assert county_digest(server.db, COUNTY).row_count == before.row_count
    summary = sync(store, server, token)
    assert (summary.digest, summary.requeued) == ("repaired", 1)  # the device had it: it goes back, whole
    assert server_record(server.db, "volunteer", doomed)["name"] == local_record(store, "volunteer", doomed)["name"]  # type: ignore[index]
    for device in (other, store):
        assert sync(device, server, token).digest in ("match", "repaired")
        assert sync(device, server, token).digest == "match"
        assert_digests_are_of_the_rows(server, device)
        assert local_record(device, "volunteer", doomed)["deleted"] is False  # type: ignore[index]


@pytest.mark.parametrize("version", [0, 1, 7])
def test_a_clerks_sqlite3_edit_that_also_sets_the_version_is_captured_and_synced(
        server: ThreadServer, stores: StoreFactory, version: int) -> None:
    """The clerk at the ``sqlite3`` prompt (no sync guard) edits a row and sets its ``version`` column too:
    the change log sees the edit, it goes to the server on the row's real base, and the row ends at the
    server's version on every device."""
    token = server.token(COUNTY)
    store, other = stores.make(COUNTY), stores.make(COUNTY)
    row_id = add_volunteer(store)
    update_row(store, "volunteer", row_id, notes="第二版")
    sync(store, server, token)
    sync(other, server, token)
    connection = sqlite3.connect(store.path)
    with connection:
        connection.execute("UPDATE volunteer SET mobile = '13912345678', version = ? WHERE id = ?", (version, row_id))
    connection.close()
    assert store.pending_change_count() == 1
    summary = sync(store, server, token)
    assert (summary.applied, summary.rejected, summary.conflicts) == (1, 0, 0)
    assert sync(other, server, token).pulled == 1
    on_server = server_record(server.db, "volunteer", row_id)
    assert on_server["mobile"] == "13912345678"  # type: ignore[index]
    for device in (store, other):
        row = local_record(device, "volunteer", row_id)
        assert (row["mobile"], row["version"]) == ("13912345678", on_server["version"])  # type: ignore[index]
        assert sync(device, server, token).digest == "match"
        assert_digests_are_of_the_rows(server, device)
