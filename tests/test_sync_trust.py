"""The push as an attacker sends it: raw HTTP (httpx) against the real server, on SQLite and PostgreSQL. Each
attack is refused per record (``rejected`` with its reason, the rest of the batch applied) or, for a replayed
batch, with 403, and the database is left exactly as it was."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from city_server import DATABASES
from conftest import postgres_database
from sync_fixtures import ThreadServer, resident_id, thread_server

from schema.models import CITY_CODE, SYNCED_TABLES, new_id
from schema.validation import JSON_KINDS, wire_types
from sync.records import wire_fields
from sync.serverdb import schema_version

HOME, OTHER = "410522", "410503"
SAMPLES: dict[type, Any] = {str: "12", int: 12, float: 1.5, bool: True, type(None): None, list: [1], dict: {"a": 1}}
_serial = count(1)


@pytest.fixture(scope="module", params=DATABASES)
def server(request: pytest.FixtureRequest) -> Iterator[ThreadServer]:
    """One real server per database for the module: every test works on rows of its own."""
    if request.param == "postgresql":
        with postgres_database() as url, thread_server(url) as running:
            yield running
        return
    with tempfile.TemporaryDirectory() as folder, thread_server(f"sqlite:///{folder}/server.sqlite") as running:
        yield running


@pytest.fixture(scope="module")
def tokens(server: ThreadServer) -> dict[str, str]:
    return {HOME: server.token(HOME), OTHER: server.token(OTHER), "admin": server.token(CITY_CODE, admin=True)}


def change(table: str, row_id: str, fields: dict[str, Any], *, base_version: int = 0, deleted: bool = False,
           node: str = "node-a") -> dict[str, Any]:
    serial = next(_serial)
    return {"change_id": f"{node}:{table}:{row_id}:{serial}:x", "table": table, "id": row_id,
            "base_version": base_version, "base": {}, "fields": fields, "deleted": deleted,
            "hlc": f"{1_800_000_000_000 + serial}:0000:{node}"}


def push(server: ThreadServer, token: str, changes: list[dict[str, Any]], *, node: str = "node-a",
         batch_id: str | None = None) -> httpx.Response:
    body = {"node_id": node, "protocol_version": 1, "schema_version": schema_version(),
            "batch_id": batch_id or f"batch-{new_id()}", "changes": changes}
    return httpx.post(f"{server.url}/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {token}"},
                      timeout=30)


def results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def snapshot(server: ThreadServer) -> dict[str, Any]:
    """Every synced row and every sequence entry: what an attack must leave unchanged."""
    with server.db.engine.connect() as connection:
        state = {table: sorted(tuple(map(str, row)) for row in connection.execute(sa.text(f"SELECT * FROM {table}")))
                 for table in SYNCED_TABLES}
        state["server_change"] = connection.execute(sa.text("SELECT COUNT(*) FROM server_change")).scalar()
    return state


def valid_records(county: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """One valid new record per table (parents first), in wire form: table → (id, fields)."""
    ids = {table: new_id() for table in SYNCED_TABLES}
    serial = next(_serial)
    common = {"county_code": county, "deleted": False, "created_at": "2026-03-01T09:00:00"}
    fields: dict[str, dict[str, Any]] = {
        "team": {"name": f"测试队{serial}"},
        "volunteer": {"name": "王芳", "id_number": resident_id(county, serial), "mobile": "13800138000"},
        "membership": {"team_id": ids["team"], "volunteer_id": ids["volunteer"]},
        "activity": {"title": "讲座", "team_id": ids["team"], "starts_at": "2026-03-02T09:00:00",
                     "ends_at": "2026-03-02T11:00:00", "status": "in_progress"},
        "participation": {"activity_id": ids["activity"], "volunteer_id": ids["volunteer"], "attended": True,
                          "hours": 4.0, "hours_confirmed": True},
        "hours_correction": {"participation_id": ids["participation"], "old_hours": 2.0, "new_hours": 4.0,
                             "reason": "补记", "corrected_at": "2026-03-03T09:00:00"},
        "demand": {"requesting_unit": "社区", "need": "讲座"},
        "commendation": {"volunteer_id": ids["volunteer"], "title": "优秀志愿者", "awarded_on": "2026-03-05"},
        "monthly_report": {"period": f"{2090 + serial // 12}-{serial % 12 + 1:02d}"},  # future: not locked
        "reporting_deadline": {"name": "月报", "due_on": "2026-04-05"},
    }
    return {table: (ids[table], common | fields[table]) for table in SYNCED_TABLES}


def seed(server: ThreadServer, tokens: dict[str, str], county: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The records of ``valid_records`` stored on the server (the calendar entry by the city)."""
    records = valid_records(county)
    node = "node-a" if county == HOME else f"node-{county}"
    county_changes = [change(t, i, f, node=node) for t, (i, f) in records.items() if t != "reporting_deadline"]
    assert {r["status"] for r in results(push(server, tokens[county], county_changes, node=node))} == {"applied"}
    row_id, fields = records["reporting_deadline"]
    city_row = change("reporting_deadline", row_id, fields | {"county_code": CITY_CODE})
    assert results(push(server, tokens["admin"], [city_row], node="city-node"))[0]["status"] == "applied"
    return records


