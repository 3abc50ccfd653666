"""Importing a volunteer roster: plan first (every problem as row + column + reason), then apply in one
transaction. The TUI shows ``plan_import``'s result as a preview; the CLI prints it.

By default a plan with any problem writes nothing; ``valid_only`` writes the good rows. A row whose volunteer
is already in the store (same ID number, or same name and mobile) is updated or skipped as the clerk chose.
"""

from __future__ import annotations

import gc
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, compress, islice, repeat
from operator import add, eq, is_, itemgetter, mul
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.enums import IdType, Sex
from schema.errors import FieldError, InvalidValue
from schema.models import Volunteer, new_id
from schema.store import Store
from schema.validation import (
    field_rule,
    record_errors,
    required_fields,
    resident_volunteer_columns,
    resident_volunteer_facts,
)
from stvs_tui.excel.columns import (
    IGNORED_HEADERS,
    MEMO_LIMIT,
    REQUIRED_FIELDS,
    TEXT_READ_FIELDS,
    YearMonth,
    cell_reader,
    header_index,
    header_key,
    is_footer,
    is_month_header,
    normalise_text,
)
from stvs_tui.excel.errors import ImportRefused, UnrecognisedSheet
from stvs_tui.excel.package import SheetFacts
from stvs_tui.excel.reader import (
    HEADER_SCAN_ROWS,
    MAX_IMPORT_ROWS,
    Book,
    Row,
    column_letter,
    refuse_if_too_long,
)
from sync.bulk import capture_trigger_present, indexes_made_after, insert_captured, own_county_checked_once
from sync.gctune import bulk_allocation, paused_collection

OnDuplicate = Literal["update", "skip"]
Progress = Callable[[int, int | None], None]
PROGRESS_EVERY = 500
_TABLE = Volunteer.__table__


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (row and column, when it is about a cell) and why."""

    row: int | None
    column: str | None
    header: str | None
    message: str

    def describe(self, lang: str = "zh") -> str:
        if lang == "en":
            where = f"row {self.row}" if self.row else "file"
            if self.column:
                where += f", column {self.column} ({self.header})"
            return f"{where}: {self.message}"
        where = f"第{self.row}行" if self.row else "文件"
        if self.column:
            where += f" {self.column}列（{self.header}）"
        return f"{where}：{self.message}"


@dataclass(frozen=True)
class Note:
    """Something the import left out or read on purpose (hidden rows, a sign-off under the table)."""

    zh: str
    en: str

    def describe(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


class PlannedRow:
    """A valid data row: its cleaned fields and what applying will do with it. The fields are kept as a key
    tuple shared by rows of the same shape and a value tuple: 100k rows of dicts would double the memory."""

    __slots__ = ("action", "data", "existing_id", "keys", "matched_by", "row")

    def __init__(self, row: int, keys: tuple[str, ...], data: tuple[Any, ...],
                 action: Literal["insert", "update", "skip"] = "insert") -> None:
        self.row, self.keys, self.data, self.action = row, keys, data, action
        self.existing_id: str | None = None
        self.matched_by = ""

    @property
    def values(self) -> dict[str, Any]:
        return dict(zip(self.keys, self.data, strict=True))

    def get(self, name: str) -> Any:
        return self.data[self.keys.index(name)] if name in self.keys else None

    def __repr__(self) -> str:
        return f"PlannedRow({self.row}, {self.values!r}, {self.action!r})"


@dataclass
class ImportPlan:
    path: Path
    sheet: str
    header_row: int
    columns: dict[int, str]
    headers: dict[str, str]
    on_duplicate: OnDuplicate
    ignored_headers: list[str] = field(default_factory=list)
    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    masked_rows: list[int] = field(default_factory=list)  # ID numbers like 410522********1234: one problem

    @property
    def bad_rows(self) -> set[int]:
        return {p.row for p in self.problems if p.row is not None} | set(self.masked_rows)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    def summary(self, lang: str = "zh") -> str:
        inserts, updates, skips = self.count("insert"), self.count("update"), self.count("skip")
        if lang == "en":
            return (f"{self.path.name} [{self.sheet}], header on row {self.header_row}: {len(self.rows)} valid rows "
                    f"(new {inserts}, update {updates}, skip {skips}), {len(self.bad_rows)} rows with problems, "
                    f"{len(self.problems)} problems")
        return (f"{self.path.name}［{self.sheet}］，表头在第{self.header_row}行：有效{len(self.rows)}行"
                f"（新增{inserts}，更新{updates}，跳过{skips}），有问题{len(self.bad_rows)}行，共{len(self.problems)}个问题")


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    updated: int
    skipped: int
    rejected: int

    def summary(self, lang: str = "zh") -> str:
        if lang == "en":
            return (f"imported: {self.inserted} new, {self.updated} updated, {self.skipped} duplicates skipped, "
                    f"{self.rejected} rows with problems left out")
        return f"已导入：新增{self.inserted}，更新{self.updated}，跳过重复{self.skipped}，未导入有问题的行{self.rejected}"


def plan_import(path: Path, store: Store | None = None, *, on_duplicate: OnDuplicate = "skip",
                sheet: str | None = None, max_rows: int = MAX_IMPORT_ROWS, today: date | None = None,
                progress: Progress | None = None, include_hidden: bool = False) -> ImportPlan:
    """Read and check a roster workbook without writing anything.

    Raises ``UnreadableWorkbook``, ``UnrecognisedSheet`` or ``TooManyRows`` for a file that cannot be
    imported at all; everything about single rows and cells goes into ``ImportPlan.problems``, and what
    was left out on purpose (hidden rows, a total or sign-off under the table) into ``ImportPlan.notes``.
    Hidden rows are imported only with ``include_hidden``.
    """
    book = Book(Path(path))
    try:
        options = _Options(on_duplicate, max_rows, today or date.today(), progress, include_hidden, book.program)
        with bulk_allocation(), _uncollected():
            return _plan(book, Path(path), store, sheet, options)
    finally:
        book.close()


@contextmanager
def _uncollected() -> Iterator[None]:
    """No cyclic collection while 100k rows are read and checked, or written: what they make is freed by
    reference counting or lives on in the plan (a plan leaves some 70 objects in cycles). What was made is
    then frozen, as ``bulk_allocation`` froze what was there before (it unfreezes all of it into the oldest
    generation when it made the freeze): else the first young pass after would walk all of it. The
    collector's passes took 0.11-0.15 s of CPU in a plan of 100k rows (45 young, 1-2 middle), and a young
    pass over all of it at once as much; ~0.02 s in the writing."""
    with paused_collection():
        try:
            yield
        finally:
            gc.freeze()


@dataclass(frozen=True)
class _Options:
    on_duplicate: OnDuplicate
    max_rows: int
    today: date
    progress: Progress | None
    include_hidden: bool
    program: str  # the application that saved the file, for messages that name it


def _plan(book: Book, path: Path, store: Store | None, sheet_name: str | None, options: _Options) -> ImportPlan:
    """The first sheet (of those asked for) with a roster header: a summary sheet before the roster, or a
    sheet whose header lacks required columns, is passed over for the next one."""
    checked: list[str] = []
    refused: UnrecognisedSheet | None = None
    index = header_index()
    for entry in book.pick(sheet_name):
        read = book.read(entry, options.max_rows)
        found = _find_header(read.rows, index)
        if found is None:
            read.rows.close()
            checked.append(entry.name)
            continue
        header_row, header_values, offset, after = found
        try:
            plan = _new_plan(path, entry.name, header_row, _header_cells(header_values, offset), index,
                             options.on_duplicate, read.facts)
        except UnrecognisedSheet as exc:
            read.rows.close()
            refused = refused or exc
            continue
        _read_data(plan, chain(after, read.rows), read.facts, options)
        if store is not None:
            with store.engine.connect() as connection:
                _match_existing(plan, connection)
        return plan
    if refused is not None:
        raise refused
    raise UnrecognisedSheet(
        f"在工作表{'、'.join(checked)}的前{HEADER_SCAN_ROWS}行中找不到表头（应有“姓名”“证件号码”“手机号码”等列名）"
        f" (no header row found: expected columns such as 姓名/Name, 证件号码/ID number, 手机号码/Mobile)")


def _header_cells(values: list[Any], offset: int) -> list[tuple[int, str]]:
    return [(offset + i + 1, str(v).strip()) for i, v in enumerate(values) if isinstance(v, str) and v.strip()]


def _find_header(rows: Iterator[Row], index: dict[str, tuple[str, bool]]
                 ) -> tuple[int, list[Any], int, list[Row]] | None:
    """The row among the first ones that names the most roster fields (at least two), and the rows read
    after it while looking (they are data). ``index`` is ``header_index()``."""
    best: tuple[int, list[Any], int] | None = None
    best_score = 1
    after: list[Row] = []
    for row in rows:
        row_number, values, offset = row
        if not any(v != "" and v is not None for v in values):
            continue
        score = len({index[k][0] for v in values if isinstance(v, str) and (k := header_key(v)) in index})
        if score > best_score:
            best, best_score, after = row, score, []
        elif best is not None:
            after.append(row)
        # A header is followed by data: once the row after a header names fewer fields, stop looking.
        if row_number >= HEADER_SCAN_ROWS or after:
            break
    return None if best is None else (*best, after)


def _new_plan(path: Path, sheet: str, header_row: int, cells: list[tuple[int, str]],
              index: dict[str, tuple[str, bool]], on_duplicate: OnDuplicate, facts: SheetFacts) -> ImportPlan:
    """Columns to fields. Two columns for one field (手机 and 联系电话): a visible column wins over a hidden
    one, then the field's own label over a variant, then the first column."""
    candidates: dict[str, list[tuple[bool, bool, int, str]]] = {}
    ignored: list[str] = []
    for column, text in cells:
        key = header_key(text)
        if key not in index:
            if key not in IGNORED_HEADERS:
                ignored.append(text)
            continue
        name, is_label = index[key]
        candidates.setdefault(name, []).append((column in facts.hidden_columns, not is_label, column, text))
    columns: dict[int, str] = {}
    headers: dict[str, str] = {}
    notes: list[Note] = []
    for name, found in candidates.items():
        hidden, _variant, column, text = min(found)
        columns[column], headers[name] = name, text
        ignored.extend(t for *_rest, t in sorted(found)[1:])
        notes.extend(_hidden_column_note(found, column, text))
    missing = [f for f in REQUIRED_FIELDS if f not in headers]
    if missing:
        raise UnrecognisedSheet(_missing_columns_message(sheet, header_row, missing))
    return ImportPlan(path=path, sheet=sheet, header_row=header_row, columns=dict(sorted(columns.items())),
                      headers=headers, on_duplicate=on_duplicate, ignored_headers=ignored, notes=notes)


