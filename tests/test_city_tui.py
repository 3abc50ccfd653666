"""Pilot tests of the city admin TUI against a real server (uvicorn on 127.0.0.1) with real conflicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from city_server import CityServer, running_city_server
from sqlmodel import Session
from test_city_queue import make_conflict, queue, resident_id, row
from test_tui_fixtures import settle, wait_until
from textual.command import CommandInput, CommandPalette
from textual.widgets import DataTable, Input, Label, Select, TabbedContent

from schema.models import MonthlyReport
from schema.server_models import ReportReceipt
from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.app import CityApp, CityMainScreen
from stvs_tui.city.item import (
    ConflictScreen,
    ConnectModal,
    ExportModal,
    FormModal,
    LockModal,
    ReasonModal,
    ReopenModal,
)
from stvs_tui.city.signin import SignInScreen
from stvs_tui.city.words import ACTION_SPECS
from stvs_tui.i18n import t
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.help import HelpModal
from stvs_tui.widgets.paged_table import PagedTable
from stvs_tui.widgets.palette import ActionsProvider, palette_actions
from sync.push import CONFLICT


@pytest.fixture
def city(tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path) as server:
        yield server


async def test_decide_per_field_with_typed_value_and_reason(city) -> None:
    row_id = make_conflict(city)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_until(pilot, lambda: app.query_one("#queue-table", DataTable).row_count == 1)
            app.query_one("#queue-table", DataTable).focus()
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ConflictScreen)
            fields = screen.query_one("#fields", DataTable)
            assert [str(v) for v in fields.get_row("mobile")[2:5]] == ["13800138000", "13900000001", "13900000002"]
            fields.move_cursor(row=fields.get_row_index("mobile"))
            await pilot.press("space")  # city → county
            fields.move_cursor(row=fields.get_row_index("work_unit"))
            screen.query_one("#value", Input).focus()
            await pilot.press(*"安阳县人民医院", "enter")
            await pilot.press("ctrl+s")  # no reason yet: refused, stays open
            await pilot.pause()
            assert isinstance(app.screen, ConflictScreen)
            assert "理由" in str(screen.query_one("#item-error", Label).content)
            screen.query_one("#reason", Input).value = "电话核实"
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConflictScreen))
    stored = row(city, "volunteer", row_id)
    assert (stored["mobile"], stored["work_unit"]) == ("13900000002", "安阳县人民医院")
    assert queue(city, status="resolved")["items"][0]["reason"] == "电话核实"


async def test_bulk_take_county_on_a_selection_asks_reason_and_confirmation(city) -> None:
    first, second = make_conflict(city, 1), make_conflict(city, 2)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2024, 5, 1))
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 2)
            table.focus()
            await pilot.press("space", "down", "space", "ctrl+k")
            await pilot.pause()
            assert isinstance(app.screen, ReasonModal)
            app.screen.query_one("#reason", Input).value = "county checked"
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmModal)
            await pilot.press("enter")  # the default answer is No: nothing happens
            await pilot.pause()
            assert queue(city)["total"] == 2
            await pilot.press("ctrl+k")
            await pilot.pause()
            app.screen.query_one("#reason", Input).value = "county checked"
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("left", "enter")  # move to 是 / Yes
            await wait_until(pilot, lambda: queue(city)["total"] == 0)
    assert queue(city)["total"] == 0
    assert row(city, "volunteer", first)["work_unit"] == row(city, "volunteer", second)["work_unit"] == "县一中"


async def test_reports_tab_shows_the_grid_and_exports(city, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.query_one("#report-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 11)  # ten units and the completeness row
            # On 1 May 2024 the months to March are past their lock day (15 days), April is still due, and
            # May (the month in progress, shown by default) is expected but not yet received.
            assert table.get_row("410522")[1:7] == ["未报（已锁定）"] * 4 + ["待报", "待报"]
            app.query_one("TabbedContent").active = "reports"
            await pilot.press("ctrl+e")  # asks where, offering a name in the current folder
            await wait_until(pilot, lambda: isinstance(app.screen, ExportModal))
            assert app.screen.query_one("#path", Input).value == str(tmp_path / "city-reports-2023-12-2024-05.xlsx")
            app.screen.query_one("#path", Input).value = str(tmp_path / "no-such-folder" / "r.xlsx")
            await pilot.press("enter")
            await pilot.pause()
            assert "no-such-folder" in str(app.screen.query_one("#export-error", Label).content)
            app.screen.query_one("#path", Input).value = str(tmp_path / "out" / "安阳市月报")
            (tmp_path / "out").mkdir()
            await pilot.press("enter")
            await wait_until(pilot, lambda: (tmp_path / "out" / "安阳市月报.xlsx").exists())
    assert not (tmp_path / "city-reports-2023-12-2024-05.xlsx").exists()


async def test_month_in_progress_with_one_of_ten_counties_in_reads_ten_percent(city) -> None:
    # The server received 安阳县's November report on 28 November; on the 30th nine counties are still to report.
    with Session(city.db.engine) as session:
        report = MonthlyReport(county_code="410522", period="2026-11", status="submitted",
                               submitted_at=datetime(2026, 11, 28, 9), version=1)
        session.add(report)
        session.commit()
        report_id = report.id
    with city.db.engine.begin() as connection:
        connection.execute(sa.update(ReportReceipt).where(ReportReceipt.report_id == report_id)
                           .values(received_at=datetime(2026, 11, 28, 1)))
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2026, 11, 30))
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one("#report-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 11)
            assert [str(c.label) for c in table.columns.values()][-3:] == ["2026-11", "Completeness", "Timeliness"]
            assert table.get_row("410522")[6] == "√" and table.get_row("410523")[6] == "pending"
            total = table.get_row_at(table.row_count - 1)
            assert total[6] == "10.0%"  # 1 received of 10 expected, not 1 of 1
            assert total[5] == "0.0%"  # October: nobody reported, all ten missing
            legend = str(app.query_one("#legend", Label).content)
            assert "√ on time" in legend and "late" in legend and "Completeness = received ÷ expected" in legend


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_queue_item_and_upload_report_name_the_person_county_and_table(city, lang) -> None:
    row_id = make_conflict(city)  # 张三 of 安阳县, ID 410522198001010011 (checksum appended)
    masked = f"张三 410522********{resident_id(1)[-4:]}"
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, lang, today=date(2024, 5, 1))
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1)
            cells = [str(c) for c in table.get_row_at(0)]
            county, volunteer, mobile = {"zh": ("安阳县", "志愿者", "手机号码"),
                                         "en": ("安阳县", "volunteer", "Mobile")}[lang]
            assert cells[1:4] == [county, volunteer, masked]
            assert mobile in cells[5] and "mobile" not in cells[5].split(", ")
            assert row_id not in " ".join(cells)
            table.focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
            title = str(app.screen.query_one("#item-title", Label).content)
            assert county in title and volunteer in title and masked in title and row_id not in title
            fields = app.screen.query_one("#fields", DataTable)
            headers = [str(c.label) for c in fields.columns.values()][3:5]
            assert headers == {"zh": ["服务器现值（先上传）", "本次上传（设备 node-a）"],
                               "en": ["On the server (uploaded first)", "This upload (device node-a)"]}[lang]
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConflictScreen))
            app.query_one(TabbedContent).active = "uploads"
            uploads = app.query_one("#upload-table", DataTable)
            await wait_until(pilot, lambda: uploads.row_count == 3)
            uploads.focus()
            uploads.move_cursor(row=uploads.row_count - 1)  # the first upload: the new volunteer
            await pilot.press("enter")
            report = app.query_one("#upload-report", DataTable)
            await wait_until(pilot, lambda: report.row_count == 1)
            assert [str(c) for c in report.get_row_at(0)[:2]] == [volunteer, masked]


async def test_change_server_token_from_the_palette_keeps_the_old_one_until_the_server_accepts(city) -> None:
    with CityAdminClient(city.url, city.admin_token) as first:
        app = CityApp(first, "en", today=date(2024, 5, 1))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: "open items" in str(app.screen.query_one("#status", Label).content))
            main = app.screen
            hits = [hit async for hit in ActionsProvider(main).discover()]
            await next(h for h in hits if h.text.startswith("Change server / token")).command()
            await wait_until(pilot, lambda: isinstance(app.screen, ConnectModal) and bool(app.screen.query("#token")))
            assert app.screen.query_one("#server", Input).value == city.url
            app.screen.query_one("#token", Input).value = "mistyped-token"
            await pilot.press("enter")
            await wait_until(pilot, lambda: "refuses this token" in str(main.query_one("#status", Label).content))
            assert app.client is first  # the refused token replaced nothing
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: isinstance(app.screen, ConnectModal) and bool(app.screen.query("#token")))
            app.screen.query_one("#token", Input).value = city.admin_token
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.client is not first)
            assert app.client.server_url == city.url
            await wait_until(pilot, lambda: "open items" in str(main.query_one("#status", Label).content))


def open_items(server: CityServer, count: int, kind: str = "field_conflict") -> None:
    """``count`` open queue items written straight into the server's real database (a big queue quickly)."""
    created = datetime(2024, 4, 1, 9, 0)
    with server.db.engine.begin() as connection:
        connection.execute(sa.insert(CONFLICT), [{
            "id": f"item-{kind}-{n:04d}", "county_code": "410522", "tbl": "volunteer", "row_id": f"row-{n:04d}",
            "kind": kind, "change_id": f"change-{kind}-{n}", "node_id": "node-a", "base_version": 1,
            "server_version": 2, "fields": json.dumps({"mobile": {"base": "1", "server": "2", "incoming": "3"}}),
            "status": "open", "created_at": created + timedelta(minutes=n), "resolved_at": None, "resolved_by": "",
            "resolution": "", "reason": "", "resolved_version": 0} for n in range(count)])


