"""The merge engine as pure functions: three-way per field against the base, delete against edit."""

from __future__ import annotations

from sync.hlc import HybridClock, Timestamp
from sync.merge import FieldConflict, merge_record

SERVER = {"name": "王芳", "mobile": "13800000000", "work_unit": "县医院", "deleted": False}


def test_new_record_is_inserted() -> None:
    result = merge_record({}, None, {"name": "李明", "deleted": False}, server_moved=False)
    assert (result.status, result.reason, result.changed) == ("applied", "inserted", True)


def test_change_on_the_current_version_fast_forwards() -> None:
    result = merge_record({"mobile": "13800000000"}, SERVER, {"mobile": "13900000000"}, server_moved=False)
    assert (result.status, result.record["mobile"]) == ("applied", "13900000000")


def test_disjoint_fields_merge() -> None:
    server = SERVER | {"work_unit": "县疾控中心"}
    result = merge_record({"mobile": "13800000000"}, server, {"mobile": "13900000000"}, server_moved=True)
    assert result.status == "merged"
    assert (result.record["mobile"], result.record["work_unit"]) == ("13900000000", "县疾控中心")


def test_same_value_on_both_sides_is_no_conflict() -> None:
    server = SERVER | {"mobile": "13900000000"}
    result = merge_record({"mobile": "13800000000"}, server, {"mobile": "13900000000"}, server_moved=True)
    assert (result.status, result.reason, result.changed) == ("applied", "same_value", False)


def test_same_field_different_values_is_a_conflict_with_the_server_value_winning_for_now() -> None:
    server = SERVER | {"mobile": "13900000001"}
    incoming = {"mobile": "13900000002", "name": "王芳芳"}
    result = merge_record({"mobile": "13800000000", "name": "王芳"}, server, incoming, server_moved=True)
    assert result.status == "conflict" and result.reason == "field_conflict"
    assert result.conflicts == {"mobile": FieldConflict("13800000000", "13900000001", "13900000002")}
    assert result.record["mobile"] == "13900000001" and result.record["name"] == "王芳芳"


def test_field_without_a_known_base_that_differs_is_a_conflict() -> None:
    result = merge_record({}, SERVER, {"mobile": "13900000002"}, server_moved=True)
    assert result.status == "conflict"


def test_delete_against_an_edit_is_a_conflict_and_the_row_stays() -> None:
    base = SERVER
    server = SERVER | {"work_unit": "县疾控中心"}
    result = merge_record(base, server, {"deleted": True}, server_moved=True)
    assert (result.status, result.reason, result.record["deleted"]) == ("conflict", "delete_vs_edit", False)


def test_delete_when_nothing_was_edited_since_applies() -> None:
    result = merge_record(SERVER, SERVER, {"deleted": True}, server_moved=True)
    assert result.status == "merged" and result.record["deleted"] is True


def test_edit_against_a_delete_is_a_conflict_keeping_the_tombstone() -> None:
    server = SERVER | {"deleted": True}
    result = merge_record({"mobile": "13800000000", "deleted": False}, server, {"mobile": "13900000000"},
                          server_moved=True)
    assert (result.status, result.reason, result.record["deleted"]) == ("conflict", "edit_vs_delete", True)
    assert result.conflicts["mobile"].incoming == "13900000000"


def test_both_sides_deleting_is_no_conflict() -> None:
    result = merge_record(SERVER, SERVER | {"deleted": True}, {"deleted": True}, server_moved=True)
    assert result.status == "applied" and not result.changed


def test_merge_is_the_same_wherever_it_runs() -> None:
    args = ({"mobile": "1"}, SERVER | {"mobile": "2"}, {"mobile": "3"})
    assert merge_record(*args, server_moved=True) == merge_record(*args, server_moved=True)


def test_clock_never_goes_back_and_follows_a_server_ahead_of_it() -> None:
    now = [1_000]
    clock = HybridClock("n1", now=lambda: now[0])
    first = clock.tick()
    now[0] = 500  # the laptop's clock jumps back
    second = clock.tick()
    assert second > first
    anchored = clock.observe(9_000)
    assert anchored.wall_ms == 9_000 and clock.tick() > anchored
    assert Timestamp.parse(str(anchored)) == anchored


def test_a_batch_of_stamps_is_what_as_many_ticks_give_at_one_instant() -> None:
    now = [1_000]
    ticked, batched = HybridClock("n1", now=lambda: now[0]), HybridClock("n1", now=lambda: now[0])
    for count, moment in ((3, 1_000), (2, 1_000), (4, 2_000), (1, 500), (0, 500)):
        now[0] = moment
        assert batched.tick_texts(count) == [str(ticked.tick()) for _ in range(count)]
        assert batched.last == ticked.last
    batched.observe(9_000)
    ticked.observe(9_000)
    assert batched.tick_texts(2) == [str(ticked.tick()) for _ in range(2)]