def _hidden_column_note(found: list[tuple[bool, bool, int, str]], chosen: int, chosen_text: str) -> list[Note]:
    notes = []
    for hidden, _variant, column, text in found:
        where = f"{column_letter(column)}（{text}）"
        if hidden and column == chosen:
            notes.append(Note(f"隐藏的列{where}已读取（没有可见的同类列）",
                              f"hidden column {column_letter(column)} ({text}) was read: no visible column for it"))
        elif hidden:
            notes.append(Note(f"隐藏的列{where}未读取，以可见的列{column_letter(chosen)}（{chosen_text}）为准",
                              f"hidden column {column_letter(column)} ({text}) ignored: the visible column "
                              f"{column_letter(chosen)} ({chosen_text}) is used"))
    return notes


def _missing_columns_message(sheet: str, header_row: int, missing: list[str]) -> str:
    from schema.models import field_aliases, field_label

    parts = [f"{field_label(Volunteer, f)}（可用列名：{'、'.join(field_aliases(Volunteer, f))}）" for f in missing]
    english = ", ".join(field_label(Volunteer, f, "en") for f in missing)
    return f"工作表“{sheet}”第{header_row}行的表头缺少必填列：{'；'.join(parts)} (missing required columns: {english})"


def _read_data(plan: ImportPlan, rows: Iterator[Row], facts: SheetFacts, options: _Options) -> None:
    reader = _DataReader(plan, facts, options)
    block: list[tuple[int, tuple[Any, ...]]] = []
    while raw := list(islice(rows, BLOCK_ROWS)):
        block += reader.accept_block(raw)
        if len(block) >= BLOCK_ROWS:
            reader.check_block(block)
            block = []
    reader.check_block(block)
    reader.finish()


IDENTITY_FIELDS = frozenset({"name", "id_number", "mobile"})
MASK = "*"
BLOCK_ROWS = 1_000  # rows checked column by column at once


class _Failed:
    """A cell that could not be read: the error to report (or a masked or numeric ID, told apart)."""

    __slots__ = ("error", "kind")

    def __init__(self, error: FieldError | None, kind: str = "") -> None:
        self.error, self.kind = error, kind


