"""The line on a record's screen that says how the city settled its conflict, and why."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from sqlmodel import SQLModel
from textual.widgets import Label

from schema.models import field_label
from stvs_tui.formatting import display_text
from stvs_tui.i18n import language, t
from stvs_tui.queries import Resolution


def resolution_text(resolution: Resolution, model: type[SQLModel]) -> str:
    """"Conflict settled by the city (who, date): reason" and, below, the values taken, with field labels."""
    lines = [t("sync.resolved", by=resolution.resolved_by, date=resolution.resolved_on, reason=resolution.reason)]
    taken = [f"{_label(model, name)}={_value(value)}" for name, value in resolution.values.items()]
    if taken:
        lines.append(t("sync.resolved_values", values=("，" if language() == "zh" else ", ").join(taken)))
    return "\n".join(lines)


def _label(model: type[SQLModel], name: str) -> str:
    # A decision may name what is not a form field (the tombstone, a merged duplicate's keys).
    return field_label(model, name, language()) if name in model.model_fields else name


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else display_text(value)


class ResolutionNote(Label):
    """Hidden unless the record has a decision; the text is the city's and the clerks', never markup."""

    DEFAULT_CSS = "ResolutionNote { color: $warning; margin-top: 1; }"

    def __init__(self, **options: Any) -> None:
        super().__init__("", markup=False, **options)
        self.display = False

    def show_resolution(self, resolution: Resolution | None, model: type[SQLModel]) -> None:
        self.display = resolution is not None
        self.update(Text(resolution_text(resolution, model)) if resolution is not None else "")
