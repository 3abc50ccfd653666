"""User text is shown as typed: never parsed as Rich or Textual markup."""

from __future__ import annotations

from rich.text import Text


def plain(value: object) -> Text:
    """A cell or label made from user data: ``[b]`` stays ``[b]``."""
    if value is None:
        return Text("")
    if isinstance(value, float):
        return Text(f"{value:g}")
    return Text(str(value))
