"""Pilot tests of how the city admin decides, against a real server (uvicorn on 127.0.0.1): the duplicate-person
screen, locking and reopening one county's month, Esc and Enter that never drop or ignore input, the keys
and focus of the tabs, and the words and widths in Chinese and English."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from city_server import CityServer, running_city_server
from sync_fixtures import free_port
from test_city_queue import ANYANG, TANGYIN, make_conflict, new_volunteer, queue, resident_id, row
from test_tui_fixtures import screen_text, wait_until
from textual.app import App
from textual.widgets import Button, DataTable, Input, Label, Select, TabbedContent
from textual.widgets._footer import FooterKey

from stvs_tui.city.api import CityAdminClient
from stvs_tui.city.app import CityApp, CityMainScreen
from stvs_tui.city.item import ConflictScreen, LockModal, ReasonModal, ReopenModal
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.help import HelpModal
from sync.admin_protocol import ADMIN_PREFIX

TODAY = date(2024, 5, 1)


@pytest.fixture
def city(tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path) as server:
        yield server


def messages(app: App[None]) -> list[str]:
    return [str(note.message) for note in app._notifications]


def status(app: App[None]) -> str:
    return str(app.main_screen().query_one("#status", Label).content)


def duplicate_person(city: CityServer) -> tuple[str, str]:
    """张三 registered by 安阳县 in 2021 and again by 汤阴县 in 2024; 汤阴县's record reached the server first."""
    later = new_volunteer(city, TANGYIN, "node-t", 9, work_unit="汤阴县一中", joined_on="2024-03-01",
                          mobile="13700137000")
    first = new_volunteer(city, ANYANG, "node-a", 9, work_unit="安阳县医院", joined_on="2021-06-15")
    return first, later


# ---- 1. the duplicate-person screen --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_duplicate_person_shows_both_people_side_by_side_under_both_counties(city, lang) -> None:
    first, later = duplicate_person(city)
    masked = f"410522********{resident_id(9)[-4:]}"
    words = {"zh": {"first": "先登记 · 安阳县", "later": "后登记 · 汤阴县", "name": "姓名", "county": "县（市、区）",
                    "unit": "工作单位", "joined": "登记日期", "both": "各自保留"},
             "en": {"first": "Registered first · 安阳县", "later": "Registered later · 汤阴县", "name": "Name",
                    "county": "County", "unit": "Work unit", "joined": "Registered on",
                    "both": "each keeps its own"}}[lang]
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, lang, today=TODAY)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1)  # the app's load detects the duplicate
            assert str(table.get_row_at(0)[1]) == "安阳县 / 汤阴县"
            for county in (ANYANG, TANGYIN):  # listed under either county
                app.query_one("#f-county", Input).value = county
                app.query_one("#f-county", Input).focus()
                await pilot.press("enter")
                await wait_until(pilot, lambda: table.row_count == 1 and "1" in status(app))
            table.focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
            screen = app.screen
            fields = screen.query_one("#fields", DataTable)
            headers = [str(c.label) for c in fields.columns.values()]
            assert headers[2:] == [words["first"], words["later"]] and len(headers) == 4  # no 原值 column
            rows = {str(fields.get_row_at(i)[0]): [str(c) for c in fields.get_row_at(i)[2:]] +
                    [str(fields.get_row_at(i)[1])] for i in range(fields.row_count)}
            assert rows[words["name"]][:2] == ["张三", "张三"]
            assert [r[:2] for r in rows.values()][1] == [masked, masked]  # the ID number, masked
            assert rows[words["county"]][:2] == ["安阳县", "汤阴县"]
            assert rows[words["unit"]] == ["安阳县医院", "汤阴县一中", "安阳县"]  # merge into the first: its value
            assert rows[words["joined"]][:2] == ["2021-06-15", "2024-03-01"]
            assert not any(c == "-" for r in rows.values() for c in r[:2])
            assert first not in screen_text(app) and later not in screen_text(app)
            action = screen.query_one("#action", Select)
            assert [value for _label, value in action._options] == ["merge:city", "merge:county", "keep_both"]
            action.value = "merge:county"  # keep 汤阴县's record: its values unless chosen otherwise
            await pilot.pause()
            assert str(fields.get_row("work_unit")[1]) == "汤阴县"
            action.value = "keep_both"
            await pilot.pause()
            assert {str(fields.get_row_at(i)[1]) for i in range(fields.row_count)} == {words["both"]}
            action.value = "merge:city"
            await pilot.pause()
            fields.focus()
            fields.move_cursor(row=fields.get_row_index("mobile"))
            await pilot.press("space")  # the mobile of the later registration
            assert str(fields.get_row("mobile")[1]) == "汤阴县"
            screen.query_one("#reason", Input).value = "同一人，现在汤阴县工作"
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConflictScreen))
    kept, retired = row(city, "volunteer", first), row(city, "volunteer", later)
    assert (kept["status"], kept["mobile"], kept["work_unit"]) == ("active", "13700137000", "安阳县医院")
    assert retired["status"] == "inactive"


