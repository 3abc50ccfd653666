"""The import's quick paths give exactly what the row-by-row paths give: rows planned a block at a time,
columns taken as they are, resident ID numbers checked in bulk, and the change log written per statement
instead of by the capture trigger per row."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from excel_helpers import resident_id, write_book
from hypothesis import given
from hypothesis import strategies as st

from schema.errors import InvalidValue
from schema.models import Volunteer, new_id
from schema.store import Store, open_store
from schema.validation import field_rule, record_errors, resident_volunteer_facts
from schema.validators import (
    id_check_char,
    parse_resident_id,
    resident_id_columns,
    resident_id_fact,
    resident_id_facts,
)
from stvs_tui.excel import ImportRefused, apply_import, plan_import
from stvs_tui.excel import importer as importer_module
from stvs_tui.excel.columns import cell_reader, normalise_text
from sync.bulk import (
    capture_trigger_present,
    indexes_made_after,
    insert_captured,
    insert_params,
    own_county_checked_once,
)

HEADERS = ["姓名", "性别", "出生日期", "证件号码", "手机号码", "工作单位", "职务/职称", "人才类别", "备注"]


def varied_rows() -> list[list[object]]:
    """Rows as offices type them: most clean, some with an empty cell, a lower-case x, a stated sex and birth
    date (right and wrong), a bad check digit, a duplicate, a shared family mobile, a landline, a note."""
    rows: list[list[object]] = []
    for n in range(60):
        born = date(1960 + n % 30, 1 + n % 12, 1 + n % 27)
        number = resident_id(f"{born:%Y%m%d}", f"{n:03d}")
        rows.append(["王小" + "明红刚芳"[n % 4] + "一二三四五六七八九十"[n % 10], "", "", number, f"139{n:08d}",
                     "县人民医院" if n % 3 else "", "医师" if n % 5 else "", "乡土科技人才", ""])
    rows[3][3] = rows[3][3][:-1] + rows[3][3][-1].lower()  # x or a digit: lower() leaves digits
    rows[7][1], rows[7][2] = ("男" if int(rows[7][3][16]) % 2 else "女"), f"{rows[7][3][6:10]}-{rows[7][3][10:12]}-{rows[7][3][12:14]}"
    rows[11][1] = "女" if int(rows[11][3][16]) % 2 else "男"  # the wrong sex for its ID number
    rows[13][3] = rows[13][3][:-1] + ("0" if rows[13][3][-1] != "0" else "1")  # a bad check character
    rows[17] = list(rows[2])  # the same person twice
    rows[19][4] = rows[18][4]  # a family's one mobile, another name
    rows[23][4] = "0372-5123456"  # a landline in the mobile column
    rows[29][8] = "=cmd|' /C calc'!A0"
    rows[31][0] = " 王 小 红 "  # spaces around and inside a name
    rows[37][3] = " " + rows[37][3]
    rows[41][0] = ""  # no name
    return rows


def plans(path: Path, store: Store | None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(importer_module, "BLOCK_ROWS", 8)  # many blocks: some quick, some row by row
    planned_at_once = []
    plan_block = importer_module._DataReader._plan_block

    def counted(self, numbers, results):
        done = plan_block(self, numbers, results)
        planned_at_once.extend(numbers if done else [])
        return done

    monkeypatch.setattr(importer_module._DataReader, "_plan_block", counted)
    quick = plan_import(path, store)
    assert len(planned_at_once) >= 16, "no block was planned at once"
    monkeypatch.setattr(importer_module._DataReader, "_plan_block", lambda *_args: False)
    monkeypatch.setattr(importer_module, "_UNCHANGED", {})
    monkeypatch.setattr(importer_module._DataReader, "accept_block",
                        lambda self, raw: [r for r in (self.accept(*row) for row in raw) if r is not None])
    slow = plan_import(path, store)
    return quick, slow


def described(plan) -> tuple:
    return ([(r.row, r.keys, r.data, r.action) for r in plan.rows], [p.describe() for p in plan.problems],
            [n.zh for n in plan.notes])


def test_block_planning_gives_what_row_by_row_planning_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, *varied_rows()])
    quick, slow = plans(path, None, monkeypatch)
    assert described(quick) == described(slow)
    assert len(slow.rows) > 40 and len(slow.problems) >= 5


def test_block_planning_with_a_month_header_and_a_store(store: Store, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    headers = [h if h != "出生日期" else "出生年月" for h in HEADERS]
    rows = varied_rows()
    for row in rows[:20]:
        row[2] = f"{row[3][6:10]}.{row[3][10:12]}"
    rows[5][2] = "1901.01"  # does not match its ID number
    path = write_book(tmp_path / "v.xlsx", [headers, *rows])
    quick, slow = plans(path, store, monkeypatch)
    assert described(quick) == described(slow)


@pytest.mark.parametrize("enabled", [True, False])
def test_rows_are_read_and_written_with_the_collector_paused_and_it_is_left_as_found(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool) -> None:
    path = write_book(tmp_path / "v.xlsx", [HEADERS, *varied_rows()])
    collecting = []
    read_data, insert = importer_module._read_data, importer_module._insert
    monkeypatch.setattr(importer_module, "_read_data", lambda *args: (collecting.append(gc.isenabled()), read_data(*args)))
    monkeypatch.setattr(importer_module, "_insert", lambda *args: (collecting.append(gc.isenabled()), insert(*args)))
    was, frozen = gc.isenabled(), gc.get_freeze_count()
    (gc.enable if enabled else gc.disable)()
    try:
        plan = plan_import(path, store)
        assert gc.isenabled() is enabled
        assert apply_import(store, plan, valid_only=True).inserted == len(plan.rows) > 40
        assert collecting == [False, False] and gc.isenabled() is enabled
        assert gc.get_freeze_count() == 0 or frozen  # what the import froze is back in the collector's sight
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize(("name", "values"), [
    ("name", ["王", "欧阳晓明", "张" * 50]),
    ("id_number", [resident_id(), "41052219850312123X", "12345678901234567X"]),
    ("mobile", ["13800001234", "19912345678"]),
])
def test_a_column_taken_as_it_is_is_what_its_rule_returns(name: str, values: list[str]) -> None:
    """Each pattern of _UNCHANGED admits only text that the cell reading and the field's rule return as is."""
    read, rule = cell_reader(name, date(2026, 6, 15)), field_rule("volunteer", name)
    for value in values:
        assert importer_module._UNCHANGED[name](value)
        assert rule(normalise_text(name, read(value)), name) == value
    for odd in (" 王五", "王\u200b五", "王五 ", "１３８００００１２３４", "1380000123", ""):
        assert not importer_module._UNCHANGED[name](odd)


