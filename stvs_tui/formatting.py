"""How a stored value reads as text, the same in a form field and a spreadsheet cell."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def display_text(value: Any) -> str:
    """Dates as ISO, date-times to the minute, floats without trailing zeros, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
