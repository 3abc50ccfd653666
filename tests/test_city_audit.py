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


def test_resolved_items_filtered_by_the_side_taken(city) -> None:
    """Each way of deciding is stored as the side taken, and the audit trail is filtered on it: every field the
    server's value, every field the upload's (one by one or in bulk), a typed value, a mix; a duplicate person
    merged into the first or later registration, or both kept."""
    rows = [make_conflict(city, n) for n in range(1, 7)]
    ids = {i["row_id"]: i["id"] for i in queue(city)["items"]}
    choices = {rows[0]: {"mobile": {"take": "county"}, "work_unit": {"take": "county"}},
               rows[1]: {},  # fields not named keep the server's value
               rows[2]: {"mobile": {"take": "county"}},  # and work_unit the server's: a mix
               rows[3]: {"mobile": {"take": "value", "value": "13700000000"}, "work_unit": {"take": "county"}}}
    with city.client() as client:
        for row_id, decisions in choices.items():
            client.post(f"{ADMIN_PREFIX}/queue/{ids[row_id]}/decide",
                        json={"decisions": decisions, "reason": "核实"}).raise_for_status()
        client.post(f"{ADMIN_PREFIX}/queue/bulk", json={"ids": [ids[rows[4]]], "take": "county", "reason": "核实"}
                    ).raise_for_status()
        client.post(f"{ADMIN_PREFIX}/queue/bulk", json={"ids": [ids[rows[5]]], "take": "city", "reason": "核实"}
                    ).raise_for_status()
        for serial in (7, 8, 9):
            new_volunteer(city, ANYANG, "node-a", serial)
            new_volunteer(city, TANGYIN, "node-t", serial)
        assert client.post(f"{ADMIN_PREFIX}/queue/detect").json()["opened"] == 3
        duplicates = [i["id"] for i in queue(city, kind="duplicate_person")["items"]]
        for item_id, body in zip(duplicates, ({"action": "merge", "survivor": "city"},
                                              {"action": "merge", "survivor": "county"}, {"action": "keep_both"}),
                                 strict=True):
            client.post(f"{ADMIN_PREFIX}/queue/{item_id}/duplicate", json={**body, "reason": "核实"}
                        ).raise_for_status()

    def taken(decision: str) -> list[str]:
        return sorted(i["row_id"] if i["kind"] != "duplicate_person" else i["id"]
                      for i in queue(city, status="resolved", decision=decision)["items"])

    assert taken("county") == sorted([rows[0], rows[4]])
    assert taken("city") == sorted([rows[1], rows[5]])
    assert taken("mixed") == [rows[2]]
    assert taken("value") == [rows[3]]
    assert (taken("merge_first"), taken("merge_later"), taken("keep_both")) == ([duplicates[0]], [duplicates[1]],
                                                                                [duplicates[2]])
    assert queue(city, status="resolved")["total"] == 9
    assert queue(city, status="resolved", decision="county", county=TANGYIN)["total"] == 0  # with the others
    assert {i["decision"] for i in queue(city, status="resolved")["items"]} == {
        "city", "county", "mixed", "value", "merge_first", "merge_later", "keep_both"}
    with city.client() as client:
        response = client.get(f"{ADMIN_PREFIX}/queue", params={"status": "resolved", "decision": "both"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "decision"]


def test_the_side_kept_is_the_admins_choice_even_when_the_city_value_moved_since(city) -> None:
    """Keeping the city's value takes the row's value now, which may differ from the one the item recorded: the
    decision still says ``city``, as chosen, where reading the values back would say "typed"."""
    row_id = make_conflict(city, 1)
    item_id = queue(city)["items"][0]["id"]
    with city.db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE volunteer SET work_unit = '市一中' WHERE id = :id"), {"id": row_id})
    decide(city, item_id, "电话核实")  # mobile: county; work_unit: the city's, now 市一中
    assert queue(city, status="resolved", decision="mixed")["items"][0]["resolution"]["work_unit"] == "市一中"