_LINE_SAMPLES = ["王", "欧阳晓明", "张" * 50, "张" * 51, resident_id(), "41052219850312123X", "12345678901234567x",
                 "13800001234", "1380000123", "41052*", "abcd", "", " 王五", 12345678, None]


@given(st.lists(st.one_of(st.sampled_from(_LINE_SAMPLES), st.text("0123456789X王 \n", max_size=60)), max_size=5),
       st.sampled_from([*importer_module._UNCHANGED, "id_like"]))
def test_a_column_matched_at_once_is_each_value_matched(values: list, pattern: str) -> None:
    """_all_match joins the values by line breaks and matches the lines at once: the same answer as matching
    each value (a value holding a line break of its own, or not text, fails as it does alone)."""
    fullmatch = importer_module._UNCHANGED.get(pattern, importer_module._ID_LIKE.fullmatch)
    alone = all(type(value) is str and fullmatch(value) for value in values)
    assert importer_module._all_match(fullmatch, values) == alone
    assert importer_module._all_match(fullmatch, tuple(values) * 3) == alone
    assert importer_module._all_match(fullmatch, [v for v in _LINE_SAMPLES if type(v) is str and fullmatch(v)] * 2)


def test_bulk_resident_checks_match_the_record_rule() -> None:
    numbers = [resident_id(f"{1950 + n}{1 + n % 12:02d}{1 + n % 28:02d}", f"{n:03d}") for n in range(40)]
    numbers += [numbers[0][:-1] + "x", " " + numbers[1], numbers[2][:-1] + "0", "410522199902301234",
                "410522299901011234", "41052219850312123", "abc", ""]
    for number, fact in zip(numbers, resident_volunteer_facts(numbers), strict=True):
        record = {"id_number": number}
        errors = record_errors("volunteer", record, None)
        assert fact == (None if errors else (record["id_number"], record["sex"], record["birth_date"])), number


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_bulk_check_character_is_the_weighted_sum(first17: str) -> None:
    """resident_id_facts reads the 17 digits in base 13 (13 ≡ 2 mod 11, the weights' base): the same check
    character as GB 11643's weighted sum, for any digits."""
    number = first17 + id_check_char(first17)
    assert "10X98765432"[2 * int(first17, 13) % 11] == number[17]
    wrong = first17 + ("0" if number[17] != "0" else "1")
    facts = resident_id_facts([number, wrong], today=date(9999, 12, 31))
    assert (facts[0] is not None or not _real_date(first17[6:14])) and facts[1] is None


