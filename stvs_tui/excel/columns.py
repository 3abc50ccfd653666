"""The roster's columns: which volunteer fields a roster sheet holds, how each is written to a cell and how
a cell is read back before ``clean_record`` validates it. Headers and enumeration labels come from the
schema (``field_label``, ``field_aliases``, ``LabeledEnum``), so export, template and import agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from schema.enums import IdType, LabeledEnum, RegistrationStatus, Sex, TalentTag, VolunteerStatus
from schema.errors import InvalidValue
from schema.models import Volunteer, field_aliases, field_label

# The order of a roster sheet (and of the template). sex and birth_date follow from a resident ID.
ROSTER_FIELDS: tuple[str, ...] = (
    "name", "sex", "birth_date", "id_type", "id_number", "mobile", "phone2", "work_unit", "title", "expertise",
    "talent_tags", "availability", "publicity_consent", "stvs_status", "stvs_registered_on", "status",
    "joined_on", "notes",
)
REQUIRED_FIELDS: tuple[str, ...] = ("name", "id_number", "mobile")
ENUM_FIELDS: dict[str, type[LabeledEnum]] = {
    "sex": Sex, "id_type": IdType, "stvs_status": RegistrationStatus, "status": VolunteerStatus,
}
LIST_FIELDS: dict[str, type[LabeledEnum]] = {"talent_tags": TalentTag}
BOOL_FIELDS: frozenset[str] = frozenset({"publicity_consent"})
DATE_FIELDS: frozenset[str] = frozenset({"birth_date", "stvs_registered_on", "joined_on"})
# Fields Excel users like to type as numbers; a number there is read back as its digits.
DIGIT_FIELDS: frozenset[str] = frozenset({"id_number", "mobile", "phone2"})
# Headers that are common in rosters but carry nothing to import.
IGNORED_HEADERS: frozenset[str] = frozenset({"序号", "编号", "no", "no.", "#", "所在队伍", "team", "teams"})
SERIAL_NUMBER_HEADER = ("序号", "No.")
TEAMS_HEADER = ("所在队伍", "Teams")
LIST_SEPARATOR = "、"
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}

# Codes, numbers and dates are compared as NFKC text (full-width digits and letters become ASCII).
CODE_FIELDS: frozenset[str] = (DIGIT_FIELDS | DATE_FIELDS | BOOL_FIELDS | frozenset(ENUM_FIELDS)
                               | frozenset(LIST_FIELDS))
# Fields whose text cells are read by ``normalise_text`` alone (no label, date or year-month to parse).
TEXT_READ_FIELDS: frozenset[str] = frozenset(ROSTER_FIELDS) - DATE_FIELDS - BOOL_FIELDS - frozenset(ENUM_FIELDS) \
    - frozenset(LIST_FIELDS)
# Characters no one types on purpose that arrive with text pasted from web pages, PDFs and chat apps.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"))
FOOTER_WORDS = ("合计", "总计", "小计", "共计", "填表人", "填报人", "制表人", "审核人", "负责人", "单位负责人",
                "联系电话", "联系人", "填表日期", "填报日期", "制表日期", "注：", "注:", "说明：", "说明:")

_HEADER_NOISE = re.compile(r"[\s*:：]+")
_HEADER_NOTE = re.compile(r"[(\[【][^)\]】]*[)\]】]")  # 身份证号码（18位）, 姓名（必填）, 出生年月(yyyy.mm)
_FOOTER = re.compile(r"^\s*(?:" + "|".join(FOOTER_WORDS) + r")")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))$")
_TEXT_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_LIST_SPLIT = re.compile(r"[、，,；;/]")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
EARLIEST_DATE = date(1900, 1, 1)
EARLIEST_RECORD_DATE = date(1990, 1, 1)


def header_key(text: Any) -> str:
    """A header as compared: NFKC, no spaces (an ideographic one either), required-marks or notes in
    brackets ("身份证号码（18位）", "姓名（必填）"), case-folded."""
    key = unicodedata.normalize("NFKC", str(text or "")).translate(INVISIBLE)
    return _HEADER_NOTE.sub("", _HEADER_NOISE.sub("", key)).casefold()


def header_index() -> dict[str, tuple[str, bool]]:
    """Every accepted header key → (field, whether it is the field's own label rather than a variant)."""
    index: dict[str, tuple[str, bool]] = {}
    for field in ROSTER_FIELDS:
        labels = {header_key(field_label(Volunteer, field, lang)) for lang in ("zh", "en")}
        for alias in field_aliases(Volunteer, field):
            key = header_key(alias)
            if key and (key not in index or key in labels):
                index[key] = (field, key in labels)
    return index


def roster_headers(lang: str = "zh") -> list[str]:
    return [field_label(Volunteer, field, lang) for field in ROSTER_FIELDS]


def is_footer(text: Any) -> bool:
    """A line under the table: a 合计 row, or the 填表人/联系电话 sign-off."""
    return isinstance(text, str) and bool(_FOOTER.match(unicodedata.normalize("NFKC", text)))


def is_month_header(header: str) -> bool:
    """出生年月: a year and month are what the column asks for."""
    key = header_key(header)
    return "年月" in key and "日" not in key


@dataclass(frozen=True)
class YearMonth:
    """A birth date given as year and month only (出生年月: 1985.03, 1985年3月, 198503)."""

    year: int
    month: int

    def matches(self, day: date) -> bool:
        return (day.year, day.month) == (self.year, self.month)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"


_INVISIBLE_OR_NBSP = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad\u00a0]")


