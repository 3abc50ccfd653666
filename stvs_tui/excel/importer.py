"""Importing a volunteer roster: plan first (every problem as row + column + reason), then apply in one
transaction. The TUI shows ``plan_import``'s result as a preview; the CLI prints it.

By default a plan with any problem writes nothing; ``valid_only`` writes the good rows. A row whose volunteer
is already in the store (same ID number, or same name and mobile) is updated or skipped as the clerk chose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.enums import IdType, Sex
from schema.errors import FieldError, InvalidRecord, InvalidValue
from schema.models import Volunteer, new_id
from schema.store import Store
from schema.validation import clean_record
from stvs_tui.excel.columns import IGNORED_HEADERS, REQUIRED_FIELDS, from_cell, header_index, header_key
from stvs_tui.excel.errors import ImportRefused, UnrecognisedSheet
from stvs_tui.excel.reader import (
    HEADER_SCAN_ROWS,
    MAX_IMPORT_ROWS,
    Cell,
    SheetScan,
    column_letter,
    declared_rows,
    merged_problem_ranges,
    open_workbook,
    pick_sheet,
    refuse_if_too_long,
    stream_rows,
)

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


@dataclass
class PlannedRow:
    """A valid data row: its cleaned fields and what applying will do with it."""

    row: int
    values: dict[str, Any]
    action: Literal["insert", "update", "skip"] = "insert"
    existing_id: str | None = None
    matched_by: str = ""


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

    @property
    def bad_rows(self) -> set[int]:
        return {p.row for p in self.problems if p.row is not None}

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
                progress: Progress | None = None) -> ImportPlan:
    """Read and check a roster workbook without writing anything.

    Raises ``UnreadableWorkbook``, ``UnrecognisedSheet`` or ``TooManyRows`` for a file that cannot be
    imported at all; everything about single rows and cells goes into ``ImportPlan.problems``.
    """
    workbook = open_workbook(Path(path))
    try:
        return _plan(workbook, Path(path), store, on_duplicate, sheet, max_rows, today or date.today(), progress)
    finally:
        workbook.close()


def _plan(workbook: Any, path: Path, store: Store | None, on_duplicate: OnDuplicate, sheet_name: str | None,
          max_rows: int, today: date, progress: Progress | None) -> ImportPlan:
    checked: list[str] = []
    index = header_index()
    for sheet in pick_sheet(workbook, sheet_name):
        declared = declared_rows(sheet)
        if declared is not None:
            refuse_if_too_long(sheet.title, declared, max_rows, slack=HEADER_SCAN_ROWS)
        scan = SheetScan()
        rows = stream_rows(workbook, sheet, scan)
        found = _find_header(rows, index)
        if found is None:
            rows.close()
            checked.append(sheet.title)
            continue
        header_row, header_cells, after = found
        plan = _new_plan(path, sheet.title, header_row, header_cells, index, on_duplicate)
        _read_data(plan, chain(after, rows), scan, max_rows, today, declared, progress)
        if store is not None:
            with store.engine.connect() as connection:
                _match_existing(plan, connection)
        return plan
    raise UnrecognisedSheet(
        f"在工作表{'、'.join(checked)}的前{HEADER_SCAN_ROWS}行中找不到表头（应有“姓名”“证件号码”“手机号码”等列名）"
        f" (no header row found: expected columns such as 姓名/Name, 证件号码/ID number, 手机号码/Mobile)")


def _find_header(rows: Iterator[tuple[int, list[Cell]]], index: dict[str, tuple[str, bool]]
                 ) -> tuple[int, list[Cell], list[tuple[int, list[Cell]]]] | None:
    """The row among the first ones that names the most roster fields (at least two), and the rows read
    after it while looking (they are data). ``index`` is ``header_index()``."""
    best: tuple[int, list[Cell]] | None = None
    best_score = 1
    after: list[tuple[int, list[Cell]]] = []
    for row_number, cells in rows:
        score = len({index[k][0] for c in cells if (k := header_key(c.value)) in index})
        if score > best_score:
            best, best_score, after = (row_number, cells), score, []
        elif best is not None:
            after.append((row_number, cells))
        # A header is followed by data: once the row after a header names fewer fields, stop looking.
        if row_number >= HEADER_SCAN_ROWS or after:
            break
    return None if best is None else (*best, after)


def _new_plan(path: Path, sheet: str, header_row: int, cells: list[Cell], index: dict[str, tuple[str, bool]],
              on_duplicate: OnDuplicate) -> ImportPlan:
    columns: dict[int, str] = {}
    headers: dict[str, str] = {}
    own_label: dict[str, bool] = {}
    ignored: list[str] = []
    for cell in cells:
        text = str(cell.value).strip()
        key = header_key(text)
        if key not in index:
            if key not in IGNORED_HEADERS:
                ignored.append(text)
            continue
        name, is_label = index[key]
        # Two columns for one field (手机 and 联系电话): the field's own label wins, else the first column.
        if name in headers and (own_label[name] or not is_label):
            ignored.append(text)
            continue
        if name in headers:
            columns = {c: f for c, f in columns.items() if f != name}
        columns[cell.column], headers[name], own_label[name] = name, text, is_label
    missing = [f for f in REQUIRED_FIELDS if f not in headers]
    if missing:
        raise UnrecognisedSheet(_missing_columns_message(sheet, header_row, missing))
    return ImportPlan(path=path, sheet=sheet, header_row=header_row, columns=columns, headers=headers,
                      on_duplicate=on_duplicate, ignored_headers=ignored)


def _missing_columns_message(sheet: str, header_row: int, missing: list[str]) -> str:
    from schema.models import field_aliases, field_label

    parts = [f"{field_label(Volunteer, f)}（可用列名：{'、'.join(field_aliases(Volunteer, f))}）" for f in missing]
    english = ", ".join(field_label(Volunteer, f, "en") for f in missing)
    return f"工作表“{sheet}”第{header_row}行的表头缺少必填列：{'；'.join(parts)} (missing required columns: {english})"


def _read_data(plan: ImportPlan, rows: Iterator[tuple[int, list[Cell]]], scan: SheetScan, max_rows: int,
               today: date, declared: int | None, progress: Progress | None) -> None:
    seen_ids: dict[str, int] = {}
    seen_contacts: dict[tuple[str, str], int] = {}
    total = declared - plan.header_row if declared else None
    data_rows = 0
    for row_number, cells in rows:
        mapped = [c for c in cells if c.column in plan.columns]
        if not mapped:
            continue
        data_rows += 1
        if data_rows > max_rows:
            refuse_if_too_long(plan.sheet, data_rows, max_rows)
        planned = _check_row(plan, row_number, mapped, today)
        if planned is not None and not _duplicate_in_file(plan, planned, seen_ids, seen_contacts):
            plan.rows.append(planned)
        if progress is not None and data_rows % PROGRESS_EVERY == 0:
            progress(data_rows, total)
    if progress is not None:
        progress(data_rows, data_rows)
    for row, col, ref in merged_problem_ranges(scan.merged, plan.header_row):
        plan.problems.append(Problem(row, column_letter(col), _header_of(plan, col),
                                     f"合并单元格{ref}：请取消合并，并在每一行填写完整后再导入 "
                                     "(merged cells: unmerge them and fill every row)"))
    if plan.problems:
        plan.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        bad = plan.bad_rows
        plan.rows = [r for r in plan.rows if r.row not in bad]


def _header_of(plan: ImportPlan, column: int) -> str:
    name = plan.columns.get(column)
    return plan.headers[name] if name else column_letter(column)


def _problem(plan: ImportPlan, row: int, name: str, message: str) -> Problem:
    column = next((c for c, f in plan.columns.items() if f == name), None)
    if column is None:
        return Problem(row, None, None, message)
    return Problem(row, column_letter(column), plan.headers[name], message)


def _check_row(plan: ImportPlan, row: int, cells: list[Cell], today: date) -> PlannedRow | None:
    raw: dict[str, Any] = {}
    errors: list[FieldError] = []
    unreadable: set[str] = set()
    for cell in cells:
        name = plan.columns[cell.column]
        if cell.data_type in ("f", "e"):
            unreadable.add(name)
            what = "公式" if cell.data_type == "f" else f"错误值{cell.value}"
            errors.append(FieldError(name, f"单元格是{what}，请粘贴为数值后再导入 "
                                           "(a formula or error value: paste the values instead)"))
            continue
        try:
            raw[name] = from_cell(name, cell.value, today)
        except InvalidValue as exc:
            unreadable.add(name)
            errors.append(exc.error)
    cleaned = _clean(raw, unreadable, errors)
    if cleaned is not None:
        errors.extend(_stated_facts_mismatch(raw, cleaned))
    for error in errors:
        plan.problems.append(_problem(plan, row, error.field, error.message))
    return PlannedRow(row, cleaned) if cleaned is not None and not errors else None


def _clean(raw: dict[str, Any], unreadable: set[str], errors: list[FieldError]) -> dict[str, Any] | None:
    """``clean_record`` on what could be read; a field already reported is not reported again as missing."""
    present = {k: v for k, v in raw.items() if k not in ("sex", "birth_date") or not _derived_from_id(raw)}
    try:
        return clean_record("volunteer", present)
    except InvalidRecord as exc:
        errors.extend(e for e in exc.errors if e.field not in unreadable)
        return None


def _derived_from_id(raw: dict[str, Any]) -> bool:
    return raw.get("id_type", IdType.RESIDENT.value) == IdType.RESIDENT.value


def _stated_facts_mismatch(raw: dict[str, Any], cleaned: dict[str, Any]) -> list[FieldError]:
    """A resident ID encodes sex and birth date; a roster stating otherwise has a typo somewhere."""
    if cleaned.get("id_type", IdType.RESIDENT.value) != IdType.RESIDENT.value:
        return []
    errors = []
    if raw.get("sex") and raw["sex"] != cleaned["sex"]:
        derived = Sex(cleaned["sex"]).zh
        errors.append(FieldError("sex", f"性别与身份证号码不符，号码表明为“{derived}” (does not match the ID number)"))
    if raw.get("birth_date") and raw["birth_date"] != cleaned["birth_date"]:
        errors.append(FieldError("birth_date", f"出生日期与身份证号码不符，号码表明为{cleaned['birth_date'].isoformat()} "
                                               "(does not match the ID number)"))
    return errors


def _duplicate_in_file(plan: ImportPlan, planned: PlannedRow, seen_ids: dict[str, int],
                       seen_contacts: dict[tuple[str, str], int]) -> bool:
    values = planned.values
    contact = (values["name"], values["mobile"])
    earlier, name = seen_ids.get(values["id_number"]), "id_number"
    if earlier is None:
        earlier, name = seen_contacts.get(contact), "mobile"
    if earlier is not None:
        why = "证件号码相同" if name == "id_number" else "姓名和手机号码相同"
        plan.problems.append(_problem(plan, planned.row, name, f"与第{earlier}行重复（{why}）(duplicate of row {earlier})"))
        return True
    seen_ids[values["id_number"]] = planned.row
    seen_contacts[contact] = planned.row
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
    kept: list[PlannedRow] = []
    for planned in plan.rows:
        values = planned.values
        existing = by_id.get(values["id_number"])
        matched_by = "id_number"
        if existing is None and (values["name"], values["mobile"]) in by_contact:
            existing, their_number = by_contact[(values["name"], values["mobile"])]
            matched_by = "name_mobile"
            if their_number != values["id_number"]:
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


def apply_import(store: Store, plan: ImportPlan, *, valid_only: bool = False) -> ImportResult:
    """Write the plan in one transaction: all its rows or none (only the valid ones with ``valid_only``).

    Duplicates are matched again inside the transaction, so a plan previewed a while ago stays correct.
    """
    _refuse_unless_clean(plan, valid_only)
    county = store.county_code
    if not county:
        raise ImportRefused("本地数据库尚未初始化县区 (the store has no county yet: run `stvs-tui init`)")
    with store.engine.begin() as connection:
        _match_existing(plan, connection)
        _refuse_unless_clean(plan, valid_only)  # raising here rolls the transaction back
        inserts = [r for r in plan.rows if r.action == "insert"]
        updates = [r for r in plan.rows if r.action == "update"]
        _insert(connection, inserts, county)
        _update(connection, updates)
    return ImportResult(len(inserts), len(updates), plan.count("skip"), len(plan.bad_rows))


def _refuse_unless_clean(plan: ImportPlan, valid_only: bool) -> None:
    if plan.problems and not valid_only:
        raise ImportRefused(f"文件有{len(plan.problems)}个问题，未导入任何数据；改正后重试，或只导入有效行 "
                            f"({len(plan.problems)} problems: nothing imported; fix them or import the valid rows only)")


def _defaults() -> dict[str, Any]:
    """Every column's model default, so bulk inserts hold complete rows."""
    values: dict[str, Any] = {}
    for name, info in Volunteer.model_fields.items():
        if name in _TABLE.c and not info.is_required():
            values[name] = info.get_default(call_default_factory=True)
    return values


def _insert(connection: Connection, rows: list[PlannedRow], county: str) -> None:
    if not rows:
        return
    base = _defaults() | {"county_code": county, "created_at": datetime.now()}
    connection.execute(_TABLE.insert(), [base | r.values | {"id": new_id()} for r in rows])


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