def server_value(server: ThreadServer, table: str, row_id: str, column: str) -> Any:
    with server.db.engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT {column} FROM {table} WHERE id = :i"), {"i": row_id}).scalar()


# ---- hole 1: types on the wire, and authority on the stored value ----------------------------------------------


@pytest.mark.parametrize("table", SYNCED_TABLES)
def test_every_field_refuses_every_wrong_json_type(server: ThreadServer, tokens: dict[str, str], table: str) -> None:
    """Generated from the models: for each wire field of the table, each JSON type its column does not take
    is a per-record rejection naming that field, and nothing is written."""
    records = seed(server, tokens, HOME)
    row_id, _ = records[table]
    who = "admin" if table == "reporting_deadline" else HOME
    attacks = [(name, kind) for name in wire_fields(table) for kind in SAMPLES if kind not in wire_types(table)[name]]
    assert attacks, table
    before = snapshot(server)
    answers = results(push(server, tokens[who], [change(table, row_id, {name: SAMPLES[kind]}, base_version=1)
                                                 for name, kind in attacks]))
    for (name, kind), answer in zip(attacks, answers, strict=True):
        assert answer["status"] == "rejected", (name, kind, answer)
        assert answer["reason"] == "invalid"
        assert answer["message"].startswith(f"{table}: {name}: "), answer["message"]
        assert JSON_KINDS[kind][1] in answer["message"]
    assert snapshot(server) == before


def test_a_new_row_with_a_list_or_an_object_in_its_natural_key_is_refused_by_itself(server: ThreadServer,
                                                                                   tokens: dict[str, str]) -> None:
    """Found by a hostile client by hand: a new participation whose activity_id is a list (or a membership whose
    volunteer_id is an object) made the server's natural-key lookup fail, a 500 for the whole batch."""
    records = seed(server, tokens, HOME)
    participation = valid_records(HOME)["participation"][1] | {"activity_id": records["activity"][0],
                                                               "volunteer_id": records["volunteer"][0]}
    membership = valid_records(HOME)["membership"][1] | {"team_id": records["team"][0],
                                                         "volunteer_id": records["volunteer"][0]}
    answers = results(push(server, tokens[HOME], [
        change("participation", new_id(), participation | {"activity_id": ["x"]}),
        change("membership", new_id(), membership | {"volunteer_id": {"a": 1}}),
        change("participation", new_id(), participation)]))
    # (the good one meets the seeded participation's natural key: merged into it, as any such row is)
    assert [(a["status"], a["reason"]) for a in answers[:2]] == [("rejected", "invalid"), ("rejected", "invalid")]
    assert answers[2]["status"] == "applied"
    assert "activity_id" in answers[0]["message"] and "volunteer_id" in answers[1]["message"]


