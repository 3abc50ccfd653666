"""Record-level validation: the one check every write path runs (UI forms, Excel import, the server).

``clean_record`` takes raw field values (text from a form or a cell, or JSON from the wire), returns them
normalised and typed, and raises ``InvalidRecord`` listing every field at fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from functools import cache
from typing import Any

from schema.enums import (
    ActivityStatus,
    CommendationLevel,
    DemandStatus,
    HostUnitKind,
    IdType,
    LabeledEnum,
    MemberRole,
    RegistrationStatus,
    ReportStatus,
    ServiceKind,
    TalentTag,
    TeamStatus,
    TeamTier,
    VenueKind,
    VolunteerStatus,
)
from schema.errors import FieldError, InvalidRecord, InvalidValue
from schema.validators import (
    normalize_id_number,
    normalize_mobile,
    normalize_name,
    normalize_period,
    normalize_phone,
    normalize_region_code,
    parse_resident_id,
    resident_id_columns,
    resident_id_fact,
    resident_id_facts,
)

Cleaner = Callable[[Any, str], Any]


def enum_of(kind: type[LabeledEnum]) -> Cleaner:
    codes = {member.value: member.value for member in kind}

    def clean(value: Any, field: str) -> str:
        if type(value) is str:  # a code as stored: what every synced record carries
            code = codes.get(value)
            if code is not None:
                return code
        member = kind.from_label(str(value)) if value is not None else None
        if member is None:
            allowed = "、".join(m.zh for m in kind)
            raise InvalidValue(field, f"“{value}”不是有效选项，可选：{allowed}")
        return member.value

    clean.wire_form = ("enum", frozenset(codes))  # type: ignore[attr-defined]
    return clean


def enum_list_of(kind: type[LabeledEnum]) -> Cleaner:
    """A comma/、/；-separated list of members, stored as comma-separated codes."""

    member = enum_of(kind)  # made once, not once per item of every value
    codes = frozenset(m.value for m in kind)

    def clean(value: Any, field: str) -> str:
        if type(value) is str:  # already distinct codes joined by commas (as stored): nothing to normalise
            parts = value.split(",")
            if codes.issuperset(parts) and len(set(parts)) == len(parts):
                return value
        text = str(value or "")
        for sep in "、，；;/ ":
            text = text.replace(sep, ",")
        parts = [p for p in text.split(",") if p]
        return ",".join(member(p, field) for p in dict.fromkeys(parts))

    return clean


NUL_MESSAGE = "含有不可见的控制字符 (contains a NUL character)"
OUT_OF_RANGE = "数值超出范围 (number out of range)"
INT_MAX = 2**31 - 1  # what every database's INTEGER holds


def text(max_length: int, required: bool = False) -> Cleaner:
    def clean(value: Any, field: str) -> str:
        result = "" if value is None else str(value).strip()
        if required and not result:
            raise InvalidValue(field, "不能为空 (required)")
        if "\x00" in result:  # never meant, and PostgreSQL cannot store it
            raise InvalidValue(field, NUL_MESSAGE)
        if len(result) > max_length:
            raise InvalidValue(field, f"不能超过{max_length}个字 (at most {max_length} characters)")
        return result

    clean.wire_form = ("text", max_length, required)  # type: ignore[attr-defined]
    return clean


def name(max_length: int = 50) -> Cleaner:
    return lambda value, field: normalize_name(str(value or ""), field, max_length)


def optional_date(value: Any, field: str) -> date | None:
    if type(value) is str and len(value) == 10:  # YYYY-MM-DD as sent: one parse, no normalising to try
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if value in (None, ""):
        return None
    return required_date(value, field)


def required_date(value: Any, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value or "").strip()
    for candidate in (raw, raw.replace("/", "-").replace(".", "-")):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    if raw.endswith("日") and "年" in raw and "月" in raw:
        y, rest = raw[:-1].split("年", 1)
        m, d = rest.split("月", 1)
        try:
            return date(int(y), int(m), int(d))
        except ValueError:
            pass
    raise InvalidValue(field, f"“{value}”不是有效日期，应为YYYY-MM-DD (expected a date YYYY-MM-DD)")


# Date-times have one form on every node (county stores, a SQLite or PostgreSQL server, the wire): naive
# wall-clock time in China Standard Time (UTC+8), the time a clerk reads and types. A value given with a UTC
# offset (2026-12-01T09:00:00+08:00, 2026-12-01T01:00:00Z) is converted to it on input.
CHINA_TIME = timezone(timedelta(hours=8), "CST")


def canonical_datetime(value: datetime) -> datetime:
    """``value`` in the stored form: naive China Standard Time."""
    return value if value.tzinfo is None else value.astimezone(CHINA_TIME).replace(tzinfo=None)


def required_datetime(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        return canonical_datetime(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return canonical_datetime(datetime.fromisoformat(str(value).strip()))
    except ValueError:
        raise InvalidValue(field, f"“{value}”不是有效时间，应为YYYY-MM-DD HH:MM (expected date and time)") from None


def optional_datetime(value: Any, field: str) -> datetime | None:
    return None if value in (None, "") else required_datetime(value, field)


def non_negative_int(value: Any, field: str) -> int:
    try:
        number = int(str(value).strip() or 0) if not isinstance(value, int) else value
    except ValueError:
        raise InvalidValue(field, f"“{value}”不是整数 (not a whole number)") from None
    if number < 0:
        raise InvalidValue(field, "不能为负数 (must not be negative)")
    if number > INT_MAX:
        raise InvalidValue(field, OUT_OF_RANGE)
    return number


def hours(value: Any, field: str) -> float:
    try:
        number = float(value or 0)
    except (TypeError, ValueError):
        raise InvalidValue(field, f"“{value}”不是数字 (not a number)") from None
    if not 0 <= number <= 24 * 31:
        raise InvalidValue(field, "服务时长应在0到744小时之间 (must be between 0 and 744 hours)")
    return round(number, 2)


MAX_MONTHLY_HOURS = 10**8  # 100,000 volunteers serving every hour of a month is well below it


def monthly_hours(value: Any, field: str) -> float:
    """A month's total service hours: a number, not negative, bounded."""
    try:
        result = float(value or 0)
    except (TypeError, ValueError):
        raise InvalidValue(field, f"“{value}”不是数字 (not a number)") from None
    if not math.isfinite(result) or result > MAX_MONTHLY_HOURS:
        raise InvalidValue(field, OUT_OF_RANGE)
    if result < 0:
        raise InvalidValue(field, "不能为负数 (must not be negative)")
    return round(result, 2)


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raw = str(value or "").strip().lower()
    if raw in ("1", "true", "yes", "y", "是", "同意", "已注册", "√", "✓"):
        return True
    if raw in ("", "0", "false", "no", "n", "否", "不同意", "未注册", "×"):
        return False
    raise InvalidValue(field, f"“{value}”应为“是”或“否” (expected yes or no)")