async def test_f1_help_lists_the_keys_of_the_current_screen(city) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2024, 5, 1))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: "open items" in str(app.screen.query_one("#status", Label).content))
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpModal)
            keys = app.screen.query_one("#help-keys", DataTable)
            actions = {str(keys.get_row_at(i)[1]) for i in range(keys.row_count)}
            assert {"Take county (bulk)", "Export to Excel", "Lock the month", "Reopen the month", "Help", "Quit"} <= actions
            assert "Dashboard" not in actions  # the county TUI's keys are not the city's
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, CityMainScreen)


async def test_command_palette_lists_and_runs_the_city_actions(city) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, rounds=1)
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert isinstance(app.screen, CommandPalette)
            assert app.screen.query_one(CommandInput).placeholder == "搜索命令…"
            await pilot.press("escape")
            await pilot.pause()
            main = app.screen
            hits = [hit async for hit in ActionsProvider(main).discover()]
            texts = [hit.text for hit in hits]
            ids = [spec.id for spec in palette_actions(main)]
            assert len(ids) == len(texts) and {"city.help", "city.quit", "city.bulk_county", "city.lock"} <= set(ids)
            assert any(text.startswith("批量采用县级") for text in texts) and not any("首页" in x for x in texts)
            app.query_one(TabbedContent).active = "reports"
            grid = app.query_one("#report-table", DataTable)
            await wait_until(pilot, lambda: grid.row_count == 11)
            grid.move_cursor(row=0, column=1)  # one county's month
            await hits[texts.index(next(x for x in texts if x.startswith("锁定该月")))].command()
            await wait_until(pilot, lambda: isinstance(app.screen, LockModal))