_DIGITS = "0123456789"


@st.composite
def stored_numbers(draw: st.DrawFn) -> str:
    """Numbers in the stored form (17 digits, then a digit or X): real or impossible birth dates (and ones after
    today), the right check character or any other."""
    born = draw(st.one_of(st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(lambda d: f"{d:%Y%m%d}"),
                          st.text(_DIGITS, min_size=8, max_size=8)))
    first17 = draw(st.text(_DIGITS, min_size=6, max_size=6)) + born + draw(st.text(_DIGITS, min_size=3, max_size=3))
    return first17 + draw(st.one_of(st.just(id_check_char(first17)), st.sampled_from(_DIGITS + "X")))


@given(st.lists(stored_numbers(), min_size=1, max_size=6), st.booleans())
def test_numbers_checked_a_column_at_a_time_pass_as_one_by_one(numbers: list[str], births_known: bool) -> None:
    """resident_id_columns gives the sexes and birth dates resident_id_facts gives, and None when it gives None
    for any number (with the birth dates made already or not)."""
    births: dict = {}
    facts = resident_id_facts(numbers, births=births)
    found = resident_id_columns(numbers, births if births_known else {})
    if None in facts:
        assert found is None
    else:
        assert found == ([sex for _n, sex, _born in facts], [born for _n, _sex, born in facts])
        assert [number for number, _sex, _born in facts] == numbers


def _real_date(digits: str) -> bool:
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return True


# --- the change log, written per statement -------------------------------------------------------------------

def log_of(store: Store) -> list[tuple]:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT seq, tbl, row_id, op, length(at), at LIKE '____-__-__T__:__:__.___Z'"
                                          " FROM change_log ORDER BY seq").all()


def county_store(path: Path) -> Store:
    opened = open_store(path)
    opened.set_settings(county_code="410522")
    return opened


def volunteer_params(count: int, county: str = "410522") -> tuple[tuple[str, ...], list[tuple]]:
    names = ("id", "county_code", "version", "updated_hlc", "updated_by", "deleted", "sync_state", "created_at",
             "name", "id_type", "id_number", "sex", "mobile", "phone2", "work_unit", "title", "expertise",
             "talent_tags", "availability", "publicity_consent", "stvs_status", "status", "notes")
    rows = [(new_id(), county, 0, "", "", 0, "local", "2026-06-15 00:00:00.000000", f"张{n}", "resident",
             resident_id(f"19{50 + n // 1000}0312", f"{n % 1000:03d}"), "male", f"138{n:08d}", "", "", "", "", "", "", 0, "unregistered",
             "active", "") for n in range(count)]
    return names, rows