def optional_boolean(value: Any, field: str) -> bool | None:
    return None if value in (None, "") else boolean(value, field)


def optional_ref(value: Any, field: str) -> str | None:
    return None if value in (None, "") else text(36, required=True)(value, field)


def json_counts(value: Any, field: str) -> str:
    import json

    try:
        data = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, int) and v >= 0 for v in data.values()):
        raise InvalidValue(field, "应为{类别: 次数}的JSON (expected a JSON object of counts)")
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


RULES: dict[str, dict[str, Cleaner]] = {
    "team": {
        "name": text(100, required=True), "tier": enum_of(TeamTier), "host_kind": enum_of(HostUnitKind),
        "host_unit": text(100), "parent_id": optional_ref, "leader_name": text(50),
        "contact_phone": lambda v, f: normalize_phone(str(v or ""), f), "founded_on": optional_date,
        "service_kinds": enum_list_of(ServiceKind), "stvs_status": enum_of(RegistrationStatus),
        "stvs_registered_on": optional_date, "stvs_org_no": text(40), "filed_on": optional_date,
        "status": enum_of(TeamStatus), "dissolved_on": optional_date, "notes": text(500),
    },
    "volunteer": {
        "name": name(50), "id_type": enum_of(IdType), "id_number": text(30, required=True),
        "sex": text(8), "birth_date": optional_date,
        "mobile": lambda v, f: normalize_mobile(str(v or ""), f),
        "phone2": lambda v, f: normalize_phone(str(v or ""), f), "work_unit": text(100), "title": text(50),
        "expertise": text(200), "talent_tags": enum_list_of(TalentTag), "availability": text(100),
        "publicity_consent": boolean, "stvs_status": enum_of(RegistrationStatus),
        "stvs_registered_on": optional_date, "status": enum_of(VolunteerStatus), "joined_on": optional_date,
        "notes": text(500),
    },
    "membership": {
        "team_id": text(36, required=True), "volunteer_id": text(36, required=True), "role": enum_of(MemberRole),
        "joined_on": optional_date, "left_on": optional_date,
    },
    "activity": {
        "title": text(200, required=True), "team_id": text(36, required=True),
        "service_kind": enum_of(ServiceKind), "venue_kind": enum_of(VenueKind), "partner_unit": text(100),
        "starts_at": required_datetime, "ends_at": required_datetime, "place": text(200), "content": text(2000),
        "recruit_quota": non_negative_int, "status": enum_of(ActivityStatus), "person_in_charge": text(50),
        "recorder": text(50), "beneficiaries": non_negative_int, "summary": text(4000),
        "publicity_url": text(500),
    },
    "participation": {
        "activity_id": text(36, required=True), "volunteer_id": text(36, required=True),
        "signed_up_at": optional_datetime, "attended": optional_boolean, "hours": hours,
        "hours_confirmed": boolean, "confirmed_by": text(50), "evaluation": text(500),
    },
    "hours_correction": {
        "participation_id": text(36, required=True), "old_hours": hours, "new_hours": hours,
        "reason": text(500, required=True), "corrected_by": text(50), "corrected_at": required_datetime,
    },
    "demand": {
        "requesting_unit": text(100, required=True), "unit_kind": enum_of(HostUnitKind), "contact": text(100),
        "need": text(2000, required=True), "wanted_service_kind": enum_of(ServiceKind),
        "wanted_on": optional_date, "status": enum_of(DemandStatus), "activity_id": optional_ref,
    },
    "commendation": {
        "volunteer_id": optional_ref, "team_id": optional_ref, "title": text(200, required=True),
        "level": enum_of(CommendationLevel), "issuer": text(100), "awarded_on": required_date,
        "note": text(2000),
    },
    "monthly_report": {
        "period": lambda v, f: normalize_period(str(v or ""), f), "is_nil": boolean,
        "activities": non_negative_int, "by_kind": json_counts, "by_venue": json_counts,
        "person_times": non_negative_int, "volunteers": non_negative_int, "hours": monthly_hours,
        "beneficiaries": non_negative_int, "new_volunteers": non_negative_int, "new_teams": non_negative_int,
        "highlights": text(4000), "status": enum_of(ReportStatus), "submitted_at": optional_datetime,
        "submitted_by": text(50),
    },
    "reporting_deadline": {
        "name": text(200, required=True), "kind": text(32), "period": text(7), "due_on": required_date,
        "note": text(500),
    },
}

