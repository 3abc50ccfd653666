"""Plain validators shared by the UI, the importer and the server.

Each takes raw text and returns the normalised value, or raises ``InvalidValue`` naming the field and why.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import repeat
from operator import eq, itemgetter, mod, mul

from schema.enums import IdType, Sex
from schema.errors import InvalidValue

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ASCII_ZERO_WEIGHT = ord("0") * sum(_ID_WEIGHTS)
_ID_CHECK_CHARS = "10X98765432"
_STARTED_ON = date.today()  # never after today: a birth date up to it needs no look at the clock
_ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
_MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")
_PLAIN_MOBILE = re.compile(r"1[3-9][0-9]{9}")  # a mobile number already in the form normalize_mobile returns
_MOBILE_NOISE = re.compile(r"[\s\-()（）]")
_LANDLINE_PATTERN = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_REGION_PATTERN = re.compile(r"[0-9]{6}")  # ASCII digits only (used with fullmatch)
_NAME_PATTERN = re.compile(r"^[\w·•．.\- ]+$")


@dataclass(frozen=True)
class ResidentId:
    """A checked GB 11643 number with the facts it encodes."""

    number: str
    birth_date: date
    sex: Sex


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != len(_ID_WEIGHTS):
        raise ValueError(f"expected 17 digits, got {len(first17)}")
    if not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    # Σ weight × digit from the bytes' codes (digit = code - 48), without an int() per character.
    total = sum(map(mul, first17.encode(), _ID_WEIGHTS)) - _ASCII_ZERO_WEIGHT
    return _ID_CHECK_CHARS[total % 11]


def parse_resident_id(raw: str, field: str = "id_number", today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID number and derive birth date and sex from it."""
    number = (raw or "").strip().upper()
    if len(number) != 18:
        raise InvalidValue(field, f"居民身份证号码应为18位，实际为{len(number)}位 (must be 18 characters, got {len(number)})")
    if not _ID_PATTERN.match(number):
        raise InvalidValue(field, "居民身份证号码前17位须为数字，末位为数字或X (17 digits then a digit or X)")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidValue(field, f"出生日期{number[6:14]}不存在 (birth date {number[6:14]} does not exist)") from None
    if born > _STARTED_ON and born > (today or date.today()):  # the clock is read only for recent dates
        raise InvalidValue(field, f"出生日期{born.isoformat()}在未来 (birth date is in the future)")
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise InvalidValue(field, f"校验码错误：末位应为{expected}，实际为{number[17]} (check character should be {expected})")
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return ResidentId(number=number, birth_date=born, sex=sex)


def resident_id_facts(raws: Iterable[str], today: date | None = None,
                      births: dict[str, date | None] | None = None) -> list[tuple[str, str, date] | None]:
    """``parse_resident_id`` for many numbers at once (a 100k-row roster): per number, (the number as
    ``parse_resident_id`` returns it, its sex's code, its birth date), or None where ``parse_resident_id``
    raises (call it for the message). Each distinct birth date is made once: they repeat across a roster
    (``births``: the dates made so far, by their eight digits, for a caller that calls again)."""
    births = {} if births is None else births
    sexes = {digit: (Sex.MALE if int(digit) % 2 == 1 else Sex.FEMALE).value for digit in "0123456789"}
    match = _ID_PATTERN.match
    found: list[tuple[str, str, date] | None] = []
    append = found.append
    for raw in raws:
        number = (raw or "").strip()
        upper = number.upper()
        if upper != number:  # else the number as it came: one string less to keep
            number = upper
        if len(number) != 18 or not match(number):
            append(None)
            continue
        key = number[6:14]
        born = births.get(key, _UNSEEN)
        if born is _UNSEEN:
            born = births[key] = _birth_date(key, today)
        if born is None or number[17] != _ID_CHECK_CHARS[2 * int(number[:17], 13) % 11]:  # see below
            append(None)
            continue
        append((number, sexes[number[16]], born))
    return found


def resident_id_fact(number: str) -> tuple[str, str, date] | None:
    """``parse_resident_id``'s facts of one number already as stored (17 ASCII digits then a digit or X, nothing
    around them), without its steps for any other form: (the number, its sex's code, its birth date), or None for
    anything else, valid or not (``parse_resident_id`` then says which, or takes it). A pushed volunteer's number
    is checked this way: 3.3 → ~1 µs."""
    if len(number) != 18 or not _ID_PATTERN.match(number):
        return None
    born = _birth_date(number[6:14], None)
    if born is None or number[17] != _CHECK_BY_REMAINDER[int(number[:17], 13) % 11]:  # (see resident_id_facts)
        return None
    return number, _SEX_BY_DIGIT[number[16]], born


def resident_id_columns(numbers: Sequence[str], births: dict[str, date | None],
                        today: date | None = None) -> tuple[list[str], list[date]] | None:
    """``resident_id_facts`` for numbers each already in the form ``parse_resident_id`` returns (17 ASCII digits
    then a digit or X: the caller has matched them), column by column with no Python step per number: their
    sexes' codes and birth dates, or None when ``resident_id_facts`` would give None for any of them. ``births``
    is shared with ``resident_id_facts`` (the same dates by their eight digits)."""
    keys = list(map(_BIRTH_DIGITS, numbers))
    born = list(map(births.get, keys))
    if None in born:  # dates not made yet (or impossible ones: None again below)
        for key in set(keys).difference(births):
            births[key] = _birth_date(key, today)
        born = list(map(births.__getitem__, keys))
        if None in born:
            return None
    # the check character, as in resident_id_facts: the 17 digits in base 13, doubled, mod 11
    expected = map(_CHECK_BY_REMAINDER.__getitem__, map(mod, map(int, map(_FIRST_17, numbers), repeat(13)), repeat(11)))
    if not all(map(eq, expected, map(_LAST, numbers))):
        return None
    return list(map(_SEX_BY_DIGIT.__getitem__, map(_SEX_DIGIT, numbers))), born