def normalise_text(field: str, text: str) -> str:
    """Strip invisible characters everywhere; NFKC codes, numbers and dates; no spaces inside an ID number."""
    if not text.isascii():
        if field in CODE_FIELDS:
            text = unicodedata.normalize("NFKC", text.translate(INVISIBLE))
        elif _INVISIBLE_OR_NBSP.search(text):
            text = text.translate(INVISIBLE).replace("\u00a0", " ")
    text = text.strip()
    if field == "id_number" and " " in text:
        text = text.replace(" ", "")
    return text


CellReader = Callable[[Any], Any]
MEMO_LIMIT = 10_000  # distinct values remembered per enumerated column (they repeat on every row)


def from_cell(field: str, value: Any, today: date) -> Any:
    """A cell's value as the raw input ``clean_record`` expects; raises ``InvalidValue`` for what it cannot be.

    Dates may be real dates, Excel serial numbers or text (2021-03-05, 2021/3/5, 2021年3月5日, 20210305).
    """
    return cell_reader(field, today)(value)


def cell_reader(field: str, today: date) -> CellReader:
    """``from_cell`` for one column, made once per import: enumerated columns remember what each distinct
    value became (100k rows hold a handful of labels), text columns take a short path."""
    if field in DATE_FIELDS:
        return lambda value: _date_value(field, value, today)
    if field in DIGIT_FIELDS:
        return lambda value: _digits_value(field, value)
    if field in LIST_FIELDS or field in ENUM_FIELDS or field in BOOL_FIELDS:
        return memoised(lambda value: _convert(field, value))

    def text_value(value: Any) -> Any:
        if type(value) is str:
            return normalise_text(field, value)
        return _convert(field, value)

    return text_value


def memoised(convert: CellReader) -> CellReader:
    """``convert`` remembering what each distinct value became (up to ``MEMO_LIMIT`` values)."""
    memo: dict[Any, Any] = {}

    def read(value: Any) -> Any:
        key = (type(value), value)
        found = memo.get(key, memo)
        if found is memo:
            found = convert(value)  # raises InvalidValue for a bad value: not remembered, raised each time
            if len(memo) < MEMO_LIMIT:
                memo[key] = found
        return found

    return read


def _date_value(field: str, value: Any, today: date) -> Any:
    if isinstance(value, str):
        value = normalise_text(field, value)
    if field == "birth_date" and (month := _year_month(value)) is not None:
        return month
    return _date_from_cell(field, value, today)


