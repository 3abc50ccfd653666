"""The words of ``sync doctor``'s report and of a sync's clock check, the same in the CLI and on the TUI's sync
screen (F8)."""

from __future__ import annotations

from stvs_tui.i18n import t
from sync.client import SyncSummary
from sync.doctor import Diagnosis, StuckItem

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


def clock_lines(summary: SyncSummary) -> list[str]:
    """What a sync found wrong with this computer's clock, for the clerk (nothing when it is right)."""
    lines = []
    if summary.clock_skew_s:
        lines.append(t("sync.clock_off", skew=skew_text(summary.clock_skew_s)))
    if summary.clock_reset_from:
        lines.append(t("sync.clock_reset", when=summary.clock_reset_from))
    return lines


def skew_text(seconds: int) -> str:
    """+3 d 4 h / -12 min: how far off a clock is, in the unit a clerk reads at a glance."""
    sign, left = ("+" if seconds > 0 else "-"), abs(seconds)
    if left >= 86_400:
        return f"{sign}{left // 86_400} d {left % 86_400 // 3600} h"
    if left >= 3600:
        return f"{sign}{left // 3600} h {left % 3600 // 60} min"
    return f"{sign}{left // 60} min"


def server_line(found: Diagnosis) -> str:
    """Whether the county's other open conflicts were asked of the city server."""
    return t(f"doctor.server_{found.server}", error=found.server_error)
