"""Random schedules of edits, deletes and syncs over devices of one county (hypothesis): they converge on
the server's state, and every edit ends in that state, in the conflict queue, or was knowingly overwritten
by a later edit made on top of it. None is silently lost.

Besides edits (``sqlite3``-style UPDATEs), hard deletes (a plain SQL DELETE) and syncs, the schedules hold
what clerks do to stores (issue 10): copy a store to a new device, restore a device's last backup over its
store (its edits not yet synced are thrown away with it, as the clerk chose), edit a row while a sync of it
is on the way, and export a bundle, then sync online, then have the city import the bundle.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sync_fixtures import (
    StoreFactory,
    ThreadServer,
    add_volunteer,
    delete_row,
    local_record,
    server_record,
    thread_server,
    update_row,
    wire,
)

from schema.store import Store, backup_sqlite, open_store
from sync import conflicts as queue
from sync.bundle import apply_return_bundle, export_push_bundle, import_push_bundle, read_bundle, write_bundle
from sync.client import SyncClient

COUNTY = "410522"
FIELDS = ("mobile", "work_unit", "notes")
NODES = 3
ROWS = 2

MAX_NODES = NODES + 2  # copies add devices
operation = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, MAX_NODES - 1), st.integers(0, ROWS - 1), st.sampled_from(FIELDS)),
    st.tuples(st.just("delete"), st.integers(0, MAX_NODES - 1), st.integers(0, ROWS - 1), st.just("")),
    st.tuples(st.just("sync"), st.integers(0, MAX_NODES - 1), st.just(0), st.just("")),
    st.tuples(st.just("copy"), st.integers(0, MAX_NODES - 1), st.just(0), st.just("")),
    st.tuples(st.just("restore"), st.integers(0, MAX_NODES - 1), st.just(0), st.just("")),
    st.tuples(st.just("busy"), st.integers(0, MAX_NODES - 1), st.integers(0, ROWS - 1), st.sampled_from(FIELDS)),
    st.tuples(st.just("bundle"), st.integers(0, MAX_NODES - 1), st.just(0), st.just("")),
)
_values = itertools.count(10_000_000)


@dataclass
class Edit:
    row_id: str
    field: str
    value: Any
    previous: dict[str, Any] = field(default_factory=dict)
    device: int = 0
    # The device synced after making it, or it was made during a sync: the backup taken at the end of that sync
    # holds it, so a restore of that backup cannot undo it.
    synced: bool = False


class EditWhenSent(httpx.HTTPTransport):
    """The real transport; when a push carrying ``row_id`` goes out, ``edit`` runs first (once)."""

    def __init__(self, row_id: str, edit: Callable[[], None]) -> None:
        super().__init__()
        self.row_id, self.edit, self.done = row_id, edit, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.done and request.url.path.endswith("/sync/push") and self.row_id.encode() in request.read():
            self.done = True
            self.edit()
        return super().handle_request(request)


class Devices:
    """The county's devices: stores, each with the backup taken at its last sync."""

    def __init__(self, factory: StoreFactory, city: ThreadServer, token: str) -> None:
        self.factory, self.city, self.token = factory, city, token
        self.stores: list[Store] = [factory.make(COUNTY) for _ in range(NODES)]
        self.backups: dict[int, Path] = {}
        self.bundles = itertools.count()

    def pick(self, index: int) -> int:
        return index % len(self.stores)

    def sync(self, index: int, transport: httpx.BaseTransport | None = None) -> None:
        store = self.stores[index]
        with SyncClient(store, self.city.url, self.token, retries=2, backoff=0.05, transport=transport) as client:
            client.run()
        assert store.path is not None
        self.backups[index] = backup_sqlite(store.path, store.path.with_name("last-sync-backup.sqlite"))

    def copy(self, index: int) -> None:
        """The store copied to a new device (a new file: it must become a node of its own)."""
        if len(self.stores) >= MAX_NODES:
            return
        source = self.stores[index].path
        assert source is not None
        target = self.factory.folder / f"copy{len(self.stores)}-{next(self.bundles)}" / "stvs.sqlite"
        self.stores.append(open_store(backup_sqlite(source, target), daily_backup=False))

    def restore(self, index: int) -> bool:
        """The backup of the device's last sync copied back over its store file (the same file)."""
        backup = self.backups.get(index)
        store = self.stores[index]
        if backup is None or store.path is None:
            return False
        store.close()
        for suffix in ("-wal", "-shm"):
            store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
        shutil.copyfile(backup, store.path)
        self.stores[index] = open_store(store.path, daily_backup=False)
        return True

    def bundle_then_online(self, index: int) -> None:
        """A bundle exported, then an online sync (re-stamping its changes), then the bundle at the city and
        its return bundle on the device."""
        store = self.stores[index]
        assert store.path is not None
        up = store.path.with_name(f"up{next(self.bundles)}.stvsb")
        export_push_bundle(store, up)
        self.sync(index)
        imported = import_push_bundle(self.city.db, read_bundle(up))
        back = up.with_suffix(".return.stvsb")
        write_bundle(imported.return_bundle, back, self.city.db.city_key)
        apply_return_bundle(store, read_bundle(back))

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    folder = tmp_path_factory.mktemp("city")
    with thread_server(f"sqlite:///{folder}/server.sqlite") as server:
        yield server


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> StoreFactory:
    return StoreFactory(tmp_path_factory.mktemp("stores"))


