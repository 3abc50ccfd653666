"""Signed bundles, tried as an attacker would: a bundle edited with its checksum recomputed, a header moved to
another county, a record of another county under a good signature, an unknown or revoked signer, a forged
return bundle. Each is refused saying which check failed, and neither database changes. The city's database
on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from city_server import DATABASES, database_url
from sync_fixtures import (
    StoreFactory,
    add_volunteer,
    local_record,
    resident_id,
    server_record,
    sync,
    thread_server,
    wire,
)

from schema.identity import new_signing_key
from schema.models import new_id
from schema.store import Store
from sync.auth import issue_token
from sync.bundle import (
    RETURN,
    Bundle,
    BundleRefused,
    apply_return_bundle,
    export_push_bundle,
    import_push_bundle,
    read_bundle,
    write_bundle,
)
from sync.keys import enrol_node, read_enrolment, revoke_node, revoke_token, trust_city, write_enrolment
from sync.serverdb import ServerDB, open_server_db

A, B = "410522", "410523"


@pytest.fixture(params=DATABASES)
def city_db(request, tmp_path) -> Iterator[ServerDB]:
    db = open_server_db(database_url(request, tmp_path / "city"))
    yield db
    db.close()


@pytest.fixture
def stores(tmp_path) -> StoreFactory:
    return StoreFactory(tmp_path / "stores")


def enrol(store: Store, db: ServerDB, folder: Path) -> None:
    """The offline enrolment: the county's file imported at the city, the city's key trusted by the county."""
    path = folder / f"{store.node_id}.enrol.json"
    write_enrolment(store, path)
    enrol_node(db, read_enrolment(path))
    trust_city(store, db.server_id, db.city_key.public_key)


def server_state(db: ServerDB) -> tuple[Any, ...]:
    with db.read() as connection:
        return tuple(connection.execute(sa.text(
            "SELECT (SELECT COUNT(*) FROM server_change), (SELECT COUNT(*) FROM sync_batch), "
            "(SELECT COUNT(*) FROM volunteer), (SELECT COUNT(*) FROM sync_receipt)")).one())


def store_state(store: Store) -> tuple[Any, ...]:
    with store.engine.connect() as connection:
        return tuple(connection.execute(sa.text(
            "SELECT (SELECT COUNT(*) FROM volunteer), (SELECT COUNT(*) FROM change_log), "
            "(SELECT group_concat(key || '=' || value) FROM (SELECT * FROM sync_checkpoint ORDER BY key)), "
            "(SELECT group_concat(id || ':' || version || ':' || sync_state) FROM volunteer)")).one())


def split(path: Path) -> tuple[dict[str, Any], bytes]:
    head, _, body = path.read_bytes().partition(b"\n")
    return json.loads(head), body


def rewrite(path: Path, target: Path, header: dict[str, Any], body: bytes) -> Path:
    """Write ``header`` and ``body`` with the checksum and size recomputed, as an attacker would."""
    header = header | {"body_bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    target.write_bytes(json.dumps(header, ensure_ascii=False).encode() + b"\n" + body)
    return target


def refused(db: ServerDB, path: Path, check: str) -> BundleRefused:
    before = server_state(db)
    with pytest.raises(BundleRefused) as caught:
        import_push_bundle(db, read_bundle(path))
    assert caught.value.check == check, str(caught.value)
    assert server_state(db) == before
    return caught.value


def test_a_bundle_edited_with_its_checksum_recomputed_is_refused(city_db, stores, tmp_path) -> None:
    county = stores.make(A)
    enrol(county, city_db, tmp_path)
    add_volunteer(county, work_unit="县医院")
    export_push_bundle(county, tmp_path / "up.stvsb")
    header, body = split(tmp_path / "up.stvsb")
    edited = body.replace("县医院".encode(), "市医院".encode())
    assert edited != body
    refused(city_db, rewrite(tmp_path / "up.stvsb", tmp_path / "edited.stvsb", header, edited), "signature")
    # Each header field changed in turn, checksum recomputed: the signature covers all of them.
    for name, value in [("created_at", "2026-01-01T00:00:00"), ("county_code", B), ("node_id", "n" * 36),
                        ("signer", "n" * 36)]:
        changed = rewrite(tmp_path / "up.stvsb", tmp_path / f"{name}.stvsb", header | {name: value}, body)
        with pytest.raises(BundleRefused):
            import_push_bundle(city_db, read_bundle(changed))
    # Byte by byte through one record's name: every single edit is caught.
    start = body.index("县医院".encode())
    before = server_state(city_db)
    for offset in range(start, start + 9, 3):
        one = bytearray(body)
        one[offset:offset + 3] = "乡".encode()
        with pytest.raises(BundleRefused, match="signature"):
            import_push_bundle(city_db, read_bundle(rewrite(tmp_path / "up.stvsb", tmp_path / "one.stvsb", header,
                                                            bytes(one))))
    assert server_state(city_db) == before
    # The untouched bundle still goes in.
    assert import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb")).summary.applied == 1


def test_a_header_moved_to_another_county_is_refused(city_db, stores, tmp_path) -> None:
    mine, theirs = stores.make(A), stores.make(B)
    enrol(mine, city_db, tmp_path)
    enrol(theirs, city_db, tmp_path)
    their_row = add_volunteer(theirs)
    export_push_bundle(theirs, tmp_path / "theirs.stvsb")
    import_push_bundle(city_db, read_bundle(tmp_path / "theirs.stvsb"))
    add_volunteer(mine)
    export_push_bundle(mine, tmp_path / "up.stvsb")
    header, body = split(tmp_path / "up.stvsb")
    # The attack of issue 16: county and node id changed to the other county's, checksum recomputed.
    moved = rewrite(tmp_path / "up.stvsb", tmp_path / "moved.stvsb",
                    header | {"county_code": B, "node_id": theirs.node_id, "signer": theirs.node_id},
                    body.replace(mine.node_id.encode(), theirs.node_id.encode()))
    error = refused(city_db, moved, "signature")
    assert theirs.node_id in str(error)
    # Only the county changed: the signature fails too.
    refused(city_db, rewrite(tmp_path / "up.stvsb", tmp_path / "county.stvsb", header | {"county_code": B}, body),
            "signature")
    assert server_record(city_db, "volunteer", their_row)["county_code"] == B


def test_a_signed_bundle_carrying_another_countys_record_is_refused(city_db, stores, tmp_path) -> None:
    mine, theirs = stores.make(A), stores.make(B)
    enrol(mine, city_db, tmp_path)
    enrol(theirs, city_db, tmp_path)
    their_row = add_volunteer(theirs, work_unit="内黄县医院")
    export_push_bundle(theirs, tmp_path / "theirs.stvsb")
    import_push_bundle(city_db, read_bundle(tmp_path / "theirs.stvsb"))
    # A record written for county B straight into A's store (sqlite3 shell, its county check dropped first: the
    # store refuses such a row, migration 0007), then a well-signed bundle.
    with sqlite3.connect(mine.path) as shell:
        shell.execute("DROP TRIGGER trg_volunteer_own_county_insert")
    add_volunteer(mine, county_code=B)
    export_push_bundle(mine, tmp_path / "foreign.stvsb")
    error = refused(city_db, tmp_path / "foreign.stvsb", "signer_county")
    assert B in str(error)
    # A's store holding B's existing row under A's county (its id copied): the city's row says B.
    fresh = stores.make(A)
    enrol(fresh, city_db, tmp_path)
    with theirs.engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT * FROM volunteer WHERE id = ?", (their_row,)).mappings().one()
    copy = dict(row) | {"county_code": A, "work_unit": "改过的单位", "version": 0, "sync_state": "local"}
    with fresh.engine.begin() as connection:
        connection.exec_driver_sql(f"INSERT INTO volunteer ({', '.join(copy)}) VALUES ({', '.join('?' * len(copy))})",
                                   tuple(copy.values()))
    export_push_bundle(fresh, tmp_path / "stolen.stvsb")
    error = refused(city_db, tmp_path / "stolen.stvsb", "signer_county")
    assert their_row in str(error)
    assert server_record(city_db, "volunteer", their_row)["work_unit"] == "内黄县医院"


def test_an_unknown_or_revoked_signer_is_refused(city_db, stores, tmp_path) -> None:
    county = stores.make(A)
    add_volunteer(county)
    export_push_bundle(county, tmp_path / "up.stvsb")
    refused(city_db, tmp_path / "up.stvsb", "unknown_signer")
    enrol(county, city_db, tmp_path)
    revoke_node(city_db, county.node_id, "笔记本丢失")
    error = refused(city_db, tmp_path / "up.stvsb", "revoked_signer")
    assert "笔记本丢失" in str(error)
    # A bundle signed by a key of the attacker's own, under an enrolled node's id.
    other = stores.make(A)
    enrol(other, city_db, tmp_path)
    add_volunteer(other)
    export_push_bundle(other, tmp_path / "other.stvsb")
    header, body = split(tmp_path / "other.stvsb")
    forger = new_signing_key(other.node_id)
    header = {k: v for k, v in header.items() if k != "signature"}
    forged = Bundle(header["kind"], header["node_id"], header["county_code"], json.loads(body), header["created_at"])
    write_bundle(forged, tmp_path / "forged.stvsb", forger)
    refused(city_db, tmp_path / "forged.stvsb", "signature")


def test_revoking_a_token_revokes_the_key_registered_online(city_db, stores, tmp_path) -> None:
    county = stores.make(A)
    token = issue_token(city_db.engine, A)
    with thread_server(city_db.store.engine.url.render_as_string(hide_password=False)) as server:
        add_volunteer(county)
        assert sync(county, server, token).applied == 1  # the hello registered the key
    add_volunteer(county)
    export_push_bundle(county, tmp_path / "up.stvsb")
    assert import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb")).summary.applied == 1
    with city_db.read() as connection:
        token_id = connection.execute(sa.text("SELECT token_id FROM node_key WHERE node_id = :n"),
                                      {"n": county.node_id}).scalar_one()
    assert revoke_token(city_db, token_id, "设备丢失") == [county.node_id]
    add_volunteer(county)
    export_push_bundle(county, tmp_path / "later.stvsb")
    refused(city_db, tmp_path / "later.stvsb", "revoked_signer")


def test_a_forged_return_bundle_is_refused_and_the_store_unchanged(city_db, stores, tmp_path) -> None:
    county = stores.make(A)
    enrol(county, city_db, tmp_path)
    mine = add_volunteer(county)
    export_push_bundle(county, tmp_path / "up.stvsb")
    result = import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb"))
    write_bundle(result.return_bundle, tmp_path / "back.stvsb", city_db.city_key)
    genuine = read_bundle(tmp_path / "back.stvsb")
    # The attack of issue 16: a whole, valid volunteer injected into the return bundle, signed by a key of the
    # attacker's (the next online sync would have uploaded it as this county's).
    fake_id = new_id()
    record = wire("volunteer", server_record(city_db, "volunteer", mine)) | {
        "id": fake_id, "name": "冒名者", "id_number": resident_id(A, 999), "mobile": "13900000999"}
    injected = {"seq": 10**9, "table": "volunteer", "id": fake_id, "version": 1, "record": record}
    body = genuine.body | {"pull": genuine.body["pull"] | {"changes": [*genuine.body["pull"]["changes"], injected]}}
    forged = Bundle(RETURN, county.node_id, A, body, signer=f"city:{city_db.server_id}")
    write_bundle(forged, tmp_path / "forged.stvsb", new_signing_key(f"city:{city_db.server_id}"))
    before = store_state(county)
    with pytest.raises(BundleRefused) as caught:
        apply_return_bundle(county, read_bundle(tmp_path / "forged.stvsb"))
    assert caught.value.check == "signature" and "not signed by this store's city" in str(caught.value)
    # The genuine one, edited with its checksum recomputed, is refused the same way.
    header, raw = split(tmp_path / "back.stvsb")
    edited = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    with pytest.raises(BundleRefused, match="signature"):
        apply_return_bundle(county, read_bundle(rewrite(tmp_path / "back.stvsb", tmp_path / "e.stvsb", header, edited)))
    assert store_state(county) == before
    assert local_record(county, "volunteer", injected["id"]) is None
    apply_return_bundle(county, genuine)
    assert county.pending_change_count() == 0


def test_a_city_signed_return_bundle_with_another_countys_record_is_refused(city_db, stores, tmp_path) -> None:
    county = stores.make(A)
    enrol(county, city_db, tmp_path)
    add_volunteer(county)
    export_push_bundle(county, tmp_path / "up.stvsb")
    result = import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb"))
    foreign = {"seq": 10**9, "table": "volunteer", "id": "01900000-0000-7000-8000-00000000beef", "version": 1,
               "record": {"id": "01900000-0000-7000-8000-00000000beef", "county_code": B, "name": "别县的人"}}
    bundle = result.return_bundle
    bundle.body["pull"]["changes"].append(foreign)
    write_bundle(bundle, tmp_path / "back.stvsb", city_db.city_key)
    before = store_state(county)
    with pytest.raises(BundleRefused) as caught:
        apply_return_bundle(county, read_bundle(tmp_path / "back.stvsb"))
    assert caught.value.check == "store_county" and B in str(caught.value)
    assert store_state(county) == before


def test_a_return_bundle_is_refused_until_the_city_key_is_known(city_db, stores, tmp_path) -> None:
    county = stores.make(A)
    path = tmp_path / "enrol.json"
    write_enrolment(county, path)
    enrol_node(city_db, read_enrolment(path))
    add_volunteer(county)
    export_push_bundle(county, tmp_path / "up.stvsb")
    result = import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb"))
    write_bundle(result.return_bundle, tmp_path / "back.stvsb", city_db.city_key)
    before = store_state(county)
    with pytest.raises(BundleRefused, match="trust-city") as caught:
        apply_return_bundle(county, read_bundle(tmp_path / "back.stvsb"))
    assert caught.value.check == "unknown_signer"
    assert store_state(county) == before