@pytest.mark.parametrize("batch", [None, 400])
def test_the_change_log_is_what_the_capture_trigger_writes(tmp_path: Path, batch: int | None) -> None:
    """In one statement, or in batches as the importer writes them with the capture trigger looked up once for
    all of them (``trigger_present``)."""
    by_trigger, by_statement = county_store(tmp_path / "a" / "s.sqlite"), county_store(tmp_path / "b" / "s.sqlite")
    names, rows = volunteer_params(1203)
    try:
        with by_trigger.engine.begin() as connection:
            insert_params(connection, Volunteer.__table__, names, rows)
        with by_statement.engine.begin() as connection:
            if batch is None:
                insert_captured(connection, Volunteer.__table__, names, rows)
            else:
                present = capture_trigger_present(connection, Volunteer.__table__)
                assert present
                for start in range(0, len(rows), batch):
                    insert_captured(connection, Volunteer.__table__, names, rows[start:start + batch],
                                    trigger_present=present)
        assert log_of(by_statement) == log_of(by_trigger) and len(log_of(by_trigger)) == 1203
        assert [row[2] for row in log_of(by_statement)] == [row[0] for row in rows]
        with by_statement.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT active FROM sync_guard").scalar_one() == 0
    finally:
        by_trigger.close()
        by_statement.close()


@pytest.mark.parametrize("after_the_largest_rowid", [False, True])
def test_fixed_columns_given_once_store_and_log_what_full_rows_do(tmp_path: Path, after_the_largest_rowid: bool) -> None:
    """The columns the same in every row given once (``fixed``) store the same rows and the same log as full
    rows through the trigger. After a row at SQLite's largest rowid the new rows take random rowids: the log
    cannot be copied by rowid range then, and is written from the rows' ids."""
    by_trigger, by_statement = county_store(tmp_path / "a" / "s.sqlite"), county_store(tmp_path / "b" / "s.sqlite")
    names, rows = volunteer_params(1203)
    split = names.index("name")
    fixed = dict(zip(names[1:split], rows[0][1:split], strict=True))
    own = ("id", *names[split:])
    try:
        for store in (by_trigger, by_statement):
            with store.engine.begin() as connection:  # logged by the trigger in both stores
                insert_params(connection, Volunteer.__table__, names, rows[:1])
                if after_the_largest_rowid:
                    connection.exec_driver_sql("UPDATE volunteer SET rowid = 9223372036854775807")
        with by_trigger.engine.begin() as connection:
            insert_params(connection, Volunteer.__table__, names, rows[1:])
        with by_statement.engine.begin() as connection:
            present = capture_trigger_present(connection, Volunteer.__table__)
            for start in range(1, len(rows), 400):
                insert_captured(connection, Volunteer.__table__, own,
                                [(row[0], *row[split:]) for row in rows[start:start + 400]],
                                trigger_present=present, fixed=fixed)
        assert log_of(by_statement) == log_of(by_trigger)  # (the move of the first row is logged too: 'U')
        assert [row[2] for row in log_of(by_statement) if row[3] == "I"] == [row[0] for row in rows]
        stored = "SELECT * FROM volunteer ORDER BY id"
        with by_trigger.engine.connect() as one, by_statement.engine.connect() as other:
            assert one.exec_driver_sql(stored).all() == other.exec_driver_sql(stored).all()
            assert other.exec_driver_sql("SELECT active FROM sync_guard").scalar_one() == 0
            rowids = other.exec_driver_sql("SELECT max(rowid) - min(rowid) FROM volunteer").scalar_one()
        assert (rowids > len(rows)) == after_the_largest_rowid  # random rowids: the fallback was taken
    finally:
        by_trigger.close()
        by_statement.close()