@pytest.mark.parametrize("county_code", [int(OTHER), f"{OTHER[:3]}５０３", f" {OTHER} "],
                         ids=["a JSON number", "full-width digits", "padded text"])
def test_another_countys_code_in_any_form_is_refused_per_record(server: ThreadServer, tokens: dict[str, str],
                                                                county_code: Any) -> None:
    """The hole as found: 410503 sent as a number became "410503" after validation and crossed counties."""
    records = valid_records(HOME)
    volunteer_id, volunteer = records["volunteer"]
    intruder = new_id()
    before = snapshot(server)
    answers = results(push(server, tokens[HOME], [
        change("volunteer", intruder, valid_records(HOME)["volunteer"][1] | {"county_code": county_code}),
        change("volunteer", volunteer_id, volunteer)]))
    assert [a["status"] for a in answers] == ["rejected", "applied"]
    assert answers[0]["reason"] in ("invalid", "forbidden") and "county_code" in answers[0]["message"]
    assert server_value(server, "volunteer", intruder, "id") is None
    after = snapshot(server)
    assert len(after["volunteer"]) == len(before["volunteer"]) + 1  # only the good record


def test_another_countys_rows_cannot_be_changed_deleted_or_echoed(server: ThreadServer,
                                                                  tokens: dict[str, str]) -> None:
    theirs = seed(server, tokens, OTHER)
    row_id, fields = theirs["volunteer"]
    part_id, _ = theirs["participation"]
    mine_id, mine = valid_records(HOME)["team"]
    before = snapshot(server)
    answers = results(push(server, tokens[HOME], [
        change("volunteer", row_id, {"name": "改名"}, base_version=1),
        change("volunteer", row_id, {}, base_version=1, deleted=True),
        change("volunteer", row_id, fields),  # an "insert" of their row: must not be merged into it
        change("participation", part_id, {"hours": 700.0, "county_code": HOME}, base_version=1),
        change("team", mine_id, mine)]))
    assert [(a["status"], a["reason"]) for a in answers] == [("rejected", "forbidden")] * 4 + [("applied", "inserted")]
    assert all("record" not in a for a in answers[:4])
    assert OTHER in answers[0]["message"] or "county" in answers[0]["message"]
    assert server_value(server, "volunteer", row_id, "name") == "王芳"
    after = snapshot(server)
    assert {t: after[t] for t in after if t != "team" and t != "server_change"} == \
        {t: before[t] for t in before if t != "team" and t != "server_change"}


def test_a_reference_to_another_countys_row_is_refused(server: ThreadServer, tokens: dict[str, str]) -> None:
    theirs = seed(server, tokens, OTHER)
    mine = valid_records(HOME)
    team_id, team = mine["team"]
    membership_id, membership = mine["membership"]
    before = snapshot(server)
    answers = results(push(server, tokens[HOME], [
        change("team", team_id, team),
        change("membership", membership_id, membership | {"volunteer_id": theirs["volunteer"][0]})]))
    assert [(a["status"], a["reason"]) for a in answers] == [("applied", "inserted"), ("rejected", "forbidden")]
    assert "volunteer_id" in answers[1]["message"]
    assert len(snapshot(server)["membership"]) == len(before["membership"])


# ---- hole 3: the domain's rules ---------------------------------------------------------------------------------


