"""What several exports share: the issuing unit's name, reporting periods, labels of stored codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from schema.enums import LabeledEnum
from schema.models import Region
from schema.rules import month_bounds
from schema.store import Store
from stvs_tui.excel.errors import ExportFailed


@dataclass(frozen=True)
class Period:
    """A month (YYYY-MM), a year (YYYY) or all time (no bounds); ``end`` is exclusive."""

    text: str
    start: datetime | None
    end: datetime | None

    @property
    def label(self) -> str:
        if self.start is None:
            return "全部"
        if len(self.text) == 4:
            return f"{self.start.year}年"
        return f"{self.start.year}年{self.start.month:02d}月"


_PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")


def parse_period(text: str | None) -> Period:
    """``YYYY-MM``, ``YYYY`` or None (all time)."""
    if not text:
        return Period("", None, None)
    match = _PERIOD.match(text.strip())
    month = int(match.group(2)) if match and match.group(2) else None
    if not match or (month is not None and not 1 <= month <= 12):
        raise ExportFailed(f"“{text}”不是有效的期间，应为YYYY-MM或YYYY (expected YYYY-MM or YYYY)")
    year = int(match.group(1))
    if month is None:
        return Period(f"{year:04d}", datetime(year, 1, 1), datetime(year + 1, 1, 1))
    text = f"{year:04d}-{month:02d}"
    return Period(text, *month_bounds(text))


def county_name(store: Store) -> str:
    with store.session() as session:
        region = session.get(Region, store.county_code)
    return region.name if region else store.county_code


def issuing_unit(store: Store) -> str:
    """The county association that stamps the forms: 安阳县 → 安阳县科学技术协会."""
    return f"{county_name(store)}科学技术协会"


def signers(store: Store) -> tuple[str, ...]:
    """Who signs a form under its table: the head, the clerk (named when the store knows the clerk), a phone."""
    clerk = store.setting("clerk")
    return ("负责人", f"填报人：{clerk}" if clerk else "填报人", "联系电话")


def require_county(store: Store) -> str:
    county = store.county_code
    if not county:
        raise ExportFailed("本地数据库尚未初始化县区 (the store has no county yet: run `stvs-tui init`)")
    return county


def label_of(kind: type[LabeledEnum], code: str | None, lang: str = "zh") -> str:
    member = kind.from_label(code) if code else None
    return member.label(lang) if member else (code or "")


def labels_of(kind: type[LabeledEnum], codes: str | None, lang: str = "zh", sep: str = "、") -> str:
    return sep.join(label_of(kind, c, lang) for c in (codes or "").split(",") if c)


def today_or(day: date | None) -> date:
    return day or date.today()
