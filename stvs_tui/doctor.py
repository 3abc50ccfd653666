"""The words of ``sync doctor``'s report, the same in the CLI and on the TUI's sync screen (F8)."""

from __future__ import annotations

from stvs_tui.i18n import t
from sync.doctor import StuckItem

SHOWN_ON_SCREEN = 40  # items listed on the sync screen; the CLI lists them all


def doctor_lines(items: list[StuckItem], limit: int | None = None) -> list[str]:
    """The doctor's report in the current language: each item, then what clears it (the first ``limit``)."""
    if not items:
        return [t("doctor.none")]
    lines = [t("doctor.count", count=len(items))]
    for item in items[:limit]:
        lines.append(t("doctor.item", kind=t(f"doctor.kind.{item.kind}"), table=item.table, id=item.row_id,
                       reason=item.reason, detail=item.detail).replace("  ", " ").rstrip())
        lines.append(t("doctor.how", action=t(f"doctor.action.{item.action}"),
                       command=f" ({item.command})" if item.command else ""))
    if limit is not None and len(items) > limit:
        lines.append(t("doctor.more", count=len(items) - limit))
    return lines
