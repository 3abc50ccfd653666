"""The city's conflict queue over a real server: per-field decisions with typed values and reasons, bulk,
duplicate persons across counties, activities of dissolved teams, the audit trail, uploads, period locks;
on SQLite and on PostgreSQL (where STVS_TEST_DATABASE_URL names a server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from city_server import DATABASES, CityServer, database_url, push, running_city_server

from schema.models import new_id
from schema.validators import id_check_char
from sync.admin_protocol import ADMIN_PREFIX
from sync.protocol import API_PREFIX

ANYANG, TANGYIN = "410522", "410523"


def resident_id(serial: int) -> str:
    body = f"41052219800101{serial:03d}"
    return body + id_check_char(body)


@pytest.fixture(params=DATABASES)
def city(request, tmp_path) -> Iterator[CityServer]:
    """A real server on the embedded SQLite and on PostgreSQL (row locks, JSON text, the sequence lock)."""
    with running_city_server(tmp_path, url=database_url(request, tmp_path / "city")) as server:
        yield server


def new_volunteer(server: CityServer, county: str, node: str, serial: int, **extra: Any) -> str:
    row_id = new_id()
    fields = {"county_code": county, "name": "张三", "id_number": resident_id(serial), "mobile": "13800138000",
              **extra}
    answer = push(server, county, node, [{"table": "volunteer", "id": row_id, "base_version": 0, "fields": fields}])
    assert answer["results"][0]["status"] == "applied", answer
    return row_id


def edit(server: CityServer, county: str, node: str, row_id: str, base: dict[str, Any], fields: dict[str, Any],
         base_version: int = 1) -> dict[str, Any]:
    answer = push(server, county, node, [{"table": "volunteer", "id": row_id, "base_version": base_version,
                                          "base": base, "fields": fields}])
    return answer["results"][0]


def make_conflict(server: CityServer, serial: int = 1) -> str:
    """Two devices of 安阳县 change the same two fields of one volunteer: the second push conflicts."""
    row_id = new_volunteer(server, ANYANG, "node-a", serial)
    base = {"mobile": "13800138000", "work_unit": ""}
    assert edit(server, ANYANG, "node-b", row_id, base, {"mobile": "13900000001", "work_unit": "县医院"})["status"] == \
        "applied"
    assert edit(server, ANYANG, "node-a", row_id, base, {"mobile": "13900000002", "work_unit": "县一中"})["status"] == \
        "conflict"
    return row_id


def queue(server: CityServer, **params: Any) -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"{ADMIN_PREFIX}/queue", params=params)
    response.raise_for_status()
    return response.json()


def row(server: CityServer, table: str, row_id: str) -> dict[str, Any]:
    with server.db.read() as connection:
        return dict(connection.execute(sa.text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id})
                    .mappings().one())


def pulled(server: CityServer, county: str, node: str, row_id: str) -> dict[str, Any]:
    with server.client(server.tokens[county]) as client:
        answer = client.get(f"{API_PREFIX}/sync/pull", params={"since": 0, "node_id": node}).json()
    return next(c for c in answer["changes"] if c["id"] == row_id)


def test_queue_shows_base_city_and_county_value_per_field(city) -> None:
    make_conflict(city)
    page = queue(city, county=ANYANG, table="volunteer", kind="field_conflict")
    assert page["total"] == 1
    fields = page["items"][0]["fields"]
    assert fields["mobile"] == {"base": "13800138000", "server": "13900000001", "incoming": "13900000002"}
    assert fields["work_unit"] == {"base": "", "server": "县医院", "incoming": "县一中"}
    assert queue(city, county=TANGYIN)["total"] == 0


def test_per_field_decision_with_typed_value_reaches_both_devices(city) -> None:
    row_id = make_conflict(city)
    item = queue(city)["items"][0]
    with city.client() as client:
        response = client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/decide", json={
            "decisions": {"mobile": {"take": "county"}, "work_unit": {"take": "value", "value": "安阳县人民医院"}},
            "reason": "电话核实，本人在县医院工作"})
    assert response.status_code == 200, response.text
    resolved = response.json()
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "admin:市科协李明"
    assert resolved["resolution"] == {"mobile": "13900000002", "work_unit": "安阳县人民医院"}
    stored = row(city, "volunteer", row_id)
    assert (stored["mobile"], stored["work_unit"], stored["version"]) == ("13900000002", "安阳县人民医院", 3)
    for node in ("node-a", "node-b"):
        change = pulled(city, ANYANG, node, row_id)
        assert change["version"] == 3 and change["record"]["work_unit"] == "安阳县人民医院"
    audit = queue(city, status="resolved")["items"][0]
    assert (audit["reason"], audit["resolved_by"]) == ("电话核实，本人在县医院工作", "admin:市科协李明")


def test_a_reason_is_required_and_a_typed_value_is_validated(city) -> None:
    make_conflict(city)
    item = queue(city)["items"][0]
    with city.client() as client:
        blank = client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/decide",
                            json={"decisions": {"mobile": {"take": "county"}}, "reason": "  "})
        bad = client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/decide",
                          json={"decisions": {"mobile": {"take": "value", "value": "12345"}}, "reason": "核实"})
    assert blank.status_code == 422 and bad.status_code == 422
    assert queue(city)["total"] == 1  # nothing was decided


def test_bulk_take_county_resolves_the_selection(city) -> None:
    first, second = make_conflict(city, 1), make_conflict(city, 2)
    ids = [item["id"] for item in queue(city)["items"]]
    with city.client() as client:
        outcome = client.post(f"{ADMIN_PREFIX}/queue/bulk",
                              json={"ids": ids + ["no-such-item"], "take": "county", "reason": "以县里为准"}).json()
    assert [outcome["outcome"][i] for i in ids] == ["resolved", "resolved"]
    assert "not found" in outcome["outcome"]["no-such-item"]
    assert row(city, "volunteer", first)["work_unit"] == row(city, "volunteer", second)["work_unit"] == "县一中"
    assert queue(city)["total"] == 0 and queue(city, status="resolved")["total"] == 2


def test_same_person_registered_by_two_counties_becomes_one_duplicate_item(city) -> None:
    first = new_volunteer(city, ANYANG, "node-a", 7, work_unit="安阳县医院")
    later = new_volunteer(city, TANGYIN, "node-t", 7, mobile="13700137000")
    with city.client() as client:
        assert client.post(f"{ADMIN_PREFIX}/queue/detect").json()["opened"] == 1
        assert client.post(f"{ADMIN_PREFIX}/queue/detect").json()["opened"] == 0  # never twice
    item = queue(city, kind="duplicate_person")["items"][0]
    assert item["fields"]["county_code"] == {"base": None, "server": ANYANG, "incoming": TANGYIN}
    assert item["fields"]["mobile"]["incoming"] == "13700137000" and "name" not in item["fields"]
    with city.client() as client:
        response = client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/duplicate", json={
            "action": "merge", "survivor": "city", "decisions": {"mobile": {"take": "county"}},
            "reason": "同一人，已调往汤阴县工作"})
    assert response.status_code == 200, response.text
    kept, merged_away = row(city, "volunteer", first), row(city, "volunteer", later)
    assert (kept["mobile"], kept["work_unit"], kept["status"]) == ("13700137000", "安阳县医院", "active")
    assert merged_away["status"] == "inactive" and first in merged_away["notes"]
    assert not merged_away["deleted"]  # 汤阴县's teams and activities still refer to it


def test_duplicate_person_may_be_kept_twice_with_a_note(city) -> None:
    first = new_volunteer(city, ANYANG, "node-a", 8)
    later = new_volunteer(city, TANGYIN, "node-t", 8)
    with city.client() as client:
        client.post(f"{ADMIN_PREFIX}/queue/detect")
        item = queue(city, kind="duplicate_person")["items"][0]
        client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/duplicate",
                    json={"action": "keep_both", "reason": "两县均在服务"}).raise_for_status()
    assert "两县均在服务" in row(city, "volunteer", first)["notes"]
    assert TANGYIN not in row(city, "volunteer", later)["notes"] and ANYANG in row(city, "volunteer", later)["notes"]
    assert row(city, "volunteer", later)["status"] == "active"


def test_activity_for_a_dissolved_team_is_held_and_flagged_not_dropped(city) -> None:
    dissolved, active, activity = new_id(), new_id(), new_id()
    answer = push(city, ANYANG, "node-a", [
        {"table": "team", "id": dissolved, "base_version": 0,
         "fields": {"county_code": ANYANG, "name": "白璧镇队", "status": "dissolved", "dissolved_on": "2024-03-01"}},
        {"table": "team", "id": active, "base_version": 0, "fields": {"county_code": ANYANG, "name": "吕村镇队"}},
        {"table": "activity", "id": activity, "base_version": 0,
         "fields": {"county_code": ANYANG, "title": "义诊", "team_id": dissolved, "starts_at": "2024-03-10T09:00:00",
                    "ends_at": "2024-03-10T11:00:00", "status": "finished"}},
    ])
    assert [r["status"] for r in answer["results"]] == ["applied"] * 3
    with city.client() as client:
        assert client.post(f"{ADMIN_PREFIX}/queue/detect").json()["opened"] == 1
        item = queue(city, kind="dissolved_team")["items"][0]
        assert item["row_id"] == activity and row(city, "activity", activity)["team_id"] == dissolved
        moved = client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/decide", json={
            "decisions": {"team_id": {"take": "value", "value": active}}, "reason": "实为吕村镇队组织"})
    assert moved.status_code == 200, moved.text
    assert row(city, "activity", activity)["team_id"] == active
    assert pulled(city, ANYANG, "node-a", activity)["record"]["team_id"] == active


def test_uploads_list_with_the_per_record_report(city) -> None:
    make_conflict(city)
    with city.client() as client:
        page = client.get(f"{ADMIN_PREFIX}/uploads", params={"county": ANYANG}).json()
        assert page["total"] == 3
        latest = page["items"][0]
        assert (latest["changes"], latest["conflicts"]) == (1, 1)
        report = client.get(f"{ADMIN_PREFIX}/uploads/{latest['batch_id']}").json()
    assert report["results"][0]["status"] == "conflict" and report["results"][0]["reason"] == "field_conflict"


def test_period_reopened_for_one_county_reaches_it_and_the_grid(city) -> None:
    with city.client() as client:
        response = client.post(f"{ADMIN_PREFIX}/periods/lock", json={
            "county_code": ANYANG, "period": "2024-01", "open_until": "2099-12-31", "reason": "更正一月月报"})
        assert response.status_code == 200, response.text
        reports = client.get(f"{ADMIN_PREFIX}/reports",
                             params={"first": "2024-01", "last": "2024-02", "today": "2024-05-01"}).json()
    calendar_row = pulled(city, ANYANG, "node-a", response.json()["id"])
    assert calendar_row["record"]["due_on"] == "2099-12-31" and calendar_row["record"]["kind"] == "period_lock"
    cells = {(c["county_code"], c["period"]): c for c in reports["cells"]}
    assert not cells[(ANYANG, "2024-01")]["locked"] and cells[(TANGYIN, "2024-01")]["locked"]
    assert cells[(ANYANG, "2024-01")]["state"] == "missing"


def test_admin_routes_refuse_county_tokens_and_strangers(city) -> None:
    with city.client(city.tokens[ANYANG]) as client:
        assert client.get(f"{ADMIN_PREFIX}/queue").status_code == 403
    with city.client("not-a-token") as client:
        assert client.get(f"{ADMIN_PREFIX}/queue").status_code == 401


def test_duplicate_person_puts_the_earlier_registration_first_and_is_listed_under_both_counties(city) -> None:
    # 汤阴县's record reaches the server first, but 安阳县 registered the person years earlier (登记日期).
    later = new_volunteer(city, TANGYIN, "node-t", 9, name="张三", work_unit="汤阴县一中", joined_on="2024-03-01")
    first = new_volunteer(city, ANYANG, "node-a", 9, name="张三", work_unit="安阳县医院", joined_on="2021-06-15")
    with city.client() as client:
        assert client.post(f"{ADMIN_PREFIX}/queue/detect").json()["opened"] == 1
    for county in (ANYANG, TANGYIN):  # one item, under either county
        assert [i["kind"] for i in queue(city, county=county)["items"]] == ["duplicate_person"], county
    assert queue(city, county="410523", kind="field_conflict")["total"] == 0
    item = queue(city, kind="duplicate_person")["items"][0]
    assert item["fields"]["id"] == {"base": None, "server": first, "incoming": later}
    assert (item["row_id"], item["county_code"]) == (later, TANGYIN)
    masked = f"410522********{resident_id(9)[-4:]}"
    assert [(p["id"], p["name"], p["id_number"], p["county_name"], p["work_unit"], p["registered_on"], p["first"])
            for p in item["people"]] == [
        (first, "张三", masked, "安阳县", "安阳县医院", "2021-06-15", True),
        (later, "张三", masked, "汤阴县", "汤阴县一中", "2024-03-01", False)]
    with city.client() as client:  # 先登记 is the survivor "city": the 安阳县 record stays
        client.post(f"{ADMIN_PREFIX}/queue/{item['id']}/duplicate", json={
            "action": "merge", "survivor": "city", "reason": "同一人"}).raise_for_status()
    assert row(city, "volunteer", first)["status"] == "active"
    assert row(city, "volunteer", later)["status"] == "inactive"
