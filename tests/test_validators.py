"""Validators of DOMAIN.md: GB 11643 resident ID, mainland mobiles, names, periods, masking."""

from __future__ import annotations

from datetime import date

import pytest

from schema.enums import IdType, Sex
from schema.errors import InvalidRecord, InvalidValue
from schema.validation import clean_record
from schema.validators import (
    id_check_char,
    mask_id_number,
    normalize_id_number,
    normalize_mobile,
    normalize_name,
    normalize_period,
    normalize_phone,
    parse_resident_id,
)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_valid_resident_ids_from_the_standard_pass(number: str) -> None:
    assert parse_resident_id(number).number == number


def test_lower_case_x_is_accepted_and_normalised() -> None:
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


def test_sex_and_birth_date_are_derived_from_the_number() -> None:
    female = parse_resident_id("11010519491231002X")
    assert (female.birth_date, female.sex) == (date(1949, 12, 31), Sex.FEMALE)
    male = parse_resident_id("440524188001010014")
    assert (male.birth_date, male.sex) == (date(1880, 1, 1), Sex.MALE)


def test_bad_check_digit_names_the_expected_character() -> None:
    with pytest.raises(InvalidValue, match="末位应为X") as info:
        parse_resident_id("110105194912310021")
    assert info.value.error.field == "id_number"


@pytest.mark.parametrize("number", ["110105194902300015", "110105194913010015", "110105000000000015"])
def test_impossible_birth_date_is_refused(number: str) -> None:
    fixed = number[:17] + id_check_char(number[:17])
    with pytest.raises(InvalidValue, match="不存在"):
        parse_resident_id(fixed)


def test_future_birth_date_is_refused() -> None:
    body = "41052220991231001"
    with pytest.raises(InvalidValue, match="未来"):
        parse_resident_id(body + id_check_char(body), today=date(2026, 11, 29))


@pytest.mark.parametrize("number", ["11010519491231002", "11010519491231002XX", ""])
def test_wrong_length_is_refused_with_the_length(number: str) -> None:
    with pytest.raises(InvalidValue, match=f"实际为{len(number)}位"):
        parse_resident_id(number)


def test_letters_inside_the_number_are_refused() -> None:
    with pytest.raises(InvalidValue, match="前17位须为数字"):
        parse_resident_id("1101051949A231002X")


def test_first_six_digits_need_not_be_a_current_region() -> None:
    body = "99999919800101001"
    assert parse_resident_id(body + id_check_char(body)).birth_date == date(1980, 1, 1)


def test_other_id_types_take_their_own_format() -> None:
    assert normalize_id_number(IdType.PASSPORT, " e12345678 ") == "E12345678"
    with pytest.raises(InvalidValue):
        normalize_id_number(IdType.PASSPORT, "12")


@pytest.mark.parametrize("raw", ["+86 138-0013-8000", "86 13800138000", "138 0013 8000", "+8613800138000",
                                 "13800138000"])
def test_mobiles_with_prefix_spaces_and_dashes_normalise(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "23800138000", "138001380001"])
def test_non_mobiles_are_refused(raw: str) -> None:
    with pytest.raises(InvalidValue, match="不是有效的手机号码"):
        normalize_mobile(raw)


def test_a_landline_is_not_a_mobile_but_is_a_second_contact() -> None:
    with pytest.raises(InvalidValue, match="座机"):
        normalize_mobile("0372-2555663")
    assert normalize_phone("0372-2555663") == "0372-2555663"


def test_names_keep_cjk_and_the_middle_dot() -> None:
    assert normalize_name("阿依古丽·买买提") == "阿依古丽·买买提"
    assert normalize_name("  王   芳 ") == "王 芳"
    with pytest.raises(InvalidValue):
        normalize_name("   ")


def test_period_normalises_month() -> None:
    assert normalize_period("2026-3") == "2026-03"
    with pytest.raises(InvalidValue):
        normalize_period("2026-13")


def test_masking_keeps_region_and_last_four() -> None:
    assert mask_id_number("410522198001011234") == "410522********1234"


def test_clean_record_reports_every_bad_field() -> None:
    with pytest.raises(InvalidRecord) as info:
        clean_record("volunteer", {"name": "", "id_number": "110105194912310021", "mobile": "12345"})
    fields = {e.field for e in info.value.errors}
    assert fields == {"name", "id_number", "mobile"}


def test_clean_record_derives_sex_and_birth_date() -> None:
    cleaned = clean_record("volunteer", {"name": "王芳", "id_number": "11010519491231002x", "mobile": "13800138000"})
    assert cleaned["sex"] == "female" and cleaned["birth_date"] == date(1949, 12, 31)