def _birth_date(key: str, today: date | None) -> date | None:
    """The birth date of an ID number's eight digits (YYYYMMDD), or None: no such day, or after today."""
    try:
        born = date(int(key[:4]), int(key[4:6]), int(key[6:]))
    except ValueError:
        return None
    if born > _STARTED_ON and born > (today or date.today()):
        return None
    return born


_UNSEEN = object()
_BIRTH_DIGITS, _FIRST_17, _SEX_DIGIT, _LAST = itemgetter(slice(6, 14)), itemgetter(slice(17)), itemgetter(16), itemgetter(17)
# the check character by the 17 digits' base-13 value mod 11 (that value doubled, mod 11, indexes _ID_CHECK_CHARS)
_CHECK_BY_REMAINDER = "".join(_ID_CHECK_CHARS[2 * r % 11] for r in range(11))
_SEX_BY_DIGIT = {digit: (Sex.MALE if int(digit) % 2 == 1 else Sex.FEMALE).value for digit in "0123456789"}
# resident_id_facts' check character: GB 11643's weights are 2^17 … 2^1 mod 11, and 13 ≡ 2 (mod 11), so the 17
# digits read as a base-13 number (in C), doubled, are the weighted sum mod 11 (held against id_check_char by
# tests/test_excel_fast_paths.py).


def normalize_id_number(id_type: str, raw: str, field: str = "id_number") -> str:
    """Check an ID number of the given type; resident IDs get the full GB 11643 check."""
    if id_type == IdType.RESIDENT:
        return parse_resident_id(raw, field).number
    number = (raw or "").strip().upper()
    if not number:
        raise InvalidValue(field, "证件号码不能为空 (required)")
    if not re.fullmatch(r"[0-9A-Z\-()]{5,30}", number):
        raise InvalidValue(field, "证件号码只能包含字母、数字和-，长度5至30 (letters, digits and '-', 5–30 chars)")
    return number


def normalize_mobile(raw: str, field: str = "mobile") -> str:
    """Strip spaces, dashes and a +86/86 prefix; require a mainland mobile number ``1[3-9]xxxxxxxxx``."""
    if raw and _PLAIN_MOBILE.fullmatch(raw):
        return raw
    digits = _MOBILE_NOISE.sub("", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits:
        raise InvalidValue(field, "手机号码不能为空 (required)")
    if _LANDLINE_PATTERN.match((raw or "").strip()):
        raise InvalidValue(field, "这是座机号码，请填入“其他电话” (a landline: put it in the second phone)")
    if not _MOBILE_PATTERN.match(digits):
        raise InvalidValue(field, f"“{raw}”不是有效的手机号码，应为1开头的11位数字 (not a mainland mobile number)")
    return digits


def normalize_phone(raw: str, field: str = "phone") -> str:
    """A second contact: a mobile or a landline such as 0372-2555663."""
    text = (raw or "").strip()
    if not text:
        return ""
    compact = _MOBILE_NOISE.sub("", text)
    if _LANDLINE_PATTERN.match(text) or re.fullmatch(r"0\d{9,11}", compact):
        return text
    return normalize_mobile(text, field)


def normalize_name(raw: str, field: str = "name", max_length: int = 50) -> str:
    """A person's or unit's name: CJK, letters and the middle dot are all normal; never ASCII-only."""
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidValue(field, "不能为空 (required)")
    if len(name) > max_length:
        raise InvalidValue(field, f"不能超过{max_length}个字 (at most {max_length} characters)")
    if not _NAME_PATTERN.match(name):
        raise InvalidValue(field, "含有不允许的字符 (contains characters not allowed in a name)")
    return name


def normalize_region_code(raw: str, known: set[str] | None = None, field: str = "county_code") -> str:
    """A six-digit GB/T 2260 code, optionally checked against the loaded region list."""
    # Full-width digits (typed with a Chinese input method) become ASCII: the code is then compared as stored.
    code = unicodedata.normalize("NFKC", raw or "").strip()
    if not _REGION_PATTERN.fullmatch(code):
        raise InvalidValue(field, f"“{raw}”不是6位行政区划代码 (not a 6-digit region code)")
    if known is not None and code not in known:
        raise InvalidValue(field, f"行政区划代码{code}不在地区列表中 (not in the region list)")
    return code


def normalize_period(raw: str, field: str = "period") -> str:
    """A reporting month written ``YYYY-MM``."""
    text = (raw or "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidValue(field, f"“{raw}”不是有效的月份，应为YYYY-MM (expected YYYY-MM)")
    return f"{match.group(1)}-{int(match.group(2)):02d}"


def mask_id_number(number: str) -> str:
    """Mask the middle of an ID number for lists and exports: ``410522********1234``."""
    if not number:
        return ""
    if len(number) <= 8:
        return number[0] + "*" * (len(number) - 2) + number[-1] if len(number) > 2 else "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