def new_value(name: str) -> str:
    number = next(_values)
    return f"139{number:08d}" if name == "mobile" else f"{name}-{number}"


def run_schedule(city: ThreadServer, factory: StoreFactory, ops: list[tuple[str, int, int, str]],
                 token: str) -> None:
    devices = Devices(factory, city, token)
    nodes = devices.stores
    rows = [add_volunteer(nodes[0]) for _ in range(ROWS)]
    for index in range(len(nodes)):
        devices.sync(index)
    edits: list[Edit] = []
    for kind, chosen, row, name in ops:
        index = devices.pick(chosen)
        node, row_id = nodes[index], rows[row]
        current = local_record(node, "volunteer", row_id)
        if kind in ("sync", "bundle"):
            for edit in edits:
                edit.synced = edit.synced or edit.device == index
            devices.sync(index) if kind == "sync" else devices.bundle_then_online(index)
        elif kind == "copy":
            devices.copy(index)
        elif kind == "restore":
            if devices.restore(index):  # the clerk threw away what the device had not synced
                edits = [edit for edit in edits if edit.device != index or edit.synced]
        elif current is None:
            continue
        elif kind in ("edit", "busy"):
            edit = Edit(row_id, name, new_value(name), device=index)

            def make(edit: Edit = edit, node: Store = node) -> None:
                """The edit, made on what the row holds at that moment."""
                record = local_record(node, "volunteer", edit.row_id)
                assert record is not None
                edit.previous = {edit.field: record[edit.field]}
                update_row(node, "volunteer", edit.row_id, **{edit.field: edit.value})

            if kind == "edit":
                make()
            else:
                for done in edits:
                    done.synced = done.synced or done.device == index
                transport = EditWhenSent(row_id, make)
                devices.sync(index, transport)
                if not transport.done:  # no push carried the row: the edit comes after the sync
                    if local_record(node, "volunteer", row_id) is None:
                        continue
                    make()
                else:
                    edit.synced = True  # made during the sync: in the backup taken after it
            edits.append(edit)
        else:
            edits.append(Edit(row_id, "deleted", True, {f: current[f] for f in FIELDS}, device=index))
            delete_row(node, "volunteer", row_id)
    for _round in range(3):
        for index in range(len(nodes)):
            devices.sync(index)
    check_converged(city, nodes, rows)
    check_nothing_lost(city, rows, edits)
    assert len({node.node_id for node in nodes}) == len(nodes), "two devices sync as one node"
    devices.close()


