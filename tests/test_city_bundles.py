"""Offline sync by file between real county stores and a real server database: round trip, the same bundle
twice, truncated and altered bundles refused (and nothing changed), the CLI's exit codes; the city's database
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from city_server import DATABASES, database_url
from click.testing import CliRunner
from sync_fixtures import StoreFactory, add_volunteer, local_record, server_record, update_row

from schema.store import Store
from stvs_tui.cli import main
from sync.bundle import (
    BundleError,
    apply_return_bundle,
    export_push_bundle,
    import_push_bundle,
    read_bundle,
    write_bundle,
)
from sync.city_reporting import set_period_lock
from sync.keys import enrol_node, read_enrolment, trust_city, write_enrolment
from sync.serverdb import ServerDB, open_server_db


@pytest.fixture(params=DATABASES)
def city_db(request, tmp_path) -> Iterator[ServerDB]:
    """The city's database: the embedded SQLite, and PostgreSQL where STVS_TEST_DATABASE_URL names a server."""
    db = open_server_db(database_url(request, tmp_path / "city"))
    yield db
    db.close()


@pytest.fixture
def county(tmp_path, city_db) -> Iterator[Store]:
    """A county store the city knows (enrolled from its file) and that trusts the city's key."""
    store = StoreFactory(tmp_path / "stores").make("410522")
    write_enrolment(store, tmp_path / "enrol.json")
    enrol_node(city_db, read_enrolment(tmp_path / "enrol.json"))
    trust_city(store, city_db.server_id, city_db.city_key.public_key)
    yield store
    store.close()


def server_state(db: ServerDB) -> tuple[int, int, int]:
    with db.read() as connection:
        return tuple(connection.execute(sa.text(  # type: ignore[return-value]
            "SELECT (SELECT COUNT(*) FROM server_change), (SELECT COUNT(*) FROM sync_batch), "
            "(SELECT COUNT(*) FROM volunteer)")).one())


def test_bundle_round_trip_brings_the_city_changes_back(county, city_db, tmp_path) -> None:
    ids = [add_volunteer(county) for _ in range(3)]
    update_row(county, "volunteer", ids[0], work_unit="安阳县人民医院")
    assert export_push_bundle(county, tmp_path / "up.stvsb") == 3
    result = import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb"))
    assert result.summary.applied == 3 and result.summary.rejected == 0
    assert server_record(city_db, "volunteer", ids[0])["work_unit"] == "安阳县人民医院"
    # The city reopens January for this county meanwhile; the return bundle carries that too.
    lock_id = set_period_lock(city_db, "410522", "2026-01", date(2026, 3, 31), "更正一月月报", "admin:市科协")
    again = import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb"))
    write_bundle(again.return_bundle, tmp_path / "back.stvsb", city_db.city_key)
    summary = apply_return_bundle(county, read_bundle(tmp_path / "back.stvsb"))
    assert county.pending_change_count() == 0
    assert local_record(county, "volunteer", ids[0])["version"] == 1
    assert local_record(county, "volunteer", ids[0])["sync_state"] == "synced"
    assert local_record(county, "reporting_deadline", lock_id)["note"] == "更正一月月报"
    assert summary.pulled == 1
    # Applying the same return bundle again changes nothing.
    apply_return_bundle(county, read_bundle(tmp_path / "back.stvsb"))
    assert county.pending_change_count() == 0


def test_the_same_bundle_imported_twice_changes_nothing(county, city_db, tmp_path) -> None:
    for _ in range(2):
        add_volunteer(county)
    export_push_bundle(county, tmp_path / "up.stvsb")
    import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb"))
    before = server_state(city_db)
    second = import_push_bundle(city_db, read_bundle(tmp_path / "up.stvsb"))
    assert server_state(city_db) == before
    assert second.summary.applied == 2  # the stored answers, given again: nothing new was written


def test_a_truncated_bundle_is_refused_and_changes_nothing(county, city_db, tmp_path) -> None:
    add_volunteer(county)
    export_push_bundle(county, tmp_path / "up.stvsb")
    data = (tmp_path / "up.stvsb").read_bytes()
    (tmp_path / "cut.stvsb").write_bytes(data[: len(data) - 40])
    before = server_state(city_db)
    with pytest.raises(BundleError, match="truncated"):
        import_push_bundle(city_db, read_bundle(tmp_path / "cut.stvsb"))
    assert server_state(city_db) == before


