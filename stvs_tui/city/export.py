"""The city's reports as a workbook in the paper forms' layout: monthly reporting (completeness and
timeliness), team minimums per county, activities by service kind and venue.

Figures come from ``schema.reporting``; layout from ``stvs_tui.excel.sheet``. Like the county's official
forms the sheets are in Chinese: they are filed and printed as such.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schema.enums import ServiceKind, VenueKind
from schema.reporting import CellState, CityReports, ReportCell
from stvs_tui.excel.sheet import (
    LIST_SIZE,
    NOT_APPLICABLE,
    FormSheet,
    chinese_date,
    column_widths,
    saving_workbook,
)

CITY_UNIT = "安阳市科学技术协会"
SIGN_OFF = ("负责人", "填报人", "联系电话")


def _sign_off(sheet: FormSheet, reports: CityReports) -> None:
    sheet.sign_off(SIGN_OFF, (f"填报单位（盖章）：{CITY_UNIT}", f"填报日期：{chinese_date(reports.today)}"))
CELL_MARKS = {
    CellState.ON_TIME: "√",
    CellState.LATE: "逾期",
    CellState.MISSING: "未报",
    CellState.PENDING: "待报",
    CellState.NOT_DUE: NOT_APPLICABLE,
}


def cell_mark(cell: ReportCell) -> str:
    """√ on time, 逾期 late, 未报 missing…; a nil report is marked 零报告 (still a report received)."""
    mark = CELL_MARKS[cell.state]
    return f"{mark}（零报告）" if cell.is_nil and cell.received else mark


def _ratio(count: int, expected: int) -> str:
    return f"{count / expected * 100:.1f}%" if expected else NOT_APPLICABLE


def grid_rows(reports: CityReports) -> list[list[Any]]:
    grid = reports.grid
    rows: list[list[Any]] = []
    for code, name in grid.counties:
        done, timely = grid.completeness(code), grid.timeliness(code)
        rows.append([name, *(cell_mark(grid.cell(code, p)) for p in grid.periods), done.expected, done.count,
                     timely.count, _ratio(done.count, done.expected), _ratio(timely.count, timely.expected)])
    done, timely = grid.completeness(), grid.timeliness()
    per_period = [_ratio(grid.completeness(period=p).count, grid.completeness(period=p).expected)
                  for p in grid.periods]
    rows.append(["完整率", *per_period, done.expected, done.count, timely.count,
                 _ratio(done.count, done.expected), _ratio(timely.count, timely.expected)])
    return rows


def _grid_sheet(workbook: Any, reports: CityReports) -> None:
    headers = ["县（市、区）", *reports.grid.periods, "应报", "实报", "按时报", "完整率", "及时率"]
    rows = grid_rows(reports)
    sheet = FormSheet(workbook, "月报报送情况", column_widths(headers, rows), frozen_rows=4)
    sheet.title("科技志愿服务月报报送情况统计表")
    sheet.line(f"统计期间：{reports.first} 至 {reports.last}；完整率 = 实报 ÷ 应报，及时率 = 按时报 ÷ 应报；"
               "零报告（本月无活动）计为已报。")
    sheet.split_line(f"填报单位：{CITY_UNIT}", f"统计日期：{chinese_date(reports.today)}")
    sheet.header(headers)
    sheet.data_rows(rows[:-1])
    sheet.data_row(rows[-1], bold=True)
    sheet.line("注：√ 按时报送；逾期 报送晚于截止日期；未报 已过截止日期未报；待报 尚在报送期内；“-” 该月未结束，不适用。")
    _sign_off(sheet, reports)


def team_rows(reports: CityReports, names: dict[str, str]) -> list[list[Any]]:
    rows = []
    for teams in reports.teams:
        brigade = teams.brigade_members if teams.has_brigade else NOT_APPLICABLE
        verdict = "达标" if teams.has_brigade and teams.brigade_meets_minimum and not teams.below_minimum else "未达标"
        rows.append([names.get(teams.county_code, teams.county_code), teams.teams, teams.brigades, brigade,
                     teams.grassroots, teams.below_minimum, teams.without_activity, verdict])
    return rows


def _teams_sheet(workbook: Any, reports: CityReports, names: dict[str, str]) -> None:
    headers = ["县（市、区）", "队伍总数", "大队数", "大队人数", "基层队数", "不足最低人数的队伍", "本月无活动的队伍", "是否达标"]
    rows = team_rows(reports, names)
    sheet = FormSheet(workbook, "队伍达标情况", column_widths(headers, rows), frozen_rows=4)
    sheet.title("科技志愿服务队伍达标情况统计表")
    sheet.line(f"统计月份：{reports.last}；大队不少于30人，其他队伍不少于10人，每队每月活动不少于1次。")
    sheet.split_line(f"填报单位：{CITY_UNIT}", f"统计日期：{chinese_date(reports.today)}")
    sheet.header(headers)
    sheet.data_rows(rows)
    sheet.data_row(["合计", *(sum(r[i] for r in rows) for i in (1, 2)), NOT_APPLICABLE,
                    *(sum(r[i] for r in rows) for i in (4, 5, 6)), f"达标{sum(r[7] == '达标' for r in rows)}个"],
                   bold=True)
    _sign_off(sheet, reports)


def activity_rows(reports: CityReports) -> list[list[Any]]:
    rows = []
    for code, name in reports.grid.counties:
        item = reports.activities.get(code)
        kinds = [item.by_kind.get(k.value, 0) if item else 0 for k in ServiceKind]
        venues = [item.by_venue.get(v.value, 0) if item else 0 for v in VenueKind]
        rows.append([name, item.total if item else 0, *kinds, *venues])
    return rows


def _activities_sheet(workbook: Any, reports: CityReports) -> None:
    headers = ["县（市、区）", "活动总数", *(k.zh for k in ServiceKind), *(v.zh for v in VenueKind)]
    rows = activity_rows(reports)
    # The sub-header names each column: the top one only groups them.
    # thirteen columns, long category names: the list size
    sheet = FormSheet(workbook, "活动分类统计", column_widths(headers, rows, size=LIST_SIZE), frozen_rows=5,
                      size=LIST_SIZE)
    sheet.title("科技志愿服务活动分类统计表")
    sheet.line(f"统计期间：{reports.first} 至 {reports.last}（已开展、已结束的活动）")
    sheet.split_line(f"填报单位：{CITY_UNIT}", f"统计日期：{chinese_date(reports.today)}")
    top = sheet.header(["县（市、区）", "活动总数", "按服务类别", *[None] * (len(ServiceKind) - 1), "按服务场所",
                        *[None] * (len(VenueKind) - 1)],
                       spans=((3, 2 + len(ServiceKind)), (3 + len(ServiceKind), len(headers))))
    sub = sheet.header([None, None, *headers[2:]])
    sheet.merge(1, 1, top, sub)
    sheet.merge(2, 2, top, sub)
    sheet.data_rows(rows)
    sheet.data_row(["合计", *(sum(r[i] for r in rows) for i in range(1, len(headers)))], bold=True)
    _sign_off(sheet, reports)


def export_city_reports(reports: CityReports, path: Path) -> None:
    """One workbook, three sheets: monthly reporting, team minimums, activities by kind and venue."""
    names = dict(reports.grid.counties)
    with saving_workbook(path) as workbook:
        _grid_sheet(workbook, reports)
        _teams_sheet(workbook, reports, names)
        _activities_sheet(workbook, reports)
