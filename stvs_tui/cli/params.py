"""What several commands check the same way: a reporting period (``--month``) and a county code against
the region list. A bad value is a usage error (click's ``BadParameter``: exit 2, the option named)."""

from __future__ import annotations

import click

from stvs_tui.excel.common import parse_period
from stvs_tui.excel.errors import ExportFailed


class PeriodType(click.ParamType):
    """``YYYY-MM`` (or ``YYYY`` where a year is allowed), normalised to ``2026-05`` / ``2026``."""

    name = "YYYY-MM"

    def __init__(self, allow_year: bool = True) -> None:
        self.allow_year = allow_year

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:
            period = parse_period(text)
        except ExportFailed as exc:
            self.fail(str(exc), param, ctx)
        if not period.text or (len(period.text) == 4 and not self.allow_year):
            self.fail(f"“{text}”不是有效的月份，应为YYYY-MM (expected a month YYYY-MM, e.g. 2026-05)", param, ctx)
        return period.text


def unknown_county(county: str, names: dict[str, str]) -> str:
    """The refusal of a county code not in the region list, naming the valid codes once."""
    valid = ", ".join(f"{code} {name}" for code, name in names.items())
    return f"未知的县区代码 (unknown county code) {county}；可用代码 (valid codes): {valid}"