def test_an_altered_bundle_is_refused_and_changes_nothing(county, city_db, tmp_path) -> None:
    add_volunteer(county, work_unit="县医院")
    export_push_bundle(county, tmp_path / "up.stvsb")
    data = (tmp_path / "up.stvsb").read_bytes()
    (tmp_path / "bad.stvsb").write_bytes(data.replace("县医院".encode(), "市医院".encode()))
    before = server_state(city_db)
    with pytest.raises(BundleError, match="checksum"):
        read_bundle(tmp_path / "bad.stvsb")
    assert server_state(city_db) == before


def test_bundle_cli_exits_1_with_one_line_on_a_damaged_file(tmp_path) -> None:
    store = StoreFactory(tmp_path / "stores").make("410522")
    add_volunteer(store)
    data_dir = store.path.parent
    store.close()
    runner = CliRunner()
    county_cli = ["--data-dir", str(data_dir)]
    city_cli = ["--data-dir", str(tmp_path / "citydata")]
    exported = runner.invoke(main, [*county_cli, "bundle", "export", str(tmp_path / "up.stvsb")])
    assert exported.exit_code == 0, exported.output
    raw = (tmp_path / "up.stvsb").read_bytes()
    (tmp_path / "cut.stvsb").write_bytes(raw[:-10])
    refused = runner.invoke(main, [*city_cli, "bundle", "import", str(tmp_path / "cut.stvsb")])
    assert refused.exit_code == 1 and "truncated" in refused.output and len(refused.output.strip().splitlines()) == 1
    unknown = runner.invoke(main, [*city_cli, "bundle", "import", str(tmp_path / "up.stvsb")])
    assert unknown.exit_code == 1 and "unknown_signer" in unknown.output, unknown.output
    # The enrolment by file: the county writes it, the city imports it and gives its key back.
    enrolled = runner.invoke(main, [*county_cli, "bundle", "enrol", "-o", str(tmp_path / "enrol.json")])
    assert enrolled.exit_code == 0, enrolled.output
    registered = runner.invoke(main, [*city_cli, "node", "enrol", str(tmp_path / "enrol.json")])
    assert registered.exit_code == 0, registered.output
    fingerprint = enrolled.stdout.split("fingerprint ")[1].strip()
    assert fingerprint in registered.stdout  # what the two clerks compare by phone
    city_key = runner.invoke(main, [*city_cli, "node", "city-key", "-o", str(tmp_path / "city-key.json")])
    assert city_key.exit_code == 0, city_key.output
    imported = runner.invoke(main, [*city_cli, "bundle", "import", str(tmp_path / "up.stvsb"), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["applied"] == 1
    untrusted = runner.invoke(main, [*county_cli, "bundle", "import", str(tmp_path / "up.return.stvsb")])
    assert untrusted.exit_code == 1 and "trust-city" in untrusted.output, untrusted.output
    trusted = runner.invoke(main, [*county_cli, "bundle", "trust-city", str(tmp_path / "city-key.json")])
    assert trusted.exit_code == 0, trusted.output
    back = runner.invoke(main, [*county_cli, "bundle", "import", str(tmp_path / "up.return.stvsb")])
    assert back.exit_code == 0, back.output


def test_bundle_import_names_the_cross_county_duplicates_it_revealed(county, city_db, tmp_path) -> None:
    from sqlmodel import Session

    from schema.models import Volunteer
    from schema.validators import mask_id_number

    row_id = add_volunteer(county, name="王强")
    id_number = local_record(county, "volunteer", row_id)["id_number"]
    with Session(city_db.engine) as session:  # 汤阴县 registered the same person earlier
        session.add(Volunteer(county_code="410523", name="王强", id_number=id_number, mobile="13700000000",
                              version=1))
        session.commit()
    export_push_bundle(county, tmp_path / "up.stvsb")
    url = city_db.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    city_cli = ["--data-dir", str(tmp_path / "citydata"), "bundle", "import", str(tmp_path / "up.stvsb"),
                "--database-url", url]
    said = runner.invoke(main, city_cli)
    assert said.exit_code == 0, said.output
    assert "新发现跨县重复人员 1 人" in said.stdout
    assert f"王强 {mask_id_number(id_number)}  安阳县 / 汤阴县" in said.stdout and id_number not in said.stdout
    again = runner.invoke(main, [*city_cli, "--json"])  # the same bundle again: nothing new to name
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["duplicate_persons"] == []