async def test_the_queue_pages_past_200_items_through_the_api(city) -> None:
    open_items(city, 230)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2024, 5, 1))
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one("#queue-table", PagedTable)
            await wait_until(pilot, lambda: table.row_count == 200)
            table.focus()
            await pilot.press("space")  # picked on page one, kept while paging
            table.move_cursor(row=199)
            await pilot.press("down")
            await wait_until(pilot, lambda: table.page_offset == 200)
            assert table.row_count == 30 and table.current_key == "item-field_conflict-0200"
            assert str(app.screen.query_one("#status", Label).content) == "Items 201–230 of 230"
            table.move_cursor(row=0)
            await pilot.press("up")
            await wait_until(pilot, lambda: table.page_offset == 0)
            assert table.current_key == "item-field_conflict-0199" and str(table.get_row("item-field_conflict-0000")[0]) == "✓"


async def test_the_kind_filter_is_a_choice_of_the_known_kinds(city) -> None:
    open_items(city, 3)
    open_items(city, 2, kind="dissolved_team")
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one("#queue-table", PagedTable)
            await wait_until(pilot, lambda: table.row_count == 5)
            kinds = app.query_one("#f-kind", Select)
            assert [str(prompt) for prompt, _ in kinds._options[1:]] == [
                "字段冲突", "删除与修改冲突", "修改与删除冲突", "跨县重复人员", "已解散队伍的活动"]
            kinds.value = "dissolved_team"
            await wait_until(pilot, lambda: table.row_count == 2)
            assert {str(table.get_row(key)[4]) for key in ("item-dissolved_team-0000", "item-dissolved_team-0001")} \
                == {"已解散队伍的活动"}
            kinds.clear()
            await wait_until(pilot, lambda: table.row_count == 5)


async def test_uploads_tab_shows_the_per_record_report_of_an_upload(city) -> None:
    make_conflict(city)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=date(2024, 5, 1))
        async with app.run_test(size=(120, 40)) as pilot:
            uploads = app.query_one("#upload-table", PagedTable)
            await wait_until(pilot, lambda: uploads.row_count == 3)
            app.query_one(TabbedContent).active = "uploads"
            uploads.focus()
            assert [str(v) for v in uploads.get_row_at(0)[3:8]] == ["1", "0", "0", "1", "0"]  # the conflicting push
            await pilot.press("enter")
            report = app.query_one("#upload-report", DataTable)
            await wait_until(pilot, lambda: report.row_count == 1)
            assert [str(v) for v in report.get_row_at(0)[2:]] == ["conflict", "field conflict"]