def test_clean_record_refuses_unknown_fields_and_bad_enums() -> None:
    with pytest.raises(InvalidRecord) as info:
        clean_record("team", {"name": "某队", "tier": "battalion", "colour": "red"}, partial=True)
    assert {e.field for e in info.value.errors} == {"tier", "colour"}


def test_enum_fields_accept_chinese_labels() -> None:
    cleaned = clean_record("team", {"name": "某队", "tier": "大队", "service_kinds": "卫生健康服务、实用技术推广"},
                           partial=True)
    assert cleaned["tier"] == "county" and cleaned["service_kinds"] == "health,tech_promotion"


def test_activity_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidRecord, match="ends_at"):
        clean_record("activity", {"title": "讲座", "team_id": "t", "starts_at": "2026-05-01 10:00",
                                  "ends_at": "2026-05-01 09:00"})


# Values already in the stored form take a short path through the rules (every pushed record is in that
# form); these pin that the short path and the full normalising path still agree at their border.
@pytest.mark.parametrize(("field", "raw", "expected"), [
    ("tier", "county", "county"), ("tier", " county ", "county"), ("tier", "大队", "county"),
    ("service_kinds", "health,tech_promotion", "health,tech_promotion"),
    ("service_kinds", "health,health", "health"), ("service_kinds", "health,,tech_promotion", "health,tech_promotion"),
    ("service_kinds", "health、tech_promotion", "health,tech_promotion"), ("service_kinds", "", ""),
    ("county_code", "410522", "410522"), ("county_code", " 410522\n", "410522"),
    ("founded_on", "2023-01-05", date(2023, 1, 5)), ("founded_on", "2023/01/05", date(2023, 1, 5)),
    ("founded_on", "", None), ("contact_phone", "13800138000", "13800138000"),
    ("contact_phone", "138 0013 8000", "13800138000"),
])
def test_stored_form_and_raw_input_clean_alike(field: str, raw: object, expected: object) -> None:
    assert clean_record("team", {field: raw}, partial=True)[field] == expected


@pytest.mark.parametrize(("field", "raw"), [("tier", "County"), ("service_kinds", "health,battalion"),
                                            ("county_code", "41052"), ("founded_on", "2023-02-30")])
def test_near_misses_of_the_stored_form_are_still_checked(field: str, raw: str) -> None:
    with pytest.raises(InvalidRecord, match=field):
        clean_record("team", {field: raw}, partial=True)


def test_id_check_char_wants_exactly_seventeen_digits() -> None:
    with pytest.raises(ValueError):
        id_check_char("1101051949123100")


def _text_fields() -> list[tuple[str, str]]:
    from schema.validation import COMMON_RULES, RULES
    from sync.records import column_kinds

    fields = [(table, name) for table, rules in RULES.items() for name in (*rules, *COMMON_RULES)
              if column_kinds(table)[name] == "str"]
    assert len(fields) > 50
    return fields


@pytest.mark.parametrize(("table", "field"), _text_fields())
def test_no_text_field_lets_a_nul_through(table: str, field: str) -> None:
    """The server stores what the rules return (PostgreSQL refuses NUL in text): every text rule refuses it."""
    with pytest.raises(InvalidRecord, match=field):
        clean_record(table, {field: "a\x00b"}, partial=True)


def test_malformed_monthly_figures_are_field_errors_not_crashes() -> None:
    """Found by comparing the rules against their earlier form on random input: these raised JSON and
    float errors, which the server would have answered with a 500 instead of a per-record rejection."""
    with pytest.raises(InvalidRecord) as info:
        clean_record("monthly_report", {"by_kind": "local", "by_venue": "{", "hours": "many"}, partial=True)
    assert {e.field for e in info.value.errors} == {"by_kind", "by_venue", "hours"}


@pytest.mark.parametrize(("table", "field", "value"), [
    ("activity", "recruit_quota", 2**31), ("activity", "beneficiaries", 10**30), ("monthly_report", "hours", 1e300),
    ("monthly_report", "hours", "inf"), ("monthly_report", "activities", 2**40), ("participation", "hours", "nan"),
])
def test_numbers_a_database_cannot_hold_are_field_errors(table: str, field: str, value: object) -> None:
    """Reported with the other errors of the record (the server stores what the rules return)."""
    with pytest.raises(InvalidRecord, match=field) as info:
        clean_record(table, {field: value}, partial=True)
    assert [e.field for e in info.value.errors] == [field]


def test_sync_checks_created_at_with_the_record() -> None:
    from sync.records import clean_incoming

    with pytest.raises(InvalidRecord) as info:
        clean_incoming("activity", {"created_at": "yesterday", "recruit_quota": -1}, partial=True)
    assert {e.field for e in info.value.errors} == {"created_at", "recruit_quota"}
    assert clean_incoming("activity", {"created_at": "2026-03-01T10:00:00"}, partial=True) == {
        "created_at": "2026-03-01T10:00:00"}