def _digits_value(field: str, value: Any) -> Any:
    if type(value) is str:
        return normalise_text(field, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _digits_from_number(field, value)
    return value


def _convert(field: str, value: Any) -> Any:
    if isinstance(value, str):
        value = normalise_text(field, value)
    if field in LIST_FIELDS:
        return _list_codes(LIST_FIELDS[field], value)
    if field == "sex":
        member = Sex.from_label(str(value))
        if member is None:
            raise InvalidValue(field, f"“{value}”应为“男”或“女” (expected male or female)")
        return member.value
    if field in ENUM_FIELDS:
        # A label becomes its code here; an unknown text goes on to clean_record, which lists the choices.
        member = ENUM_FIELDS[field].from_label(str(value))
        return member.value if member else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _year_month(value: Any) -> YearMonth | None:
    """A year and month without a day: "1985.03", "1985-3", "1985年3月", "198503", or 1985.03 as a number."""
    if isinstance(value, float) and 1900 <= value < 2100 and not value.is_integer():
        text = f"{value:.2f}"  # 1985.1 is how a typed "1985.10" is stored: October
        year, month = int(text[:4]), int(text[5:7])
        return YearMonth(year, month) if 1 <= month <= 12 else None
    if not isinstance(value, str):
        return None
    match = _YEAR_MONTH.match(value)
    if not match:
        return None
    month = int(match.group(2) or match.group(3))
    return YearMonth(int(match.group(1)), month) if 1 <= month <= 12 else None


def _list_codes(kind: type[LabeledEnum], value: Any) -> str:
    """Labels to codes before validation: English labels hold spaces, which the schema's splitter cuts at."""
    parts = [p.strip() for p in _LIST_SPLIT.split(str(value)) if p.strip()]
    return ",".join(member.value if (member := kind.from_label(p)) else p for p in parts)


def _digits_from_number(field: str, value: float) -> str:
    # Excel keeps 15 significant digits: an 18-digit ID typed as a number has lost its last digits.
    if isinstance(value, float) and (not value.is_integer() or abs(value) >= 1e15):
        raise InvalidValue(field, f"“{value:g}”被Excel存成了数字，末几位已丢失；请把此列设为文本后重新填写 "
                                  "(stored as a number by Excel, digits lost: format the column as text)")
    return str(int(value))


def _date_from_cell(field: str, value: Any, today: date) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        day = _date_from_serial(field, value)
    else:
        day = _date_from_text(field, str(value))
    return _plausible(field, day, today)


def _date_from_serial(field: str, serial: float) -> date:
    """An Excel serial day number (a date cell that lost its date format), e.g. 44197 = 2021-01-01."""
    if not 1 <= serial < 2958466:
        raise InvalidValue(field, f"“{serial:g}”不是有效日期 (not a date)")
    from openpyxl.utils.datetime import from_excel  # here: an import need not load openpyxl otherwise

    converted = from_excel(serial)
    return converted.date() if isinstance(converted, datetime) else converted


def _date_from_text(field: str, text: str) -> date:
    match = _TEXT_DATE.match(text) or _COMPACT_DATE.match(text)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    raise InvalidValue(field, f"“{text}”不是有效日期，应为YYYY-MM-DD (expected a date YYYY-MM-DD)")


def _plausible(field: str, day: date, today: date) -> date:
    """Refuse dates no roster can mean: birth before 1900 or in the future, records before 1990 or next year."""
    earliest = EARLIEST_DATE if field == "birth_date" else EARLIEST_RECORD_DATE
    latest = today if field == "birth_date" else today + timedelta(days=366)
    if not earliest <= day <= latest:
        raise InvalidValue(field, f"日期{day.isoformat()}不合理，应在{earliest.isoformat()}至{latest.isoformat()}之间 "
                                  f"(date out of range)")
    return day


def roster_formatter(lang: str = "zh") -> Callable[[Sequence[Any], str], list[Any]]:
    """Stored values of ``ROSTER_FIELDS`` (a sequence in that order) as a clerk reads them: labels, 是/否,
    dates, None for empty. Label look-ups are built once, not per cell: 100k-row exports."""
    labels = {f: {m.value: m.label(lang) for m in kind} for f, kind in ENUM_FIELDS.items()}
    tags = {m.value: m.label(lang) for m in TalentTag}
    yes, no = YES_NO[lang]

    def row(volunteer: Sequence[Any], id_number: str) -> list[Any]:
        cells: list[Any] = []
        for name, value in zip(ROSTER_FIELDS, volunteer, strict=False):
            if name == "id_number":
                value = id_number
            elif name in labels:
                value = labels[name].get(value, value)
            elif name == "talent_tags":
                value = LIST_SEPARATOR.join(tags.get(code, code) for code in value.split(",") if code)
            elif name == "publicity_consent":
                value = yes if value else no
            cells.append(None if value == "" else value)
        return cells

    return row
