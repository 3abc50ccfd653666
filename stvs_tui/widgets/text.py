"""User text is shown as typed: never parsed as Rich or Textual markup."""

from __future__ import annotations

from rich.text import Text

from stvs_tui.formatting import display_text


def plain(value: object) -> Text:
    """A cell or label made from user data: ``[b]`` stays ``[b]``."""
    return Text(display_text(value))