def region_code(value: Any, field: str) -> str:
    if type(value) is str and len(value) == 6 and value.isascii() and value.isdigit():
        return value  # six ASCII digits: what normalize_region_code would return unchanged
    return normalize_region_code(str(value or ""), field=field)


# What each rule returns unchanged, for ``sync.records``' checker of whole records in wire form (a pushed
# row): the value of a field passes as it is when it is already in that form; otherwise the rule itself runs.
# "date" / "datetime": the canonical text (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS), the flag saying whether None
# passes (the rule returns None for it); "bool": true/false (and None when flagged); "uint": an integer
# 0..INT_MAX; "hours": a fraction in (0, 744] with at most two decimals; "region": six ASCII digits; "ref": None
# or text(36, required) as it is.
optional_date.wire_form = ("date", True)  # type: ignore[attr-defined]
required_date.wire_form = ("date", False)  # type: ignore[attr-defined]
required_datetime.wire_form = ("datetime", False)  # type: ignore[attr-defined]
optional_datetime.wire_form = ("datetime", True)  # type: ignore[attr-defined]
boolean.wire_form = ("bool", False)  # type: ignore[attr-defined]
optional_boolean.wire_form = ("bool", True)  # type: ignore[attr-defined]
non_negative_int.wire_form = ("uint",)  # type: ignore[attr-defined]
hours.wire_form = ("hours",)  # type: ignore[attr-defined]
region_code.wire_form = ("region",)  # type: ignore[attr-defined]
optional_ref.wire_form = ("ref", True)  # type: ignore[attr-defined]