def check_converged(city: ThreadServer, nodes: list[Any], rows: list[str]) -> None:
    for row_id in rows:
        server = server_record(city.db, "volunteer", row_id)
        for node in nodes:
            local = local_record(node, "volunteer", row_id)
            if server["deleted"]:
                assert local is None or local["deleted"]
            else:
                assert wire("volunteer", local) == wire("volunteer", server)
                assert local["version"] == server["version"]
            assert node.pending_change_count() == 0


def check_nothing_lost(city: ThreadServer, rows: list[str], edits: list[Edit]) -> None:
    conflicts = [c for c in queue.list_conflicts(city.db, county=COUNTY, status=None, limit=1000)
                 if c.row_id in rows]
    for edit in edits:
        final = server_record(city.db, "volunteer", edit.row_id)
        if final[edit.field] == edit.value:
            continue
        in_queue = any(c.row_id == edit.row_id and edit.field in c.fields and
                       edit.value in (c.fields[edit.field]["incoming"], c.fields[edit.field]["server"])
                       for c in conflicts)
        overwritten = any(other.row_id == edit.row_id and other.previous.get(edit.field) == edit.value
                          for other in edits if other is not edit)
        assert in_queue or overwritten, f"edit lost silently: {edit}"


def test_every_store_operation_in_one_schedule_converges_and_loses_no_edit(city: ThreadServer,
                                                                            factory: StoreFactory) -> None:
    """The fast instance of each operation: a copy that edits and syncs, a busy sync on a row edited elsewhere,
    a bundle then online, a hard delete, a restore over unsynced edits, a restore over synced ones."""
    run_schedule(city, factory, [
        ("edit", 0, 0, "mobile"), ("copy", 0, 0, ""), ("edit", 3, 1, "notes"), ("edit", 1, 0, "mobile"),
        ("sync", 1, 0, ""), ("busy", 0, 0, "mobile"), ("sync", 3, 0, ""), ("edit", 2, 1, "work_unit"),
        ("bundle", 2, 0, ""), ("delete", 1, 1, ""), ("edit", 0, 1, "notes"), ("restore", 0, 0, ""),
        ("edit", 2, 0, "notes"), ("sync", 2, 0, ""), ("restore", 2, 0, ""), ("sync", 1, 0, ""),
    ], city.token(COUNTY))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=12))
def test_random_schedules_over_three_devices_converge_and_lose_no_edit(
        city: ThreadServer, factory: StoreFactory, ops: list[tuple[str, int, int, str]]) -> None:
    note(f"schedule: {ops!r}")  # printed on a failure, to be pinned as a fixed schedule
    run_schedule(city, factory, ops, city.token(COUNTY))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=30))
def test_random_schedules_converge_many_examples(city: ThreadServer, factory: StoreFactory,
                                                 ops: list[tuple[str, int, int, str]]) -> None:
    note(f"schedule: {ops!r}")
    run_schedule(city, factory, ops, city.token(COUNTY))


def test_an_edit_made_during_a_sync_on_a_field_another_device_changed_is_a_conflict(
        city: ThreadServer, factory: StoreFactory) -> None:
    """Found by the slow run: device 1 sets a mobile and syncs; device 0 sends its notes of that row and, while
    that push is on the way, the clerk sets the mobile too (on the value device 0 had, not device 1's). The
    answer carries device 1's mobile; the clerk's mobile must meet it as a conflict, not overwrite it."""
    run_schedule(city, factory, [
        ("edit", 1, 0, "mobile"), ("sync", 1, 0, ""), ("edit", 0, 0, "notes"), ("busy", 0, 0, "mobile"),
    ], city.token(COUNTY))


def test_a_restore_keeps_the_edit_made_during_the_sync_its_backup_ends(city: ThreadServer,
                                                                       factory: StoreFactory) -> None:
    """Found by the slow run (a fault of the test's bookkeeping, not of sync): the backup taken at the end of a
    busy sync holds the edit made during it, so restoring that backup keeps that edit, which then overwrites
    the edit it was made on."""
    run_schedule(city, factory, [("edit", 0, 0, "mobile"), ("busy", 0, 0, "mobile"), ("sync", 2, 0, ""),
                                 ("restore", 0, 0, "")], city.token(COUNTY))