# ---- 2. lock and reopen: separate actions on the highlighted county and month ---------------------------------


async def test_lock_and_reopen_act_on_the_highlighted_county_and_month_only(city) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=TODAY)
        async with app.run_test(size=(140, 40)) as pilot:
            grid = app.query_one("#report-table", DataTable)
            await wait_until(pilot, lambda: grid.row_count == 11)
            await pilot.press("f4")
            assert app.query_one(TabbedContent).active == "reports"
            # On 1 May 2024 April is still due (pending, open): 2024-04 is the fifth month shown.
            assert grid.get_row("410522")[5] == grid.get_row("410523")[5] == "待报"
            grid.move_cursor(row=grid.get_row_index("410522"), column=0)  # the county's name: no month
            await pilot.press("ctrl+l")
            await pilot.pause()
            assert isinstance(app.screen, CityMainScreen) and "某县区某月份" in messages(app)[-1]
            grid.move_cursor(row=grid.get_row_index("410522"), column=5)
            await pilot.press("ctrl+l")
            await wait_until(pilot, lambda: isinstance(app.screen, LockModal))
            modal = app.screen
            assert "锁定 安阳县 2024-04" in str(modal.query_one(Label).content)
            assert not modal.query("#until")  # locking is not typing a past date
            modal.query_one("#reason", Input).value = "县里已确认四月月报不再修改"
            await pilot.press("enter")
            await wait_until(pilot, lambda: "已锁定：安阳县 2024-04" in messages(app))
            await wait_until(pilot, lambda: grid.row_count == 11 and grid.get_row("410522")[5] == "待报（已锁定）")
            assert grid.get_row("410523")[5] == "待报"  # another county: untouched
            assert grid.get_row("410522")[4] == "未报（已锁定）"  # another month: as it was
            assert grid.cursor_coordinate == (grid.get_row_index("410522"), 5)  # still on the cell just locked
            await pilot.press("ctrl+u")
            await wait_until(pilot, lambda: isinstance(app.screen, ReopenModal))
            assert app.screen.query_one("#until", Input).value == "2024-05-08"
            app.screen.query_one("#reason", Input).value = "县里申请补充"
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: "已重新开放：安阳县 2024-04，可修改至 2024-05-08" in messages(app))
            await wait_until(pilot, lambda: grid.row_count == 11 and grid.get_row("410522")[5] == "待报")
    with city.db.read() as connection:
        locks = connection.execute(sa.text(
            "SELECT county_code, period, due_on FROM reporting_deadline WHERE kind = 'period_lock'")).all()
    assert [(c, p, str(d)) for c, p, d in locks] == [("410522", "2024-04", "2024-05-08")]


# ---- 3. Esc and Enter ------------------------------------------------------------------------------------------


async def test_esc_on_an_item_with_a_typed_value_or_reason_asks_first_with_no_preselected(city) -> None:
    make_conflict(city)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=TODAY)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1)
            table.focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
            await pilot.press("escape")  # nothing typed: straight back
            await wait_until(pilot, lambda: isinstance(app.screen, CityMainScreen))
            table.focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
            item = app.screen
            item.query_one("#reason", Input).value = "电话核实"
            item.query_one("#fields", DataTable).focus()
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            assert app.screen.focused is app.screen.query_one("#no", Button)  # 否 under the cursor
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is item)
            assert item.query_one("#reason", Input).value == "电话核实"  # kept
            item.query_one("#reason", Input).value = ""
            item.query_one("#value", Input).value = "县一中"  # a value being typed counts too
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("left", "enter")  # 是: drop it
            await wait_until(pilot, lambda: isinstance(app.screen, CityMainScreen))
            await pilot.press("ctrl+k")
            await wait_until(pilot, lambda: isinstance(app.screen, ReasonModal))
            app.screen.query_one("#reason", Input).value = "县里核实"
            await pilot.press("escape")  # the bulk reason is typed input too
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
    assert queue(city)["total"] == 1


async def test_enter_on_the_bulk_confirm_does_what_the_highlighted_button_says_with_a_message(city) -> None:
    make_conflict(city, 1)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=TODAY)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1)
            table.focus()
            for answer, message in ((["enter"], "已取消，未作处理"), (["left", "enter"], "已处理 1/1 项")):
                await pilot.press("ctrl+k")
                await wait_until(pilot, lambda: isinstance(app.screen, ReasonModal))
                app.screen.query_one("#reason", Input).value = "县里核实"
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
                await pilot.press(*answer)
                await wait_until(pilot, lambda m=message: m in messages(app))
                if message.startswith("已取消"):
                    assert queue(city)["total"] == 1 and status(app) == message
    assert queue(city)["total"] == 0


# ---- 4. keys and focus -----------------------------------------------------------------------------------------


def footer(app: App[None]) -> list[str]:
    return [str(key.description) for key in app.screen.query(FooterKey)]