COMMON_RULES: dict[str, Cleaner] = {
    "county_code": region_code,
    "deleted": boolean,
}


def clean_record(table: str, fields: Mapping[str, Any], *, partial: bool = False,
                 extra_rules: Mapping[str, Cleaner] | None = None, strict_types: bool = False) -> dict[str, Any]:
    """Validate and normalise ``fields`` of a ``table`` record.

    With ``partial`` only the given fields are checked (an edit of some fields); otherwise fields the
    table requires must be present. Unknown fields are an error: they would be silently lost.
    ``extra_rules`` checks fields a caller knows besides the record's own (sync: ``created_at``).
    ``strict_types`` (values from the wire): each value must already be of its column's JSON type (text for
    text, a number for a number, true/false for a flag, null only where the column allows it); a form or a
    cell gives text, which the rules convert, but a device sends stored values, so anything else is refused
    rather than converted (a county code sent as a number must not become another county's code).
    """
    rules = _rules_of(table)
    if rules is None:
        raise InvalidRecord(table, [FieldError("table", f"unknown table {table!r}")])
    types = wire_types(table) if strict_types else None
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, value in fields.items():
        rule = rules.get(field)
        if rule is None and extra_rules is not None:
            rule = extra_rules.get(field)
        if rule is None:
            errors.append(FieldError(field, "未知字段 (unknown field)"))
            continue
        if types is not None and type(value) not in types[field]:
            errors.append(FieldError(field, wrong_type_message(types[field], value)))
            continue
        try:
            cleaned[field] = rule(value, field)
        except InvalidValue as exc:
            errors.append(exc.error)
    errors.extend(record_errors(table, cleaned, None if partial else fields))
    if errors:
        raise InvalidRecord(table, errors)
    return cleaned


def field_rule(table: str, field: str) -> Cleaner | None:
    """The rule ``clean_record`` applies to one field of ``table``: for bulk paths (a 100k-row import) that
    apply it once per distinct value and then call ``record_errors``, as ``clean_record`` does."""
    rules = _rules_of(table)
    return None if rules is None else rules.get(field)


def record_errors(table: str, cleaned: dict[str, Any], given: Collection[str] | None) -> list[FieldError]:
    """What ``clean_record`` checks beyond single fields: required fields missing from ``given`` (None for
    a partial record) and the table's cross-field rules, which may complete ``cleaned``."""
    errors = [] if given is None else _missing_required(table, given)
    cross_field = CROSS_FIELD_RULES.get(table)
    if cross_field is not None:
        errors.extend(cross_field(cleaned))
    return errors


JSON_KINDS: dict[type, tuple[str, str]] = {
    str: ("文本", "text"), int: ("数字", "a number"), float: ("数字", "a number"), bool: ("是/否", "true or false"),
    type(None): ("空值", "null"), list: ("列表", "a list"), dict: ("对象", "an object"),
}


@cache
def wire_types(table: str) -> dict[str, frozenset[type]]:
    """Per column of ``table``, the Python types of the JSON values it accepts on the wire (from the model):
    text for text, dates and times; an integer for an integer (never a flag); an integer or a fraction for a
    fraction; true/false for a flag; null where the column is nullable."""
    from schema.models import TABLE_MODELS

    accepted = {int: frozenset({int}), float: frozenset({int, float}), bool: frozenset({bool})}
    found: dict[str, frozenset[type]] = {}
    for column in TABLE_MODELS[table].__table__.columns:  # type: ignore[attr-defined]
        kinds = accepted.get(column.type.python_type, frozenset({str}))
        found[column.name] = kinds | {type(None)} if column.nullable else kinds
    return found


def wrong_type_message(expected: frozenset[type], value: Any) -> str:
    zh = "或".join(dict.fromkeys(JSON_KINDS[kind][0] for kind in _in_order(expected)))
    en = " or ".join(dict.fromkeys(JSON_KINDS[kind][1] for kind in _in_order(expected)))
    got_zh, got_en = JSON_KINDS.get(type(value), ("其他", "something else"))
    return f"应为{zh}，收到{got_zh} (expected {en}, got {got_en})"


