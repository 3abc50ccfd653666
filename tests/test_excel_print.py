"""Every export as a printer puts it on paper: LibreOffice renders the workbooks to PDF (one run for all) and
the PDF is read back: glyph sizes as printed, pages, text drawn over text, the title, the header on each
page, page numbers, and the sign-off block with room for a 42 mm seal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from excel_helpers import DEMO_TODAY, fill_demo
from openpyxl import load_workbook
from printed import A4, MM, Line, Page, find, font_hint, overprinted, read_pdf, render, soffice

from schema.models import Activity, MonthlyReport, Team, Volunteer
from schema.regions import install_regions, read_regions
from schema.reporting import city_reports
from schema.rules import hours_by_volunteer
from schema.store import open_store
from stvs_tui.city.conflict_log import export_conflict_log
from stvs_tui.city.export import export_city_reports
from stvs_tui.excel import (
    export_activities,
    export_certificate,
    export_hours,
    export_monthly,
    export_roster,
    export_teams,
    export_template,
)

pytestmark = pytest.mark.skipif(
    soffice() is None,
    reason="LibreOffice is not installed (no soffice on PATH): the printed view of the exports cannot be "
           "rendered here; .ci/run installs libreoffice-calc-nogui, fonts-noto-cjk and poppler-utils")

VOLUNTEERS = 150
LONG_UNIT = "河南省安阳市安阳县现代农业科技示范园区管理委员会农业技术推广服务中心（果树蔬菜栽培技术推广站）"
LONG_SUMMARY = ("组织县农业技术推广中心专家深入田间地头，围绕小麦条锈病、赤霉病的识别与防治开展现场教学，"
                "发放技术明白纸三百余份，解答群众提问六十余个，并建立了“专家+示范户+农户”的长期联系机制。") * 2
TEMPLATE_ID = "410522198503121234"
TEMPLATE_MORE_ROWS = 50


@dataclass
class Printed:
    """One export: its workbook and its pages as printed."""

    workbook: Path
    pages: list[Page]

    @property
    def lines(self) -> list[Line]:
        return [line for page in self.pages for line in page.lines]


def _long_texts(store) -> None:
    """What real offices type: a unit name of 48 characters, a two-paragraph activity summary."""
    with store.session() as session:
        person = session.execute(sa.select(Volunteer).order_by(Volunteer.created_at)).scalars().first()
        person.work_unit, person.notes = LONG_UNIT, LONG_SUMMARY[:80]
        team = session.execute(sa.select(Team).order_by(Team.created_at)).scalars().first()
        team.host_unit, team.notes = LONG_UNIT, LONG_SUMMARY[:60]
        activity = session.execute(sa.select(Activity).where(Activity.starts_at >= "2026-05-01")
                                   .order_by(Activity.starts_at)).scalars().first()
        activity.summary, activity.partner_unit = LONG_SUMMARY, LONG_UNIT
        session.add(MonthlyReport(county_code="410522", period="2026-05", highlights=LONG_SUMMARY))
        session.add_all([person, team, activity])
        session.commit()


def _conflict_items() -> tuple[list[Any], list[Any]]:
    """A city's conflict log: 40 open items and 30 resolved ones, with long work units and reasons."""
    from sync.admin_protocol import QueueItem, Sender

    def item(n: int, resolved: bool) -> QueueItem:
        fields = {"mobile": {"base": "13800138000", "server": f"139{n:08d}", "incoming": f"137{n:08d}"},
                  "work_unit": {"base": "", "server": LONG_UNIT, "incoming": "安阳县人民医院"}}
        return QueueItem(
            id=f"c{n}", county_code="410522", table="volunteer", row_id=f"r{n}", kind="field_conflict",
            node_id="node", base_version=1, server_version=2, fields=fields,
            status="resolved" if resolved else "open", created_at=f"2026-05-{n % 28 + 1:02d}T09:00:00",
            resolved_at=f"2026-06-{n % 28 + 1:02d}T10:00:00" if resolved else None,
            resolved_by="admin:市科协李明" if resolved else "",
            resolution={"mobile": f"137{n:08d}", "work_unit": LONG_UNIT} if resolved else {},
            reason=LONG_SUMMARY[:60] if resolved else "", subject=f"欧阳晓明{n} 410522********1234",
            county_name="安阳县", server_sender=Sender(node_id="0190a000-0000-7000-8000-00000000aa01",
                                                    device_label="王芳的笔记本", token_label="安阳县科协"),
            incoming_sender=Sender(node_id="0190a000-0000-7000-8000-00000000bb02", token_label="安阳县科协"))

    return [item(n, False) for n in range(40)], [item(n, True) for n in range(30)]


