"""Snapshots of the city TUI's resolved tab (the audit trail), counties at a glance and uploads, in Chinese and
English at 120×40 and 80×24: people, counties and devices by name, never a UUID.

Deterministic as ``test_city_snapshots``: a fixed "today", items, uploads and times written into the real
server's database. Update with ``pytest tests/test_city_audit_snapshots.py --snapshot-update`` after checking.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from city_server import CityServer
from test_city_snapshots import TODAY, show_queue
from test_city_snapshots import city as queue_city  # noqa: F401  (the fixture, with its open items)
from test_tui_fixtures import wait_until
from textual.pilot import Pilot
from textual.widgets import DataTable

from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.app import CityApp
from sync.push import BATCH, CONFLICT

DEVICES = ("0190a000-0000-7000-8000-00000000aa01", "0190a000-0000-7000-8000-00000000bb02")


@pytest.fixture
def city(queue_city: CityServer) -> Iterator[CityServer]:  # noqa: F811
    with queue_city.db.engine.begin() as connection:
        connection.execute(sa.insert(CONFLICT), [{
            "id": "0190a000-0000-7000-8000-000000000190", "county_code": "410522", "tbl": "volunteer",
            "row_id": "0190a000-0000-7000-8000-000000000200", "kind": "field_conflict", "change_id": "c9",
            "node_id": DEVICES[1], "base_version": 1, "server_version": 2,
            "fields": json.dumps({"mobile": {"base": "13800138000", "server": "13900000001",
                                             "incoming": "13900000002"}}),
            "status": "resolved", "created_at": datetime(2024, 3, 28, 9, 0), "resolved_at": datetime(2024, 4, 2, 10, 5),
            "resolved_by": "admin:市科协李明", "resolution": json.dumps({"mobile": "13900000002"}),
            "reason": "电话核实，本人新号码", "resolved_version": 3, "decision": "county"}])
        connection.execute(sa.insert(BATCH), [{
            "batch_id": f"batch-{n}", "node_id": DEVICES[n % 2], "county_code": county,
            "received_at": datetime(2024, month, 10, 8, n), "request_hash": "0" * 64, "changes": 2, "applied": 2,
            "merged": 0, "conflicts": 0, "duplicates": 0, "rejected": 0, "response": ""}
            for n, (county, month) in enumerate((("410522", 2), ("410522", 4), ("410522", 4), ("410523", 3)))])
    yield queue_city


async def show_resolved(pilot: Pilot[None]) -> None:
    await show_queue(pilot)
    await wait_until(pilot, lambda: pilot.app.query_one("#resolved-table", DataTable).row_count == 1)
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: pilot.app.query_one("#resolved-detail", DataTable).row_count == 1)


async def show_counties(pilot: Pilot[None]) -> None:
    await show_queue(pilot)
    await wait_until(pilot, lambda: pilot.app.query_one("#county-table", DataTable).row_count == 10)
    await pilot.press("ctrl+g")
    await pilot.pause()


async def show_uploads(pilot: Pilot[None]) -> None:
    await show_queue(pilot)
    await wait_until(pilot, lambda: pilot.app.query_one("#upload-table", DataTable).row_count == 4)
    pilot.app.query_one("TabbedContent").active = "uploads"  # type: ignore[attr-defined]
    pilot.app.query_one("#upload-table", DataTable).focus()
    await pilot.pause()


SCREENS: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "resolved": show_resolved, "counties": show_counties, "uploads": show_uploads,
}


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_city_audit_snapshot(snap_compare, city: CityServer, screen: str, lang: str,  # type: ignore[no-untyped-def]
                             size: tuple[int, int]) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        assert snap_compare(CityApp(client, lang, today=TODAY), terminal_size=size, run_before=SCREENS[screen])


def test_no_snapshot_of_the_city_app_shows_a_uuid_or_a_whole_id_number() -> None:
    """What the snapshots above (and ``test_city_snapshots``) hold, read as text: every screen names people,
    counties and devices; a UUID or an unmasked ID number on any of them is a failure, not a matter of looking."""
    import html
    import re
    from pathlib import Path

    folder = Path(__file__).parent / "__snapshots__"
    svgs = sorted([*folder.glob("test_city_snapshots/*.svg"), *folder.glob("test_city_audit_snapshots/*.svg")])
    assert len(svgs) == 32
    for svg in svgs:
        shown = html.unescape("".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg.read_text(encoding="utf-8"))))
        assert "张三" in shown or "Help" in shown or "帮助" in shown, svg.name  # the text was read
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}", shown), svg.name
        assert not re.search(r"\b4105\d{14}\b", shown), svg.name  # an 18-digit ID number, unmasked