_EMPTY = object()  # an empty cell: the field is left out of the record
# Text that the field's reading and rule return unchanged (no space, no invisible or full-width character, a
# well-formed value): a column made of such cells is taken as it is, without a call per cell.
# tests/test_excel_import.py holds each against the rule.
_UNCHANGED: dict[str, Callable[[str], Any]] = {
    "name": re.compile("[\u4e00-\u9fff]{1,50}").fullmatch,
    "id_number": re.compile("[0-9]{17}[0-9X]").fullmatch,
    "mobile": re.compile("1[3-9][0-9]{9}").fullmatch,
}


class _DataReader:
    """The data rows of one sheet. ``accept`` sorts rows out one by one (empty, hidden, a sign-off, merged
    values filled down); ``check_block`` then reads a block of rows column by column, so a column whose
    values repeat (units, titles, labels, dates) is cleaned once per distinct value, and plans each row."""

    def __init__(self, plan: ImportPlan, facts: SheetFacts, options: _Options) -> None:
        self.plan, self.facts, self.options = plan, facts, options
        self.mapped = list(plan.columns.items())
        self.names = tuple(name for _column, name in self.mapped)
        self.position = {column: index for index, (column, _name) in enumerate(self.mapped)}
        self.id_position = self.names.index("id_number")
        self.name_position = self.names.index("name")
        self.cleaners = [_column_cleaner(name, options.today) for name in self.names]
        self.memos: list[dict[Any, Any]] = [{"": _EMPTY} for _name in self.names]
        self.failing: list[set[Any]] = [set() for _name in self.names]
        self.as_read: set[int] = set()  # columns of the block being checked taken as read (see _UNCHANGED)
        self.month_only = "birth_date" in plan.headers and is_month_header(plan.headers["birth_date"])
        self.odd_rows: dict[int, list[int]] = {}
        for row, column in facts.formulas | facts.errors:
            if column in self.position:
                self.odd_rows.setdefault(row, []).append(self.position[column])
        self.fills, self.merge_tops = _merge_fills(plan, facts)
        # rows ``accept_block`` leaves to ``accept``: hidden, merged, with a formula or an error value
        self.special_rows = set(self.odd_rows) | set(self.fills) | set(self.merge_tops) | facts.hidden_rows
        self.merged_values: dict[tuple[int, int], Any] = {}
        self.seen_ids: dict[str, int] = {}
        self.births: dict[str, date | None] = {}  # birth dates made from ID numbers, by their eight digits
        self.seen_contacts = _Contacts()
        self.shapes: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.hidden: list[int] = []
        self.footers: list[tuple[int, str]] = []
        self.total = max(facts.rows - plan.header_row, 0) or None
        self.data_rows = 0
        self._getters: dict[int, Callable[[list[Any]], tuple[Any, ...]]] = {}

    def _getter(self, offset: int) -> Callable[[list[Any]], tuple[Any, ...]]:
        getter = self._getters.get(offset)
        if getter is None:
            indexes = [column - 1 - offset for column, _name in self.mapped]
            pick = itemgetter(*indexes)
            getter = pick if len(indexes) > 1 else (lambda values: (pick(values),))
            self._getters[offset] = getter
        return getter

    def accept_block(self, raw: list[Row]) -> list[tuple[int, tuple[Any, ...]]]:
        """``accept`` for a block of rows, at once where it can be: rows of the same width, none hidden,
        merged, holding a formula or an error, each with an ID-like ID number (so neither empty nor a
        line under the table). Otherwise row by row."""
        numbers = list(map(itemgetter(0), raw))
        offsets = set(map(itemgetter(2), raw))
        special = self.special_rows
        accepted = None
        if len(offsets) == 1 and (not special or special.isdisjoint(numbers)) \
                and self.data_rows + len(raw) <= self.options.max_rows:
            try:
                cells = list(map(self._getter(offsets.pop()), map(itemgetter(1), raw)))
                if _all_match(_ID_LIKE.fullmatch, list(map(itemgetter(self.id_position), cells))):
                    accepted = list(zip(numbers, cells, strict=True))
            except (IndexError, TypeError):  # a short row, an ID number that is not text: row by row
                pass
        if accepted is None:
            return [row for row in (self.accept(*row) for row in raw) if row is not None]
        progress = self.options.progress
        before, self.data_rows = self.data_rows, self.data_rows + len(accepted)
        if progress is not None:
            for count in range((before // PROGRESS_EVERY + 1) * PROGRESS_EVERY, self.data_rows + 1, PROGRESS_EVERY):
                progress(count, self.total)
        return accepted

    def accept(self, row_number: int, values: list[Any], offset: int) -> tuple[int, tuple[Any, ...]] | None:
        """The row's mapped cells in ``self.names`` order ("" when empty), or None for a row to pass over."""
        try:
            cells = self._getter(offset)(values)
        except IndexError:  # a short row (the openpyxl path): pad it
            cells = self._getter(offset)(values + [""] * (self.mapped[-1][0] - offset))
        if row_number in self.merge_tops or row_number in self.fills:
            cells = self._merged(row_number, cells)
        if cells.count("") + cells.count(None) == len(cells) and row_number not in self.odd_rows:
            return None
        if row_number in self.facts.hidden_rows and not self.options.include_hidden:
            self.hidden.append(row_number)
            return None
        id_cell = cells[self.id_position]
        if not (type(id_cell) is str and _ID_LIKE.fullmatch(id_cell.strip())) and not _is_number(id_cell):
            footer = _footer_text(values)
            if footer is not None:
                self.footers.append((row_number, footer))
                return None
        self.data_rows += 1
        if self.data_rows > self.options.max_rows:
            refuse_if_too_long(self.plan.sheet, self.data_rows, self.options.max_rows)
        progress = self.options.progress
        if progress is not None and self.data_rows % PROGRESS_EVERY == 0:
            progress(self.data_rows, self.total)
        return row_number, cells

    def _merged(self, row_number: int, cells: tuple[Any, ...]) -> tuple[Any, ...]:
        """Merged values filled down from the top row of their range."""
        for column in self.merge_tops.get(row_number, ()):
            self.merged_values[(row_number, column)] = cells[self.position[column]]
        filled = list(cells)
        for column, top in self.fills.get(row_number, ()):
            index = self.position[column]
            if filled[index] in ("", None):
                filled[index] = self.merged_values.get((top, column), "")
        return tuple(filled)

    def check_block(self, block: list[tuple[int, tuple[Any, ...]]]) -> None:
        if not block:
            return
        numbers, cells = zip(*block, strict=True)
        columns = list(zip(*cells, strict=True))
        failed: set[int] = set()
        self.as_read.clear()
        results = [self._clean_column(index, column, failed) for index, column in enumerate(columns)]
        if not failed and self._plan_block(numbers, results):
            return
        # Columns empty all through the block (no second phone, no notes) are left out of its records.
        kept = [i for i, result in enumerate(results) if result.count(_EMPTY) != len(result)]
        names = [self.names[i] for i in kept]
        rows = zip(*(results[i] for i in kept), strict=True) if kept else ((),) * len(numbers)
        for index, (row_number, values) in enumerate(zip(numbers, rows, strict=True)):
            if index in failed or row_number in self.odd_rows:
                row = tuple(result[index] for result in results)
                planned = self._check_slowly(row_number, row, cells[index])
                if planned is not None and not self._duplicate(planned):
                    self.plan.rows.append(planned)
                continue
            if _EMPTY in values:
                cleaned = {k: v for k, v in zip(names, values, strict=True) if v is not _EMPTY}
            else:
                cleaned = dict(zip(names, values, strict=True))
            planned = self._plan_row(row_number, cleaned, set(), [])
            if planned is not None and not self._duplicate(planned):
                self.plan.rows.append(planned)

    def _plan_block(self, numbers: tuple[int, ...], results: list[list[Any]]) -> bool:
        """Plan a block of rows whose cells all read cleanly, column by column, as ``_plan_row`` and
        ``_duplicate`` would row by row: every row of resident ID type, with its required fields, an ID
        number that passes, sex and birth date agreeing with it, no duplicate. False (nothing planned)
        when any row is otherwise: then each row goes its own way and gets its own message."""
        names = self.names
        if self.odd_rows and not self.odd_rows.keys().isdisjoint(numbers):
            return False
        position = {name: index for index, name in enumerate(names)}
        if "id_type" in position and not {RESIDENT, _EMPTY}.issuperset(results[position["id_type"]]):
            return False
        if any(name not in position or _EMPTY in results[position[name]] for name in REQUIRED):
            return False
        if len(self.births) > MEMO_LIMIT * 4:
            self.births.clear()
        ids = results[self.id_position]
        if self.id_position in self.as_read:  # each number as stored already: checked a column at a time
            found = resident_volunteer_columns(ids, self.births)
            if found is None:
                return False
            sexes, births = found
        else:
            facts = resident_volunteer_facts(ids, self.births)
            if None in facts:
                return False
            ids = list(map(itemgetter(0), facts))
            sexes, births = list(map(itemgetter(1), facts)), list(map(itemgetter(2), facts))
        # The stated sex and birth date agree with the ID number's: at once when every row states them
        # exactly (C-level comparisons), else row by row, leaving out the empty ones.
        stated = results[position["sex"]] if "sex" in position else None
        if stated is not None and not all(map(eq, stated, sexes)) and not all(
                value is _EMPTY or not value or value == sex for value, sex in zip(stated, sexes, strict=True)):
            return False
        stated = results[position["birth_date"]] if "birth_date" in position else None
        # (a datetime never equals a date: it goes row by row, as _stated_birth_agrees wants)
        if stated is not None and (self.month_only or not all(map(eq, stated, births))) and not all(
                map(self._stated_birth_agrees, stated, births)):
            return False
        unique = set(ids)
        if len(unique) != len(ids) or not self.seen_ids.keys().isdisjoint(unique):
            return False
        contacts = self.seen_contacts
        person_names, mobiles = results[position["name"]], results[position["mobile"]]
        shared = len(set(mobiles)) != len(mobiles) or not contacts.by_mobile.keys().isdisjoint(mobiles)
        if shared:  # a mobile met before: a duplicate only with the same name
            pairs = list(zip(person_names, mobiles, strict=True))
            if len(set(pairs)) != len(pairs) or any(contacts.get(*pair) is not None for pair in pairs):
                return False
        self.seen_ids.update(zip(ids, numbers, strict=True))
        # The record's fields in _plan_row's order: the sheet's (sex and birth date left out), then the two
        # the ID number gives; a column empty all through the block is left out, and an empty cell from its row.
        # (Required columns have no empty cell, nor columns taken as read.)
        count = len(numbers)
        empties = {index: results[index].count(_EMPTY) for index, name in enumerate(names)
                   if name not in STATED_FIELDS and name not in REQUIRED and index not in self.as_read}
        kept = [index for index, name in enumerate(names) if name not in STATED_FIELDS and empties.get(index, 0) < count]
        keys = (*(names[index] for index in kept), "sex", "birth_date")
        keys = self.shapes.setdefault(keys, keys)
        columns = [ids if index == self.id_position else results[index] for index in kept]
        columns += [sexes, births]
        records = list(zip(*columns, strict=True))
        shapes = [keys] * count
        holes = [at for at, index in enumerate(kept) if empties.get(index)]  # fields with an empty cell or more
        if holes:  # the rows with an empty cell: their fields without it
            # per row, bit k set when the k-th of those fields is empty in it (C-level, no Python step per row)
            gaps: list[int] = list(map(is_, columns[holes[0]], repeat(_EMPTY)))
            for bit, at in enumerate(holes[1:], start=1):
                gaps = list(map(add, gaps, map(mul, map(is_, columns[at], repeat(_EMPTY)), repeat(1 << bit))))
            picks: dict[int, tuple[tuple[str, ...], Callable[[tuple[Any, ...]], tuple[Any, ...]]]] = {}
            for at in compress(range(count), gaps):
                pick = picks.get(gaps[at])
                if pick is None:
                    left_out = {hole for bit, hole in enumerate(holes) if gaps[at] >> bit & 1}
                    present = [field for field in range(len(keys)) if field not in left_out]  # sex, birth date: 2+
                    shape = tuple(keys[field] for field in present)
                    pick = picks[gaps[at]] = (self.shapes.setdefault(shape, shape), itemgetter(*present))
                shapes[at], records[at] = pick[0], pick[1](records[at])
        planned = list(map(PlannedRow, numbers, shapes, records))
        self.plan.rows += planned
        if shared:
            for person, mobile, row in zip(person_names, mobiles, planned, strict=True):
                contacts.add(person, mobile, row)
        else:
            contacts.by_mobile.update(zip(mobiles, planned, strict=True))
        return True

    def _stated_birth_agrees(self, stated: Any, born: date) -> bool:
        """_stated_facts_mismatch's birth-date check of one row, the ID number valid and of resident type."""
        if stated is _EMPTY or stated is None:
            return True
        if type(stated) is date:
            if self.month_only:
                return (stated.year, stated.month) == (born.year, born.month)
            return stated == born
        if isinstance(stated, YearMonth):
            return stated.matches(born)
        return False  # anything else: the row's own check says what

    def _duplicate(self, planned: PlannedRow) -> bool:
        return _duplicate_in_file(self.plan, planned, self.seen_ids, self.seen_contacts)

    def _clean_column(self, index: int, column: tuple[Any, ...], failed: set[int]) -> list[Any]:
        name, clean = self.names[index], self.cleaners[index]
        unchanged = _UNCHANGED.get(name)
        if unchanged is not None and _all_match(unchanged, column):
            self.as_read.add(index)
            return list(column)  # every cell already as its field's rule leaves it (see _UNCHANGED)
        if name in UNIQUE_FIELDS:  # a call per cell: kept as short as it can be
            if column.count("") + column.count(None) == len(column):  # a column left empty (notes, phone2)
                return [_EMPTY] * len(column)
            out: list[Any] = []
            append = out.append
            checked_first = name == "id_number"  # a number or a masked ID is told apart first
            for position, value in enumerate(column):
                if value == "" or value is None:
                    append(_EMPTY)
                    continue
                if checked_first and (type(value) is not str or MASK in value):
                    result = self._clean_one(name, clean, value)
                else:
                    try:
                        result = clean(value)
                    except InvalidValue as exc:
                        result = _Failed(exc.error)
                if type(result) is _Failed:
                    failed.add(position)
                append(result)
            return out
        memo = self.memos[index]
        failing = self.failing[index]  # the values in the memo that failed
        try:
            out = list(map(memo.__getitem__, column))  # every value met before (the usual case)
        except KeyError:
            for value in set(column).difference(memo):
                result = memo[value] = _EMPTY if value is None else self._clean_one(name, clean, value)
                if type(result) is _Failed:
                    failing.add(value)
            out = list(map(memo.__getitem__, column))
        if failing and not failing.isdisjoint(column):
            failed.update(p for p, result in enumerate(out) if type(result) is _Failed)
        if len(memo) > MEMO_LIMIT:
            memo.clear()
            memo[""] = _EMPTY
            failing.clear()
        return out

    @staticmethod
    def _clean_one(name: str, clean: Callable[[Any], Any], value: Any) -> Any:
        if name == "id_number":
            if _is_number(value):
                return _Failed(None, "number")
            if type(value) is str and MASK in value:
                return _Failed(None, "masked")
        try:
            return clean(value)
        except InvalidValue as exc:
            return _Failed(exc.error)

    def _check_slowly(self, row_number: int, row: tuple[Any, ...], cells: tuple[Any, ...]) -> PlannedRow | None:
        """A row with a cell that failed, a formula or an error value: every such cell is reported."""
        cleaned: dict[str, Any] = {}
        errors: list[FieldError] = []
        unreadable: set[str] = set()
        odd = self.odd_rows.get(row_number, ())
        for index, (name, value) in enumerate(zip(self.names, row, strict=True)):
            if index in odd:
                unreadable.add(name)
                column = self.mapped[index][0]
                what = "公式" if (row_number, column) in self.facts.formulas else "错误值"
                errors.append(FieldError(name, f"单元格是{what}，请粘贴为数值后再导入 "
                                               "(a formula or error value: paste the values instead)"))
            elif type(value) is _Failed:
                if value.kind == "masked":
                    self.plan.masked_rows.append(row_number)
                    return None
                unreadable.add(name)
                errors.append(value.error or FieldError(name, self._number_id_message(cells)))
            elif value is not _EMPTY:
                cleaned[name] = value
        return self._plan_row(row_number, cleaned, unreadable, errors)

    def _plan_row(self, row_number: int, cleaned: dict[str, Any], unreadable: set[str],
                  errors: list[FieldError]) -> PlannedRow | None:
        stated = {name: cleaned.pop(name) for name in STATED_FIELDS if name in cleaned}
        if self.month_only and isinstance(stated.get("birth_date"), date):
            stated["birth_date"] = YearMonth(stated["birth_date"].year, stated["birth_date"].month)
        resident = cleaned.get("id_type", RESIDENT) == RESIDENT
        if not resident:
            _clean_stated(stated, cleaned, unreadable, errors)
        # The required-fields check only when one is missing: it is the same answer, for far less per row.
        given = None if cleaned.keys() >= REQUIRED else cleaned.keys() | unreadable
        checked = record_errors("volunteer", cleaned, given)
        if not checked and resident and "id_number" in cleaned:
            checked = _stated_facts_mismatch(stated, cleaned)
        if errors or checked:
            for error in errors + checked:
                self.plan.problems.append(_problem(self.plan, row_number, error.field, error.message))
            return None
        keys = tuple(cleaned)
        return PlannedRow(row_number, self.shapes.setdefault(keys, keys), tuple(cleaned.values()))

    def _number_id_message(self, cells: tuple[Any, ...]) -> str:
        who = cells[self.name_position]
        known = isinstance(who, str) and who.strip()
        who_zh = f"{str(who).strip()}的证件号码" if known else "证件号码"
        who_en = f"{str(who).strip()}'s ID number" if known else "the ID number"
        program = self.options.program
        by_zh, by_en = (f"被{program}", f" by {program}") if program else ("", "")
        return (f"{who_zh}{by_zh}存成了数字，末几位已丢失；请把此列设为“文本”格式后重新填写完整号码 "
                f"({who_en}: stored as a number, last digits lost (saved{by_en}); format the column as text "
                "and type the number again)")

    def finish(self) -> None:
        plan, progress = self.plan, self.options.progress
        if progress is not None:
            progress(self.data_rows, self.data_rows)
        _merge_problems(plan, self.facts)
        if self.facts.unlocated:
            plan.problems.append(Problem(None, None, None, f"有{self.facts.unlocated}个公式或错误值单元格无法定位，"
                                         "请粘贴为数值后再导入 (formulas or error values: paste the values instead)"))
        if plan.masked_rows:
            plan.problems.append(_masked_problem(plan))
        self._notes()
        if plan.problems:
            plan.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
            bad = plan.bad_rows
            plan.rows = [r for r in plan.rows if r.row not in bad]

    def _notes(self) -> None:
        notes = self.plan.notes
        if self.hidden:
            rows = row_ranges(self.hidden)
            notes.append(Note(f"隐藏的行：第{rows}行，共{len(self.hidden)}行，未导入（加 --include-hidden 可导入）",
                              f"hidden rows {rows} ({len(self.hidden)}) not imported (--include-hidden imports them)"))
        included = sorted(r for r in self.facts.hidden_rows if r > self.plan.header_row)
        if self.options.include_hidden and included:
            notes.append(Note(f"隐藏的行：第{row_ranges(included)}行，已按要求导入",
                              f"hidden rows {row_ranges(included)} imported as asked"))
        for row, text in self.footers:
            notes.append(Note(f"第{row}行“{text[:20]}”是表尾（合计或签字栏），未导入",
                              f"row {row} ({text[:20]}) is a total or sign-off under the table: not imported"))
        if self.fills:
            notes.append(Note("合并单元格的内容已填入其覆盖的每一行", "merged cells: the value was filled into every row"))


_ID_LIKE = re.compile(r"[0-9A-Za-z*()\-]{5,}")


def _all_match(fullmatch: Callable[[str], Any], values: Sequence[Any]) -> bool:
    """Every value a ``str`` that ``fullmatch`` (a compiled pattern's, matching no line break) matches: the
    values joined by line breaks, none holding one, matched as lines of that pattern (one C-level pass)."""
    if not values:
        return True
    lines = _LINES_OF.get(fullmatch)
    if lines is None:
        pattern = fullmatch.__self__  # type: ignore[attr-defined]
        one = f"(?:{pattern.pattern})"
        # possessive: a line that matches is never taken back (the line breaks fix where each value begins)
        lines = _LINES_OF[fullmatch] = re.compile(f"(?:{one}\n)*+{one}", pattern.flags).fullmatch
    try:
        text = "\n".join(values)
    except TypeError:  # not text
        return False
    return text.count("\n") == len(values) - 1 and lines(text) is not None


_LINES_OF: dict[Callable[[str], Any], Callable[[str], Any]] = {}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _footer_text(values: list[Any]) -> str | None:
    """A 合计 row or the 填表人/联系电话 sign-off: its first text starts with such a word."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip() if is_footer(value) else None
    return None


def _merge_fills(plan: ImportPlan, facts: SheetFacts
                 ) -> tuple[dict[int, list[tuple[int, int]]], dict[int, list[int]]]:
    """For merged ranges inside the data (a unit merged down over its people's rows): row → [(column, the
    range's top row)] to fill, and top row → [columns] whose value to keep. Identity columns are not
    filled: two people never share an ID number (``_merge_problems`` names those rows)."""
    fills: dict[int, list[tuple[int, int]]] = {}
    tops: dict[int, list[int]] = {}
    for first_col, first_row, _last_col, last_row in facts.merged:
        name = plan.columns.get(first_col)
        if first_row <= plan.header_row or last_row == first_row or name is None or name in IDENTITY_FIELDS:
            continue
        tops.setdefault(first_row, []).append(first_col)
        for row in range(first_row + 1, last_row + 1):
            fills.setdefault(row, []).append((first_col, first_row))
    return fills, tops


def _merge_problems(plan: ImportPlan, facts: SheetFacts) -> None:
    """Merged cells that cannot be read as a value per row: across the header row, or over the rows of
    a name, ID number or mobile column (every row of the range is named)."""
    for first_col, first_row, last_col, last_row in sorted(facts.merged, key=lambda m: (m[1], m[0])):
        ref = f"{column_letter(first_col)}{first_row}:{column_letter(last_col)}{last_row}"
        if last_row < plan.header_row:
            continue  # a merged title above the header
        if first_row <= plan.header_row:
            plan.problems.append(Problem(first_row, column_letter(first_col), _header_of(plan, first_col),
                                         f"合并单元格{ref}：表头不能合并到数据行，请取消合并 "
                                         "(merged cells across the header: unmerge them)"))
            continue
        names = {plan.columns.get(c) for c in range(first_col, last_col + 1)} & IDENTITY_FIELDS
        if last_row > first_row and names:
            for row in range(first_row, last_row + 1):
                plan.problems.append(Problem(row, column_letter(first_col), _header_of(plan, first_col),
                                             f"合并单元格{ref}：每个人的{_header_of(plan, first_col)}须单独填写，"
                                             "请取消合并 (merged cells: every person needs their own)"))


def _masked_problem(plan: ImportPlan) -> Problem:
    rows = plan.masked_rows
    column = next(c for c, f in plan.columns.items() if f == "id_number")
    return Problem(None, column_letter(column), plan.headers["id_number"],
                   f"{len(rows)}行（第{row_ranges(rows)}行）的证件号码中间是*，这是“导出名册”时脱敏的文件，不能作为名册导入；"
                   "请用 export roster --unmasked 导出完整号码的名册 "
                   f"(a masked export: {len(rows)} ID numbers are masked like 410522********1234; "
                   "export the roster with --unmasked to re-import it)")


def row_ranges(rows: list[int], limit: int = 12) -> str:
    """5、7–9、12 (the first ``limit`` runs, then …)."""
    runs: list[list[int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][1] + 1:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    text = "、".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:limit])
    return text + ("…" if len(runs) > limit else "")


def _header_of(plan: ImportPlan, column: int) -> str:
    name = plan.columns.get(column)
    return plan.headers[name] if name else column_letter(column)


def _problem(plan: ImportPlan, row: int, name: str, message: str) -> Problem:
    column = next((c for c, f in plan.columns.items() if f == name), None)
    if column is None:
        return Problem(row, None, None, message)
    return Problem(row, column_letter(column), plan.headers[name], message)


RESIDENT = IdType.RESIDENT.value
REQUIRED = frozenset(required_fields("volunteer"))
STATED_FIELDS = frozenset({"sex", "birth_date"})  # a resident ID gives them: compared, not taken
UNIQUE_FIELDS = frozenset({"name", "id_number", "mobile", "phone2", "notes"})  # differ row by row


def _column_cleaner(name: str, today: date) -> Callable[[Any], Any]:
    """A cell of this column as ``clean_record`` would store it: the cell read, then the field's own rule.
    Columns whose values repeat (units, titles, labels, dates) apply both once per distinct value."""
    read = cell_reader(name, today)
    if name in STATED_FIELDS:
        return read
    rule = field_rule("volunteer", name)
    assert rule is not None, name
    text_first = name in TEXT_READ_FIELDS  # where a text cell is only normalised: one call less

    def clean(value: Any) -> Any:
        if text_first and type(value) is str:
            return rule(normalise_text(name, value), name)
        return rule(read(value), name)

    return clean  # memoised per distinct value by the caller for all but UNIQUE_FIELDS


def _clean_stated(stated: dict[str, Any], cleaned: dict[str, Any], unreadable: set[str],
                  errors: list[FieldError]) -> None:
    """Another ID type: its number says nothing of sex and birth date, so the sheet's are taken."""
    for name, value in stated.items():
        if isinstance(value, YearMonth):
            unreadable.add(name)
            errors.append(FieldError(name, f"“{value}”只有年月，请填写完整出生日期（YYYY-MM-DD）"
                                           "(a full birth date is needed for this ID type)"))
            continue
        try:
            cleaned[name] = field_rule("volunteer", name)(value, name)  # type: ignore[misc]
        except InvalidValue as exc:
            unreadable.add(name)
            errors.append(exc.error)
    stated.clear()


def _stated_facts_mismatch(raw: dict[str, Any], cleaned: dict[str, Any]) -> list[FieldError]:
    """A resident ID encodes sex and birth date; a roster stating otherwise has a typo somewhere."""
    if cleaned.get("id_type", RESIDENT) != RESIDENT:
        return []
    errors = []
    stated = raw.get("birth_date")
    if isinstance(stated, YearMonth):
        if not stated.matches(cleaned["birth_date"]):
            errors.append(FieldError("birth_date", f"出生年月{stated}与身份证号码不符，号码表明为"
                                                   f"{cleaned['birth_date']:%Y-%m} (does not match the ID number)"))
        stated = None
    if raw.get("sex") and raw["sex"] != cleaned["sex"]:
        derived = Sex(cleaned["sex"]).zh
        errors.append(FieldError("sex", f"性别与身份证号码不符，号码表明为“{derived}” (does not match the ID number)"))
    if stated and stated != cleaned["birth_date"]:
        errors.append(FieldError("birth_date", f"出生日期与身份证号码不符，号码表明为{cleaned['birth_date'].isoformat()} "
                                               "(does not match the ID number)"))
    return errors


class _Contacts:
    """The (name, mobile) of the rows planned so far, kept without a tuple per row: by mobile the first
    row with it (its name is in the row), and the rare other names on a mobile (a family's one phone)."""

    __slots__ = ("by_mobile", "more")

    def __init__(self) -> None:
        self.by_mobile: dict[str, PlannedRow] = {}
        self.more: dict[tuple[str, str], int] = {}

    def get(self, name: str, mobile: str) -> int | None:
        """The earlier row with this name and mobile."""
        first = self.by_mobile.get(mobile)
        if first is None:
            return None
        if first.get("name") == name:
            return first.row
        return self.more.get((name, mobile))

    def add(self, name: str, mobile: str, planned: PlannedRow) -> None:
        """A row not met before (``get`` gave None)."""
        if self.by_mobile.setdefault(mobile, planned) is not planned:
            self.more[(name, mobile)] = planned.row


def _duplicate_in_file(plan: ImportPlan, planned: PlannedRow, seen_ids: dict[str, int],
                       seen_contacts: _Contacts) -> bool:
    values = dict(zip(planned.keys, planned.data, strict=True))
    number, person, mobile = values["id_number"], values["name"], values["mobile"]
    earlier, name = seen_ids.get(number), "id_number"
    if earlier is None:
        earlier, name = seen_contacts.get(person, mobile), "mobile"
    if earlier is not None:
        why = "证件号码相同" if name == "id_number" else "姓名和手机号码相同"
        plan.problems.append(_problem(plan, planned.row, name, f"与第{earlier}行重复（{why}）(duplicate of row {earlier})"))
        return True
    seen_ids[number] = planned.row
    seen_contacts.add(person, mobile, planned)
    return False


def _existing_index(connection: Connection) -> tuple[dict[str, str], dict[tuple[str, str], tuple[str, str]]]:
    """The store's volunteers by ID number, and by (name, mobile) → (id, ID number)."""
    by_id: dict[str, str] = {}
    by_contact: dict[tuple[str, str], tuple[str, str]] = {}
    query = sa.select(_TABLE.c.id, _TABLE.c.id_number, _TABLE.c.name, _TABLE.c.mobile).where(
        _TABLE.c.deleted.is_(False))
    for record_id, id_number, name, mobile in connection.execute(query):
        by_id[id_number.upper()] = record_id
        by_contact[(name, mobile)] = (record_id, id_number.upper())
    return by_id, by_contact


def _match_existing(plan: ImportPlan, connection: Connection) -> None:
    """Mark each row insert, update or skip against the store's current volunteers."""
    by_id, by_contact = _existing_index(connection)
    if not by_id and not by_contact:  # no volunteer yet (a first import): every row is new, none refused
        # (a row planned as an insert has no match already: only a plan matched before has other rows)
        for planned in [planned for planned in plan.rows if planned.action != "insert"]:
            planned.action, planned.existing_id, planned.matched_by = "insert", None, ""
        plan.rows = list(plan.rows)
        return
    kept: list[PlannedRow] = []
    positions: dict[tuple[str, ...], Callable[[tuple[Any, ...]], tuple[Any, ...]]] = {}
    for planned in plan.rows:
        pick = positions.get(planned.keys)
        if pick is None:  # rows share their key tuples: one getter per shape
            pick = positions[planned.keys] = _getter_of(planned.keys, ("id_number", "name", "mobile"))
        number, name, mobile = pick(planned.data)
        existing = by_id.get(number)
        matched_by = "id_number"
        if existing is None and by_contact and (name, mobile) in by_contact:
            existing, their_number = by_contact[(name, mobile)]
            matched_by = "name_mobile"
            if their_number != number:
                plan.problems.append(_problem(plan, planned.row, "id_number",
                                              "已登记的同名同手机号志愿者证件号码不同，请核对 "
                                              "(a volunteer with this name and mobile has another ID number)"))
                continue
        if existing is None:
            planned.action, planned.existing_id, planned.matched_by = "insert", None, ""
        else:
            planned.action, planned.existing_id, planned.matched_by = plan.on_duplicate, existing, matched_by
        kept.append(planned)
    plan.rows = kept


def _getter_of(keys: tuple[str, ...], names: tuple[str, ...]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Values of ``names`` from a row's data (None for a name the row lacks)."""
    indexes = [keys.index(name) if name in keys else None for name in names]
    if None not in indexes:
        return itemgetter(*indexes)
    return lambda data: tuple(None if i is None else data[i] for i in indexes)


def apply_import(store: Store, plan: ImportPlan, *, valid_only: bool = False) -> ImportResult:
    """Write the plan in one transaction: all its rows or none (only the valid ones with ``valid_only``).

    Duplicates are matched again inside the transaction, so a plan previewed a while ago stays correct.
    """
    _refuse_unless_clean(plan, valid_only)
    county = store.county_code
    if not county:
        raise ImportRefused("本地数据库尚未初始化县区 (the store has no county yet: run `stvs-tui init`)")
    try:
        # (the store's write lock first: it reads the store's rows before it writes, and waits for a sync's turn)
        with bulk_allocation(), _uncollected(), store.write_transaction() as connection, \
                _page_cache(connection, IMPORT_CACHE_KIB):
            _match_existing(plan, connection)
            _refuse_unless_clean(plan, valid_only)  # raising here rolls the transaction back
            inserts = [r for r in plan.rows if r.action == "insert"]
            updates = [r for r in plan.rows if r.action == "update"]
            _insert(connection, inserts, county)
            _update(connection, updates)
    except sa.exc.IntegrityError as exc:  # the store's own refusal (e.g. its county check): nothing written
        raise ImportRefused(f"未导入任何数据 (nothing imported): {exc.orig}") from None
    return ImportResult(len(inserts), len(updates), plan.count("skip"), len(plan.bad_rows))


# SQLite's page cache while importing. 100k rows make ~80 MB of table and index pages; with 32 MB more of them
# were spilled to the WAL and read back while the indexes were made (~0.1 s of CPU more). The peak RSS of an
# import stays the read's (calamine's grid): 218 MB while writing 100k rows, 232 MB while reading them.
IMPORT_CACHE_KIB = 64 * 1024


@contextmanager
def _page_cache(connection: Connection, kib: int) -> Iterator[None]:
    """A larger SQLite page cache for one transaction (the default 2 MB spills the indexes' pages to the WAL
    and reads them back); the connection's own size comes back after. It takes the room the workbook's
    cells freed."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = {-abs(int(kib))}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def _refuse_unless_clean(plan: ImportPlan, valid_only: bool) -> None:
    if plan.problems and not valid_only:
        raise ImportRefused(f"文件有{len(plan.problems)}个问题，未导入任何数据；改正后重试，或只导入有效行 "
                            f"({len(plan.problems)} problem{'s' if len(plan.problems) != 1 else ''}: nothing imported; "
                            "fix them or import the valid rows only)")


def _defaults() -> dict[str, Any]:
    """Every column's model default, so bulk inserts hold complete rows."""
    values: dict[str, Any] = {}
    for name, info in Volunteer.model_fields.items():
        if name in _TABLE.c and not info.is_required():
            values[name] = info.get_default(call_default_factory=True)
    return values


INSERT_BATCH = 2_000  # rows of parameters held at once (100k rows' dicts at once would double the memory)


def _insert(connection: Connection, rows: list[PlannedRow], county: str) -> None:
    """Rows of one shape (the same filled columns) at a time, as driver-ready tuples built column by column:
    the defaults of the columns a shape leaves empty are converted once, and each distinct date or flag once
    (they repeat). The next batch is built on a second thread while SQLite writes this one (it lets go of
    the GIL while it works), so on two cores the building costs no time. A large import into a small table
files its rows with the indexes dropped and makes them after (``indexes_made_after``); every row carries the
store's own county, so the own-county trigger is checked once, not per row (``own_county_checked_once``)."""
    with indexes_made_after(connection, _TABLE, len(rows)), own_county_checked_once(connection, _TABLE, county):
        captured = capture_trigger_present(connection, _TABLE)  # once: the batches leave that trigger alone
        for names, fixed, params in _made_ahead(_insert_batches(connection.dialect, rows, county)):
            insert_captured(connection, _TABLE, names, params, trigger_present=captured, fixed=fixed)


def _insert_batches(dialect: sa.Dialect, rows: list[PlannedRow], county: str
                    ) -> Iterator[tuple[tuple[str, ...], dict[str, Any], list[tuple[Any, ...]]]]:
    """Per batch: the columns each row gives (``id`` last), the driver values of the columns the same in
    every row (the county, the defaults of the columns the rows' shape leaves empty), and the rows."""
    base = _defaults() | {"county_code": county, "created_at": datetime.now()}
    shapes: dict[tuple[str, ...], list[PlannedRow]] = {}
    for planned in rows:
        shapes.setdefault(planned.keys, []).append(planned)
    for keys, group in shapes.items():
        fixed = {name: _driver_value(dialect, name, base[name]) for name in base if name not in keys and name != "id"}
        names = (*keys, "id")
        converting = {index: _bind_processor(dialect, name) for index, name in enumerate(keys)}
        memos: dict[int, dict[Any, Any]] = {index: {} for index in converting}
        for start in range(0, len(group), INSERT_BATCH):
            part = group[start:start + INSERT_BATCH]
            columns = [_converted(column, converting[index], memos[index])
                       for index, column in enumerate(zip(*(planned.data for planned in part), strict=True))]
            ids = [new_id() for _planned in part]
            yield names, fixed, list(zip(*columns, ids, strict=True))


_DONE = object()


def _made_ahead(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """``items``, each made on a second thread while the caller uses the one before (at most ``depth``
    waiting). A failure in making them is raised here; the caller stopping early stops the maker."""
    waiting: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def offer(entry: tuple[bool, Any]) -> None:
        while not stopped.is_set():  # a caller gone (stopped early, or failed) takes nothing more
            try:
                waiting.put(entry, timeout=0.2)
                return
            except queue.Full:
                continue

    def make() -> None:
        try:
            for item in chain(items, [_DONE]):
                offer((True, item))
                if stopped.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 (handed to the caller's thread)
            offer((False, exc))

    maker = threading.Thread(target=make, name="import-batches", daemon=True)
    maker.start()
    try:
        while True:
            made, item = waiting.get()
            if not made:
                raise item
            if item is _DONE:
                return
            yield item
    finally:
        stopped.set()
        maker.join()


def _converted(column: tuple[Any, ...], process: Callable[[Any], Any] | None,
               memo: dict[Any, Any]) -> tuple[Any, ...] | list[Any]:
    """A column's values as the driver takes them: each distinct value converted once (``memo``: the values
    converted so far, kept while few)."""
    if process is None:
        return column
    if len(memo) > MEMO_LIMIT:
        memo.clear()
    for value in set(column).difference(memo):
        memo[value] = process(value)
    return list(map(memo.__getitem__, column))


def _bind_processor(dialect: sa.Dialect, name: str) -> Callable[[Any], Any] | None:
    """SQLAlchemy's own conversion of a value for this column (as a Core insert applies it)."""
    return _TABLE.c[name].type._cached_bind_processor(dialect)


def _driver_value(dialect: sa.Dialect, name: str, value: Any) -> Any:
    process = _bind_processor(dialect, name)
    return value if process is None else process(value)


def _update(connection: Connection, rows: list[PlannedRow]) -> None:
    """Set the fields the sheet filled in; an empty cell leaves the stored value alone."""
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for planned in rows:
        fields = tuple(sorted(planned.values))
        params = {f"new_{name}": value for name, value in planned.values.items()}
        by_fields.setdefault(fields, []).append(params | {"target_id": planned.existing_id})
    for fields, params in by_fields.items():
        # Bind names differ from column names: SQLAlchemy reserves those for its own SET parameters.
        statement = (_TABLE.update().where(_TABLE.c.id == sa.bindparam("target_id"))
                     .values({f: sa.bindparam(f"new_{f}") for f in fields}))
        connection.execute(statement, params)