async def test_tabs_switch_without_focus_and_the_footer_follows_the_tab(city) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=TODAY)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: "open items" in status(app))
            tabs = app.query_one(TabbedContent)
            app.query_one("#f-county", Input).focus()  # typing in a filter, the tab bar not focused
            await pilot.press("f4")
            assert tabs.active == "reports"
            await wait_until(pilot, lambda: "Lock the month" in footer(app))
            assert "Take county (bulk)" not in footer(app) and "Reopen the month" in footer(app)
            await pilot.press("f2")
            assert tabs.active == "uploads"
            await wait_until(pilot, lambda: "Lock the month" not in footer(app))
            await pilot.press("ctrl+pagedown")
            assert tabs.active == "queue"
            await wait_until(pilot, lambda: "Take county (bulk)" in footer(app))
            await pilot.press("ctrl+pageup", "ctrl+pageup")  # queue → uploads → round to the last tab
            assert tabs.active == "counties"
            await pilot.press("f3")
            assert tabs.active == "queue"


async def test_reason_and_value_boxes_are_distinct_and_a_typed_value_is_shown_whole(city) -> None:
    make_conflict(city)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=TODAY)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one("#queue-table", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1)
            table.focus()
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
            item = app.screen
            value, reason = item.query_one("#value", Input), item.query_one("#reason", Input)
            assert str(reason.border_title) == "处理理由（必填）" and str(value.border_title).startswith("输入值")
            assert value.styles.border_top != reason.styles.border_top
            fields = item.query_one("#fields", DataTable)
            fields.move_cursor(row=fields.get_row_index("work_unit"))
            await pilot.pause()
            assert str(value.border_title) == "输入值：工作单位"
            value.focus()
            await pilot.press(*"13912345678901")
            await pilot.press("enter")
            await pilot.pause()
            assert str(fields.get_row("work_unit")[1]) == "13912345678901"
            assert "13912345678901" in screen_text(app)  # not cut to the header's width


# ---- 5. language and width -------------------------------------------------------------------------------------


async def test_at_80_columns_the_footer_keeps_help_and_quit_and_the_county_column_stays(city) -> None:
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=TODAY)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: "待处理" in status(app))
            for keys in ((), ("f4",)):
                await pilot.press(*keys)
                await pilot.pause()
                shown = [key for key in app.screen.query(FooterKey) if key.region.right <= 80 and key.region.width]
                assert [str(k.description) for k in shown][:2] == ["帮助", "退出"]
            grid = app.query_one("#report-table", DataTable)
            await wait_until(pilot, lambda: grid.row_count == 11)
            grid.focus()
            grid.move_cursor(row=grid.get_row_index("410522"), column=len(grid.columns) - 1)
            await pilot.pause()
            assert grid.scroll_x > 0 and "安阳县" in screen_text(app)  # the fixed county column
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpModal))
            help_text = app.screen.query(".help-text").first()
            assert help_text.region.right <= 80 and help_text.region.height > 1  # wrapped, not cut


async def test_no_english_in_zh_and_no_chinese_in_en(city) -> None:
    make_conflict(city)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "zh", today=TODAY)
        async with app.run_test(size=(120, 40)) as pilot:
            uploads = app.query_one("#upload-table", DataTable)
            await wait_until(pilot, lambda: uploads.row_count == 3)
            await pilot.press("f2")
            uploads.move_cursor(row=1)  # node-b's edit: applied as a plain update (fast_forward)
            await pilot.press("enter")
            report = app.query_one("#upload-report", DataTable)
            await wait_until(pilot, lambda: report.row_count == 1)
            assert [str(c) for c in report.get_row_at(0)[2:]] == ["已应用", "直接更新"]
            await pilot.press("f3")
            app.query_one("#f-table", Select).focus()
            await pilot.press("enter")  # its menu opens: the footer's Esc is in Chinese (the county app's word)
            await wait_until(pilot, lambda: "收起列表" in footer(app) or "关闭菜单" in footer(app))
            assert "Dismiss menu" not in footer(app)
    with CityAdminClient(city.url, city.admin_token) as client:
        app = CityApp(client, "en", today=TODAY)
        async with app.run_test(size=(120, 40)) as pilot:
            grid = app.query_one("#report-table", DataTable)
            await wait_until(pilot, lambda: grid.row_count == 11)
            assert grid.get_row("410522")[1] == "missing (locked)"
            assert status(app) == "1 open item, 3 uploads"  # plural-correct
    down = CityAdminClient(f"http://127.0.0.1:{free_port()}", "token")
    app = CityApp(down, "zh", today=TODAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "无法连接服务器" in status(app))
        assert "ConnectError" not in status(app) and "unreachable" not in status(app)
    down.close()


def test_a_server_without_the_partner_county_lists_the_item_under_the_later_one_only(city) -> None:
    first, later = duplicate_person(city)
    with city.client() as client:
        client.post(f"{ADMIN_PREFIX}/queue/detect").raise_for_status()
    assert queue(city, county="410526")["total"] == 0
    assert queue(city, county=TANGYIN)["items"][0]["people"][0]["id"] == first