def test_a_plan_matched_against_volunteers_since_gone_inserts_every_row(store: Store, tmp_path: Path) -> None:
    """Matched again on applying: into a store with no volunteer left, every row is new (the quick path)."""
    rows = varied_rows()[:5]
    path = write_book(tmp_path / "v.xlsx", [HEADERS, *rows])
    first = plan_import(path, store)
    apply_import(store, first, valid_only=True)
    again = plan_import(path, store, on_duplicate="update")
    assert {r.action for r in again.rows} == {"update"} and all(r.existing_id for r in again.rows)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM volunteer")
    result = apply_import(store, again, valid_only=True)
    assert (result.inserted, result.updated) == (len(again.rows), 0)
    assert all((r.action, r.existing_id, r.matched_by) == ("insert", None, "") for r in again.rows)


def test_rows_written_by_sync_stay_out_of_the_change_log(tmp_path: Path) -> None:
    store = county_store(tmp_path / "s.sqlite")
    names, rows = volunteer_params(3)
    try:
        with store.applying_remote_changes() as connection:
            insert_captured(connection, Volunteer.__table__, names, rows)
        assert log_of(store) == []
    finally:
        store.close()


def test_a_refused_insert_leaves_neither_rows_nor_log_nor_the_guard_up(tmp_path: Path) -> None:
    store = county_store(tmp_path / "s.sqlite")
    names, rows = volunteer_params(700)
    rows[650] = rows[10]  # the same id twice: the second statement fails
    try:
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as connection:
            insert_captured(connection, Volunteer.__table__, names, rows)
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT active FROM sync_guard").scalar_one() == 0
            assert connection.exec_driver_sql("SELECT COUNT(*) FROM volunteer").scalar_one() == 0
        assert log_of(store) == []
        with store.engine.begin() as connection:  # captured again afterwards, by the trigger
            insert_params(connection, Volunteer.__table__, names, rows[:1])
        assert len(log_of(store)) == 1
    finally:
        store.close()


def test_another_countys_row_is_refused_by_the_store_as_before(tmp_path: Path) -> None:
    store = county_store(tmp_path / "s.sqlite")
    names, rows = volunteer_params(3, county="410523")
    try:
        with pytest.raises(sa.exc.IntegrityError, match="其他县区"), store.engine.begin() as connection:
            insert_captured(connection, Volunteer.__table__, names, rows)
        names, rows = volunteer_params(3, county="410500")  # the city's code: the guard would let it in
        with pytest.raises(sa.exc.IntegrityError, match="其他县区"), store.engine.begin() as connection:
            insert_captured(connection, Volunteer.__table__, names, rows)
    finally:
        store.close()


def test_an_import_logs_each_new_volunteer_once(store: Store, tmp_path: Path) -> None:
    with store.engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM change_log").scalar_one()
    path = write_book(tmp_path / "v.xlsx", [HEADERS, *varied_rows()])
    result = apply_import(store, plan_import(path, store), valid_only=True)
    with store.engine.connect() as connection:
        logged = connection.exec_driver_sql("SELECT c.row_id, c.op FROM change_log c WHERE c.seq > ?",
                                            (before,)).all()
        new = {row[0] for row in connection.exec_driver_sql(
            "SELECT id FROM volunteer WHERE id IN (SELECT row_id FROM change_log WHERE seq > ?)", (before,))}
    assert len(logged) == result.inserted == len(new) and {op for _id, op in logged} == {"I"}