def _filled_template(path: Path) -> Path:
    """The template as a clerk fills it in Excel: text typed into its prepared columns."""
    export_template(path)
    workbook = load_workbook(path)
    roster = workbook.worksheets[0]
    header = [c.value for c in roster[1]]
    for column, value in (("证件类型", "居民身份证"), ("证件号码", TEMPLATE_ID), ("手机号码", "13800001234"),
                          ("姓名", "欧阳晓明"), ("出生日期", "1985-03-12")):
        roster.cell(2, header.index(column) + 1, value)
    for row in range(3, 3 + TEMPLATE_MORE_ROWS):  # a roster long enough for a second page
        for column, value in (("姓名", f"王{row:02d}"), ("证件号码", f"4105221990010{row:04d}X")):
            roster.cell(row, header.index(column) + 1, value)
    workbook.save(path)
    return path


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Printed]]:
    folder = tmp_path_factory.mktemp("printed")
    store = open_store(folder / "data" / "stvs.sqlite")
    try:
        with store.session() as session:
            install_regions(session, read_regions())
        store.set_settings(county_code="410522", clerk="王芳")
        fill_demo(store, VOLUNTEERS)
        _long_texts(store)
        with store.session() as session:
            served = hours_by_volunteer(session, "410522")
            reports = city_reports(session, "2026-01", "2026-06", DEMO_TODAY)
        books = folder / "books"
        books.mkdir()
        export_teams(store, books / "teams.xlsx", today=DEMO_TODAY)
        export_roster(store, books / "roster.xlsx", today=DEMO_TODAY)
        export_monthly(store, books / "monthly.xlsx", period="2026-05", today=DEMO_TODAY)
        export_activities(store, books / "activities.xlsx", period="2026", today=DEMO_TODAY)
        export_hours(store, books / "hours.xlsx", period="2026", today=DEMO_TODAY)
        export_certificate(store, books / "certificate.xlsx", max(served, key=lambda v: served[v][0]),
                           today=DEMO_TODAY)
        _filled_template(books / "template.xlsx")
        export_city_reports(reports, books / "city.xlsx")
        export_conflict_log(*_conflict_items(), books / "conflicts.xlsx", DEMO_TODAY)
    finally:
        store.close()
    workbooks = sorted(books.glob("*.xlsx"))
    pdfs = render(workbooks, folder)
    yield {path.stem: Printed(path, read_pdf(pdfs[path.stem])) for path in workbooks}


# The forms and lists a clerk prints, their title and the smallest glyph allowed on them.
FORMS = {
    "teams": ("科技志愿服务队基本情况表", 9.0),
    "roster": ("科技志愿者名册", 9.0),
    "monthly": ("科技志愿服务活动月报表", 9.0),
    "activities": ("科技志愿服务活动台账", 9.0),
    "hours": ("科技志愿服务时长公示名单", 9.0),
    "certificate": ("志愿服务记录证明", 10.0),
    "city": ("科技志愿服务月报报送情况统计表", 9.0),
    "conflicts": ("同步冲突待处理清单", 9.0),
}
STAMPS = {"certificate": "出具单位（盖章）", "hours": "公示单位（盖章）"}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_glyph_prints_at_a_readable_size(printed: dict[str, Printed], name: str) -> None:
    smallest = min(printed[name].lines, key=lambda line: line.size)
    assert smallest.size >= FORMS[name][1] - 0.05, \
        f"{name}: “{smallest.text}” prints at {smallest.size:.1f} pt on page {smallest.page}{font_hint()}"


@pytest.mark.parametrize("name", [*sorted(FORMS), "template"])
def test_no_text_is_printed_over_other_text(printed: dict[str, Printed], name: str) -> None:
    clashes = {page.number: overprinted(page) for page in printed[name].pages}
    assert not {n: c for n, c in clashes.items() if c}, f"{name}: text drawn over text"


