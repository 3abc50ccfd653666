"""The city's audit trail, search, senders and per-county summary over the admin API of a real server (uvicorn on
127.0.0.1), on SQLite and on PostgreSQL (where STVS_TEST_DATABASE_URL names a server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from city_server import DATABASES, CityServer, database_url, push, running_city_server
from test_city_queue import ANYANG, TANGYIN, make_conflict, new_volunteer, queue, resident_id

from schema.models import new_id
from schema.server_models import NodeKey
from sync.admin_protocol import ADMIN_PREFIX
from sync.city_audit import describe_duplicates, open_duplicate_ids
from sync.city_queue import detect_relational
from sync.push import BATCH, CONFLICT


@pytest.fixture(params=DATABASES)
def city(request, tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path, url=database_url(request, tmp_path / "city")) as server:
        yield server


def decide(server: CityServer, conflict_id: str, reason: str) -> None:
    with server.client() as client:
        response = client.post(f"{ADMIN_PREFIX}/queue/{conflict_id}/decide",
                               json={"decisions": {"mobile": {"take": "county"}}, "reason": reason})
    assert response.status_code == 200, response.text


def test_search_by_name_full_id_number_and_mobile_across_open_and_resolved(city) -> None:
    first = make_conflict(city, 1)  # 张三, mobile 13800138000 → conflict on mobile/work_unit
    second = make_conflict(city, 2)
    with city.db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE volunteer SET name = '李娜' WHERE id = :id"), {"id": second})
    items = {i["row_id"]: i for i in queue(city)["items"]}
    decide(city, items[first]["id"], "电话核实")
    assert [i["row_id"] for i in queue(city, status="resolved", search="张")["items"]] == [first]
    assert [i["row_id"] for i in queue(city, search="李娜")["items"]] == [second]
    assert [i["row_id"] for i in queue(city, status="resolved", search=resident_id(1))["items"]] == [first]
    assert queue(city, search=resident_id(1))["total"] == 0  # open only: that one is resolved
    assert queue(city, search=resident_id(2)[:10])["total"] == 0  # the ID number whole, not a part
    # The mobile the row holds now (after the decision, the county's 13900000002)
    assert [i["row_id"] for i in queue(city, status="resolved", search="13900000002")["items"]] == [first]
    assert queue(city, status="resolved", search="电话")["total"] == 1  # the reason's words
    assert queue(city, search="%")["total"] == 0 and queue(city, search="_")["total"] == 0  # no wildcards
    assert queue(city, search="  ")["total"] == 1  # blank: no search


@pytest.mark.parametrize("text", ["\x00", "张\x00三", "a\x1fb", "x" * 101])
def test_search_with_a_nul_or_control_character_or_too_long_is_422(city, text) -> None:
    with city.client() as client:
        response = client.get(f"{ADMIN_PREFIX}/queue", params={"search": text})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "search"]


def test_resolved_items_filtered_by_the_day_of_the_decision(city) -> None:
    make_conflict(city, 1)
    make_conflict(city, 2)
    first, second = (i["id"] for i in queue(city)["items"])
    decide(city, first, "核实一")
    decide(city, second, "核实二")
    with city.db.engine.begin() as connection:
        connection.execute(sa.update(CONFLICT).where(CONFLICT.c.id == first)
                           .values(resolved_at=datetime(2026, 3, 31, 23, 59)))
        connection.execute(sa.update(CONFLICT).where(CONFLICT.c.id == second)
                           .values(resolved_at=datetime(2026, 4, 1, 0, 0)))
    page = queue(city, status="resolved")
    assert [i["id"] for i in page["items"]] == [second, first]  # the audit trail: latest decision first
    assert [i["id"] for i in queue(city, status="resolved", resolved_to="2026-03-31")["items"]] == [first]
    assert [i["id"] for i in queue(city, status="resolved", resolved_from="2026-04-01")["items"]] == [second]
    assert queue(city, status="resolved", resolved_from="2026-04-02")["total"] == 0
    assert queue(city, status="resolved", resolved_to="9999-12-31")["total"] == 2
    with city.client() as client:
        assert client.get(f"{ADMIN_PREFIX}/queue", params={"resolved_from": "2026-13-01"}).status_code == 422


def test_each_side_and_upload_names_its_device_and_token(city) -> None:
    # Three devices set up in the same minute: their UUIDv7 node ids share the first 8 characters (the time).
    nodes = [new_id() for _ in range(3)]
    assert len({n[:8] for n in nodes}) == 1 and len({n[-8:] for n in nodes}) == 3
    with city.db.engine.begin() as connection:
        connection.execute(sa.insert(NodeKey.__table__), {  # type: ignore[attr-defined]
            "node_id": nodes[1], "county_code": ANYANG, "public_key": "ed25519:x", "source": "enrolment",
            "label": "王芳的笔记本", "registered_at": datetime(2026, 1, 1)})
    row_id = new_volunteer(city, ANYANG, nodes[0], 1)
    base = {"mobile": "13800138000"}
    for node, mobile in ((nodes[1], "13900000001"), (nodes[2], "13900000002")):
        push(city, ANYANG, node, [{"table": "volunteer", "id": row_id, "base_version": 1, "base": base,
                                   "fields": {"mobile": mobile}}])
    item = queue(city)["items"][0]
    assert item["server_sender"] == {"node_id": nodes[1], "device_label": "王芳的笔记本", "token_label": "410522 设备"}
    assert item["incoming_sender"] == {"node_id": nodes[2], "device_label": "", "token_label": "410522 设备"}
    with city.client() as client:
        uploads = client.get(f"{ADMIN_PREFIX}/uploads").json()["items"]
    assert {u["sender"]["node_id"] for u in uploads} == set(nodes)
    assert {u["county_name"] for u in uploads} == {"安阳县"}
    assert all(u["sender"]["token_label"] == "410522 设备" for u in uploads)


def test_county_summary_counts_open_conflicts_uploads_and_reports_per_month(city) -> None:
    make_conflict(city, 1)
    new_volunteer(city, TANGYIN, "node-t", 5, county_code=TANGYIN)
    with city.db.engine.begin() as connection:  # an upload of 安阳县 in March
        connection.execute(sa.update(BATCH).where(BATCH.c.county_code == ANYANG)
                           .values(received_at=datetime(2026, 3, 5, 10)))
        connection.execute(sa.update(BATCH).where(BATCH.c.county_code == TANGYIN)
                           .values(received_at=datetime(2026, 5, 5, 10)))
        connection.execute(sa.update(CONFLICT).values(created_at=datetime(2026, 3, 5, 10)))
    with city.client() as client:
        page = client.get(f"{ADMIN_PREFIX}/summary", params={"today": "2026-05-20", "months": 3}).json()
    assert page["months"] == ["2026-03", "2026-04", "2026-05"]
    counties = {c["county_code"]: c for c in page["counties"]}
    assert len(counties) == 10 and ANYANG in counties and "410500" not in counties
    anyang, tangyin = counties[ANYANG], counties[TANGYIN]
    assert (anyang["county_name"], anyang["open_conflicts"], anyang["uploads"], anyang["conflicts"]) == \
        ("安阳县", 1, [3, 0, 0], [1, 0, 0])
    assert anyang["last_upload"] == "2026-03-05 10:00"
    assert (tangyin["open_conflicts"], tangyin["uploads"], tangyin["last_upload"]) == (0, [0, 0, 1], "2026-05-05 10:00")
    assert counties["410502"]["last_upload"] == "" and counties["410502"]["uploads"] == [0, 0, 0]


def test_duplicates_opened_by_an_import_are_named_with_both_counties(city) -> None:
    new_volunteer(city, ANYANG, "node-a", 7)
    new_volunteer(city, TANGYIN, "node-t", 7, county_code=TANGYIN)
    known = open_duplicate_ids(city.db)
    assert detect_relational(city.db) == 1
    named = describe_duplicates(city.db, open_duplicate_ids(city.db) - known)
    masked = resident_id(7)[:6] + "********" + resident_id(7)[-4:]
    assert [(d["name"], d["id_number"], {d["first_county"], d["later_county"]}) for d in named] == \
        [("张三", masked, {"安阳县", "汤阴县"})]