def test_batches_made_ahead_come_in_order_and_a_failure_reaches_the_caller() -> None:
    assert list(importer_module._made_ahead(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        list(importer_module._made_ahead(failing()))
    made = importer_module._made_ahead(iter(range(1000)), depth=1)
    assert next(made) == 0
    made.close()  # the caller stops early: the maker thread ends (close joins it)


def _volunteer_indexes(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                          "AND tbl_name = 'volunteer' ORDER BY name").all()


def test_a_large_import_into_a_small_table_makes_its_indexes_again_whole(store: Store, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the threshold (lowered here) the volunteer indexes are dropped for the insert and made again: the
    same indexes after, consistent with the rows, and a refused import leaves them as they were."""
    monkeypatch.setattr("sync.bulk.REBUILD_AT_ROWS", 10)
    before = _volunteer_indexes(store)
    assert len(before) > 5
    with store.engine.begin() as connection, indexes_made_after(connection, Volunteer.__table__, 60):
        left = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' "
                                          "AND tbl_name = 'volunteer'").scalars().all()
        assert left == ["sqlite_autoindex_volunteer_1"]  # the primary key's: a constraint, kept
    assert _volunteer_indexes(store) == before
    path = write_book(tmp_path / "v.xlsx", [HEADERS, *varied_rows()])
    refused = plan_import(path, store)
    last = refused.rows[-1]  # a NOT NULL column left empty in the last row: SQLite refuses it after the rest
    last.data = tuple(None if key == "name" else value for key, value in zip(last.keys, last.data, strict=True))
    with pytest.raises(ImportRefused, match="NOT NULL"):
        apply_import(store, refused, valid_only=True)
    assert _volunteer_indexes(store) == before
    result = apply_import(store, plan_import(path, store), valid_only=True)
    assert result.inserted > 10 and _volunteer_indexes(store) == before
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        by_index = connection.exec_driver_sql("SELECT count(*) FROM volunteer INDEXED BY ix_volunteer_id_number "
                                              "WHERE id_number > ''").scalar_one()
    assert by_index == result.inserted


def _own_county_trigger(store: Store) -> list[tuple[str]]:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                          "AND name = 'trg_volunteer_own_county_insert'").all()


def test_the_own_county_trigger_is_held_off_only_for_the_stores_own_rows(store: Store) -> None:
    """An import's rows all carry the store's county: the trigger is checked once and held off for the insert,
    then made again as it was. Rows of another county keep it, and it refuses them."""
    before = _own_county_trigger(store)
    assert len(before) == 1
    table = Volunteer.__table__
    names, rows = volunteer_params(3, county="410522")
    with store.engine.begin() as connection, own_county_checked_once(connection, table, "410522"):
        assert connection.exec_driver_sql("SELECT count(*) FROM sqlite_master "
                                          "WHERE name = 'trg_volunteer_own_county_insert'").scalar_one() == 0
        insert_captured(connection, table, names, rows)
    assert _own_county_trigger(store) == before
    names, rows = volunteer_params(3, county="410523")
    with pytest.raises(sa.exc.IntegrityError, match="其他县区"), store.engine.begin() as connection, \
            own_county_checked_once(connection, table, "410523"):
        insert_captured(connection, table, names, rows)
    assert _own_county_trigger(store) == before
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM volunteer").scalar_one() == 3


@given(st.one_of(stored_numbers(), stored_numbers().map(str.lower), stored_numbers().map(lambda n: f" {n}"),
                 st.text(_DIGITS + "Xx ", min_size=16, max_size=20)))
def test_one_stored_number_is_checked_as_parse_resident_id_checks_it(number: str) -> None:
    """resident_id_fact (a pushed volunteer's number) gives parse_resident_id's facts for a number in the stored form
    and None for any other, valid or not; the volunteer rule gives the same record and errors either way."""
    fact = resident_id_fact(number)
    try:
        parsed = parse_resident_id(number)
    except InvalidValue:
        parsed = None
    if fact is not None:
        assert parsed is not None and fact == (parsed.number, parsed.sex.value, parsed.birth_date)
    elif parsed is not None:
        assert parsed.number != number  # taken only after parse_resident_id's own steps (case, spaces)
    record = {"name": "张三", "id_type": "resident", "id_number": number, "mobile": "13800001234"}
    errors = record_errors("volunteer", record, None)
    if parsed is None:
        assert [error.field for error in errors] == ["id_number"]
    else:
        assert not errors and (record["id_number"], record["sex"], record["birth_date"]) == (
            parsed.number, parsed.sex.value, parsed.birth_date)