@pytest.mark.parametrize("name", sorted(FORMS))
def test_each_page_is_a4_with_its_number_and_the_title_on_the_first(printed: dict[str, Printed], name: str) -> None:
    pages = printed[name].pages
    assert all({round(page.width), round(page.height)} == {round(A4[0]), round(A4[1])} for page in pages)
    title = FORMS[name][0]
    assert any(title in line.text for line in pages[0].lines), f"{name}: no title “{title}” on page 1"
    for page in pages:
        assert page.rules, f"{name}: page {page.number} has no borders"
        if name in ("city", "conflicts"):  # several sheets, a report each: each has its title
            assert "页 共" in page.text, f"{name}: page {page.number} has no page number"
            continue
        assert f"第 {page.number} 页 共 {len(pages)} 页" in page.text, f"{name}: page {page.number} has no number"
        if page.number > 1:
            assert not any(title in line.text for line in page.lines), f"{name}: the title is repeated"


@pytest.mark.parametrize(("name", "header"), [("roster", "证件号码"), ("activities", "活动名称"), ("hours", "姓名"),
                                              ("conflicts", "类型")])
def test_long_lists_repeat_their_header_on_every_page(printed: dict[str, Printed], name: str, header: str) -> None:
    pages = printed[name].pages
    assert len(pages) > 1
    assert all(any(line.text == header for line in page.lines) for page in pages)


@pytest.mark.parametrize(("name", "rows", "low", "high"), [
    ("roster", VOLUNTEERS, 8, 40),  # volunteers a page: readable rows, but not one line of text a page
    ("monthly", None, 1, 1), ("certificate", None, 1, 1), ("teams", None, 1, 3), ("city", None, 3, 3),
])
def test_page_counts_are_what_the_content_needs(printed: dict[str, Printed], name: str, rows: int | None,
                                                low: int, high: int) -> None:
    pages = len(printed[name].pages)
    if rows is None:
        assert low <= pages <= high
    else:
        assert low <= rows / pages <= high, f"{name}: {rows} rows on {pages} pages"


@pytest.mark.parametrize("name", sorted(FORMS))
def test_the_sign_off_block_leaves_room_for_a_42_mm_seal(printed: dict[str, Printed], name: str) -> None:
    stamp_label = STAMPS.get(name, "填报单位（盖章）")
    pages = printed[name].pages
    sheets = [page for page in pages if any(stamp_label in line.text for line in page.lines)]
    assert sheets and sheets[-1] is pages[-1], f"{name}: the stamp line is not on the last page"
    for page in sheets:
        stamp = next(line for line in page.lines if stamp_label in line.text)
        dated = next(line for line in page.lines if "日期：" in line.text and line.top > stamp.top)
        signers = [line for line in page.lines if line.text.startswith(("负责人", "联系人", "经办人"))]
        assert signers and all(line.page == stamp.page for line in signers)
        centre_x, centre_y = (stamp.x0 + stamp.x1) / 2, (stamp.top + dated.bottom) / 2
        half = SEAL / 2
        seal = (centre_x - half, centre_y - half, centre_x + half, centre_y + half)
        assert seal[0] >= 0 and seal[2] <= page.width and seal[1] >= 0 and seal[3] <= page.height, \
            f"{name}: a seal over “{stamp.text}” would run off the page"
        under = [line.text for line in page.lines if line not in (stamp, dated) and _meets(line, seal)]
        assert not under, f"{name}: a seal would cover {under}"
        rules = [rule for rule in page.rules if _meets_box(rule, seal)]
        assert not rules, f"{name}: a seal would cover the table's borders"


SEAL = 42 * MM


def _meets(line: Line, box: tuple[float, float, float, float]) -> bool:
    return _meets_box((line.x0, line.top, line.x1, line.bottom), box)


def _meets_box(one: tuple[float, float, float, float], box: tuple[float, float, float, float]) -> bool:
    return one[0] < box[2] and box[0] < one[2] and one[1] < box[3] and box[1] < one[3]


def test_certificate_fills_a_portrait_page(printed: dict[str, Printed]) -> None:
    (page,) = printed["certificate"].pages
    assert page.height > page.width
    top = min(line.top for line in page.lines)
    bottom = max(line.bottom for line in page.lines if "页 共" not in line.text)
    assert bottom - top >= 0.75 * page.height, f"the certificate uses {(bottom - top) / page.height:.0%} of the page"
    assert find(printed["certificate"].pages, "兹证明")[0].size >= 12 - 0.05