def _in_order(kinds: frozenset[type]) -> list[type]:
    return [kind for kind in JSON_KINDS if kind in kinds]


@cache
def _rules_of(table: str) -> dict[str, Cleaner] | None:
    """The table's rules and the common ones in one mapping (one lookup per field of every record)."""
    return COMMON_RULES | RULES[table] if table in RULES else None


def _missing_required(table: str, fields: Collection[str]) -> list[FieldError]:
    return [FieldError(name, "不能为空 (required)") for name in _required_fields(table) if name not in fields]


def required_fields(table: str) -> tuple[str, ...]:
    """Fields a whole record of ``table`` must have (what ``record_errors`` reports as missing)."""
    return _required_fields(table)


@cache
def _required_fields(table: str) -> tuple[str, ...]:
    """Fields a whole record must have (cached: reading pydantic's field info costs more than the check)."""
    from schema.models import TABLE_MODELS

    return tuple(name for name, info in TABLE_MODELS[table].model_fields.items()
                 if info.is_required() and name in RULES[table])


_RESIDENT = IdType.RESIDENT.value  # read once: an enum member's .value costs a descriptor call per record


def _volunteer_errors(cleaned: dict[str, Any]) -> list[FieldError]:
    """The ID number against its type; a resident ID fills in sex and birth date."""
    if "id_number" not in cleaned:
        return []
    id_type = cleaned.get("id_type", _RESIDENT)
    try:
        if id_type == _RESIDENT:
            number = cleaned["id_number"]
            facts = resident_id_fact(number) if type(number) is str else None
            if facts is None:  # any other form, or a fault: the whole check, which names it
                parsed = parse_resident_id(number)
                facts = (parsed.number, parsed.sex.value, parsed.birth_date)
            cleaned.update(id_number=facts[0], sex=facts[1], birth_date=facts[2])
        else:
            cleaned["id_number"] = normalize_id_number(id_type, cleaned["id_number"])
    except InvalidValue as exc:
        return [exc.error]
    return []


def resident_volunteer_facts(numbers: Iterable[str], births: dict[str, date | None] | None = None
                             ) -> list[tuple[str, str, date] | None]:
    """What ``record_errors`` fills in for many volunteer records of resident ID type at once (a bulk import):
    per ID number, (the number as stored, sex, birth date), or None where it reports an error instead (ask
    ``record_errors`` for it). The same checks as ``_volunteer_errors``, which does one record; ``births``
    keeps the birth dates made, for the next call."""
    return resident_id_facts(numbers, births=births)


def resident_volunteer_columns(numbers: Sequence[str], births: dict[str, date | None]
                               ) -> tuple[list[str], list[date]] | None:
    """``resident_volunteer_facts`` for ID numbers each already as stored (17 ASCII digits then a digit or X),
    column by column: their sexes and birth dates, or None where any record would have an error."""
    return resident_id_columns(numbers, births)


def _activity_errors(cleaned: dict[str, Any]) -> list[FieldError]:
    if {"starts_at", "ends_at"} <= cleaned.keys() and cleaned["ends_at"] < cleaned["starts_at"]:
        return [FieldError("ends_at", "结束时间早于开始时间 (ends before it starts)")]
    return []


def _membership_errors(cleaned: dict[str, Any]) -> list[FieldError]:
    if cleaned.get("left_on") and cleaned.get("joined_on") and cleaned["left_on"] < cleaned["joined_on"]:
        return [FieldError("left_on", "退出日期早于加入日期 (left before joining)")]
    return []


def _commendation_errors(cleaned: dict[str, Any]) -> list[FieldError]:
    if "volunteer_id" in cleaned and "team_id" in cleaned and not (cleaned["volunteer_id"] or cleaned["team_id"]):
        return [FieldError("volunteer_id", "须指定受表彰的志愿者或队伍 (name a volunteer or a team)")]
    return []


# Rules that involve more than one field of a table; derived values (sex, birth date) are filled in here.
CROSS_FIELD_RULES: dict[str, Callable[[dict[str, Any]], list[FieldError]]] = {
    "volunteer": _volunteer_errors, "activity": _activity_errors, "membership": _membership_errors,
    "commendation": _commendation_errors,
}