async def test_reopen_modal_reopens_a_month_for_the_county_under_the_cursor(city) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=date(2024, 5, 1))
        async with app.run_test(size=(140, 40)) as pilot:
            grid = app.query_one("#report-table", DataTable)
            await wait_until(pilot, lambda: grid.row_count == 11)
            app.query_one(TabbedContent).active = "reports"
            grid.focus()
            grid.move_cursor(row=grid.get_row_index("410522"), column=2)  # 2024-01
            await pilot.press("ctrl+u")
            await wait_until(pilot, lambda: isinstance(app.screen, ReopenModal))
            modal = app.screen
            assert str(modal.query_one(Label).content) == "重新开放 安阳县 2024-01：最后可修改日期与理由"
            assert modal.query_one("#until", Input).value == "2024-05-08"
            await pilot.press("ctrl+s")  # no reason: refused, stays open
            await pilot.pause()
            assert "理由" in str(modal.query_one("#lock-error", Label).content)
            modal.query_one("#until", Input).value = "2024-05-31"
            modal.query_one("#reason", Input).value = "县里申请更正一月月报"
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: grid.row_count == 11 and grid.get_row("410522")[2] == "未报")
            assert grid.get_row("410523")[2] == "未报（已锁定）"
    with city.db.read() as connection:
        note, until = connection.execute(sa.text(
            "SELECT note, due_on FROM reporting_deadline WHERE kind = 'period_lock' AND county_code = '410522'")).one()
    assert note == "县里申请更正一月月报" and str(until) == "2024-05-31"


def test_every_city_action_has_a_handler() -> None:
    owners = {"city": [CityApp], "city.main": [CityMainScreen], "city.item": [ConflictScreen],
              "city.signin": [SignInScreen],
              "city.form": FormModal.__subclasses__()}
    assert owners["city.form"], "the city has no forms"
    for spec in ACTION_SPECS:
        method = "action_" + spec.action.split("(")[0]
        for owner in owners[spec.scope]:
            assert hasattr(owner, method), f"{spec.id}: {owner.__name__} has no {method}"


async def test_conflict_from_two_real_county_stores_resolved_in_the_tui_reaches_both_devices(tmp_path) -> None:
    """End to end: two devices of 安阳县 edit the same field offline and sync; the city admin decides the
    field in the TUI with a reason; on their next sync both devices hold the decided value and the reason."""
    from city_server import mobile_conflict
    from sync_fixtures import sync

    from schema.models import Volunteer
    from stvs_tui.queries import record_resolution

    with running_city_server(tmp_path / "city") as city:
        conflict = mobile_conflict(city, tmp_path / "stores")
        first, second, token, row_id = conflict.first, conflict.second, conflict.token, conflict.row_id
        with CityAdminClient(city.url, city.admin_token) as client:
            app = CityApp(client, "zh", today=date(2024, 5, 1))
            async with app.run_test(size=(140, 40)) as pilot:
                table = app.query_one("#queue-table", DataTable)
                await wait_until(pilot, lambda: table.row_count == 1)
                table.focus()
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
                screen = app.screen
                fields = screen.query_one("#fields", DataTable)
                fields.move_cursor(row=fields.get_row_index("mobile"))
                await pilot.press("space")  # city → county: the second device's number
                screen.query_one("#reason", Input).value = "电话回访核实"
                await pilot.press("ctrl+s")
                await wait_until(pilot, lambda: not isinstance(app.screen, ConflictScreen))
        for device in (first, second):
            summary = sync(device, city, token)
            assert summary.resolutions == 1
            with device.session() as session:
                assert session.get(Volunteer, row_id).mobile == "13900000002"
                note = record_resolution(session, "volunteer", row_id)
            assert note is not None and note.reason == "电话回访核实"


async def test_without_a_token_the_app_opens_on_sign_in_and_goes_on_only_once_the_server_accepts(city) -> None:
    """A web session: no token given, so the first screen asks for it; a refused token stays on that screen with
    the server's reason, the accepted one opens the tabs (and nothing is saved: the connector here saves nothing)."""
    app = CityApp(None, "zh", today=date(2024, 5, 1), server_url=city.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen))
        screen = app.screen
        assert screen.query_one("#server", Input).value == city.url
        assert app.focused is screen.query_one("#token", Input)
        await pilot.press(*"wrong-token", "enter")
        error = screen.query_one("#signin-error", Label)
        await wait_until(pilot, lambda: str(error.render()) not in ("", t("app.loading")))
        assert isinstance(app.screen, SignInScreen) and app.client is None
        screen.query_one("#token", Input).value = city.admin_token
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, CityMainScreen))
        status = app.screen.query_one("#status", Label)
        await wait_until(pilot, lambda: str(status.render()) == t("city.loaded", conflicts=0, uploads=0))
    app.client.close()