def test_monthly_highlights_box_has_room_to_write_in(printed: dict[str, Printed]) -> None:
    (page,) = printed["monthly"].pages
    label = find([page], "工作亮点")[0]
    # the box: between the horizontal borders just above and just below its label
    above = max(rule[1] for rule in page.rules if rule[3] - rule[1] < 1 and rule[1] <= label.top)
    below = min(rule[1] for rule in page.rules if rule[3] - rule[1] < 1 and rule[1] >= label.bottom)
    assert below - above >= 45 * MM, f"the 工作亮点 box is {(below - above) / MM:.0f} mm tall"
    assert LONG_SUMMARY[:10] in page.text.replace("\n", "")


def test_template_id_column_shows_18_digits_whole(printed: dict[str, Printed]) -> None:
    pages = printed["template"].pages
    header = find(pages, "证件号码")[0]
    page = pages[header.page - 1]
    (line,) = [line for line in page.lines if TEMPLATE_ID in line.text]
    # the column's borders, drawn around the header cell
    walls = sorted(rule[0] for rule in page.rules if rule[2] - rule[0] < 1 and rule[1] <= header.top <= rule[3])
    left = max(x for x in walls if x <= header.x0)
    right = min(x for x in walls if x >= header.x1)
    # the digits printed from the column's left wall on: the ID's 18 come first, and end inside the column
    digits = sorted(((box, text) for text, box in page.glyphs if box[1] >= line.top - 1
                     and box[3] <= line.bottom + 1 and text.isdigit() and box[0] >= left - 0.5),
                    key=lambda glyph: glyph[0][0])
    id_glyphs = digits[:len(TEMPLATE_ID)]
    assert "".join(text for _box, text in id_glyphs) == TEMPLATE_ID, "the ID does not start in its column"
    assert id_glyphs[-1][0][2] <= right, "the 18-digit ID does not fit its column"


def test_long_text_wraps_within_its_row(printed: dict[str, Printed]) -> None:
    """A 48-character unit name and a long summary print whole: wrapped in their cell, every character."""
    for name, text in (("roster", LONG_UNIT), ("teams", LONG_UNIT), ("activities", LONG_SUMMARY)):
        first = find(printed[name].pages, text[:3])[0]
        cell = sorted((line for line in printed[name].lines
                       if line.page == first.page and abs(line.x0 - first.x0) < 2 and line.top >= first.top),
                      key=lambda line: line.top)
        on_paper = "".join(line.text for line in cell).replace(" ", "")
        assert text in on_paper, f"{name}: “{text[:12]}…” is not printed whole"


def test_the_template_prints_one_page_wide_readably_on_a4(printed: dict[str, Printed]) -> None:
    """Its 18 columns on A4 landscape, one page wide (fitted to the width only) at no less than 9 pt as printed,
    the header row on every page of a roster running over two."""
    pages = printed["template"].pages
    smallest = min(printed["template"].lines, key=lambda line: line.size)
    assert smallest.size >= 9 - 0.05, \
        f"template: “{smallest.text}” prints at {smallest.size:.1f} pt on page {smallest.page}{font_hint()}"
    assert all({round(page.width), round(page.height)} == {round(A4[0]), round(A4[1])} for page in pages)
    assert all(f"第 {page.number} 页 共 {len(pages)} 页" in page.text for page in pages)
    sheet = [page for page in pages if "填写说明" not in page.text]
    assert len(sheet) >= 2 and all(page.width > page.height for page in sheet)
    roster = load_workbook(printed["template"].workbook).worksheets[0]
    setup = roster.page_setup
    assert (setup.fitToWidth, setup.fitToHeight, roster.sheet_properties.pageSetUpPr.fitToPage) == (1, 0, True)
    headers = [cell.value for cell in roster[1]]  # as written: a long one broken on two lines
    for page in sheet:  # every column on every page, under the header row
        missing = [part for header in headers for part in header.split("\n") if part not in page.text]
        assert not missing, f"page {page.number} of the roster lacks the header {missing}"
    printed_ids = [line.text for page in sheet for line in page.lines if "4105221990010" in line.text]
    assert len(printed_ids) == TEMPLATE_MORE_ROWS, "a row of the roster is missing or printed twice"


def test_template_instructions_print_readably(printed: dict[str, Printed]) -> None:
    pages = [page for page in printed["template"].pages if "填写说明" in page.text]
    assert pages and all("页 共" in page.text for page in pages)
    smallest = min((line for page in pages for line in page.lines), key=lambda line: line.size)
    assert smallest.size >= 9 - 0.05, f"“{smallest.text}” prints at {smallest.size:.1f} pt"