def test_confirmed_hours_change_only_through_a_correction(server: ThreadServer, tokens: dict[str, str]) -> None:
    mine = seed(server, tokens, HOME)
    part_id, _ = mine["participation"]
    before = snapshot(server)
    answers = results(push(server, tokens[HOME], [change("participation", part_id, {"hours": 104.0}, base_version=1)]))
    assert (answers[0]["status"], answers[0]["reason"]) == ("rejected", "rule")
    assert "hours: 已确认的服务时长只能通过时长更正修改" in answers[0]["message"]
    unconfirm = results(push(server, tokens[HOME], [
        change("participation", part_id, {"hours_confirmed": False}, base_version=1)]))
    assert (unconfirm[0]["status"], unconfirm[0]["reason"]) == ("rejected", "rule")
    assert snapshot(server) == before
    correction_id = new_id()
    corrected = results(push(server, tokens[HOME], [
        change("participation", part_id, {"hours": 6.0}, base_version=1),
        change("hours_correction", correction_id, {"county_code": HOME, "participation_id": part_id,
                                                   "old_hours": 4.0, "new_hours": 6.0, "reason": "漏记一次",
                                                   "corrected_at": "2026-03-04T09:00:00"})]))
    assert [a["status"] for a in corrected] == ["applied", "applied"]
    assert server_value(server, "participation", part_id, "hours") == 6.0


def test_activity_status_moves_only_along_the_workflow(server: ThreadServer, tokens: dict[str, str]) -> None:
    mine = seed(server, tokens, HOME)
    activity_id, _ = mine["activity"]
    before = snapshot(server)
    back = results(push(server, tokens[HOME], [change("activity", activity_id, {"status": "draft"}, base_version=1)]))
    assert (back[0]["status"], back[0]["reason"]) == ("rejected", "rule")
    assert "status: 活动状态不能从“进行中”改为“草稿”" in back[0]["message"]
    assert snapshot(server) == before
    forward = results(push(server, tokens[HOME], [change("activity", activity_id, {"status": "finished"},
                                                         base_version=1)]))
    assert forward[0]["status"] == "applied"


@pytest.mark.parametrize(("field", "value"), [("hours", -5.5), ("hours", -1e14), ("hours", 1e14), ("activities", -1),
                                              ("beneficiaries", 2**40)])
def test_monthly_figures_are_non_negative_and_bounded(server: ThreadServer, tokens: dict[str, str], field: str,
                                                       value: float) -> None:
    mine = seed(server, tokens, HOME)
    report_id, _ = mine["monthly_report"]
    before = snapshot(server)
    answers = results(push(server, tokens[HOME], [change("monthly_report", report_id, {field: value},
                                                         base_version=1)]))
    assert (answers[0]["status"], answers[0]["reason"]) == ("rejected", "invalid")
    assert f"{field}: " in answers[0]["message"]
    assert snapshot(server) == before


# ---- hole 4: replays ------------------------------------------------------------------------------------------


def test_another_countys_batch_replayed_with_my_token_gets_403_and_nothing(server: ThreadServer,
                                                                          tokens: dict[str, str]) -> None:
    records = valid_records(OTHER)
    body_changes = [change("team", *records["team"], node="their-node")]
    batch_id = f"batch-{new_id()}"
    assert results(push(server, tokens[OTHER], body_changes, node="their-node", batch_id=batch_id))[0]["status"] \
        == "applied"
    before = snapshot(server)
    replay = push(server, tokens[HOME], body_changes, node="their-node", batch_id=batch_id)
    assert replay.status_code == 403
    assert records["team"][0] not in replay.text and "applied" not in replay.text
    borrowed = push(server, tokens[HOME], body_changes, node="my-node", batch_id=batch_id)
    assert borrowed.status_code == 403
    assert records["team"][0] not in borrowed.text
    # the same change ids in a batch of my own: refused one by one, their content never echoed
    mine = results(push(server, tokens[HOME], body_changes, node="my-node"))
    assert [(a["status"], a["reason"]) for a in mine] == [("rejected", "forbidden")]
    assert "record" not in mine[0]
    assert snapshot(server) == before
    again = push(server, tokens[OTHER], body_changes, node="their-node", batch_id=batch_id)
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "applied"
