"""The official forms: 附件2《科技志愿服务队基本情况表》, the monthly activity report (月报表) and a volunteer's
service record certificate (志愿服务记录证明). Figures come from ``schema.rules``; layout from ``sheet``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from schema.enums import IdType, RegistrationStatus, ServiceKind, TeamTier, VenueKind
from schema.models import Activity, MonthlyReport, Participation, Team, Volunteer
from schema.rules import (
    MonthlyFigures,
    TeamCompliance,
    counted_service,
    monthly_figures,
    period_of,
    team_compliance,
    volunteer_hours,
)
from schema.store import Store
from schema.validators import mask_id_number
from stvs_tui.excel.common import (
    issuing_unit,
    label_of,
    labels_of,
    parse_period,
    require_county,
    signers,
    today_or,
)
from stvs_tui.excel.errors import ExportFailed
from stvs_tui.excel.sheet import (
    CENTER,
    CERTIFICATE_SIZE,
    NOT_APPLICABLE,
    SEAL_ROW,
    FormSheet,
    chinese_date,
    column_widths,
    saving_workbook,
    song,
)

TEAM_HEADER_TOP = ("序号", "队伍名称", "层级", "依托单位", "负责人", "联系电话", "队员人数", "其中", None, None,
                   "服务类别", "科技志愿服务信息平台", None, "备注")
TEAM_HEADER_SUB = (None, None, None, None, None, None, None, "三长", "科技专家", "乡土科技人才", None, "注册状态",
                   "组织编号", None)
# Columns whose two header rows are one merged cell.
TEAM_TALL_COLUMNS = (1, 2, 3, 4, 5, 6, 7, 11, 14)


CERTIFICATE_TABLE_SIZE = 11.0
HIGHLIGHTS_HEIGHT = 130.0  # the monthly form's 工作亮点 box: 46 mm, seven handwritten lines


def _sign_off(sheet: FormSheet, store: Store, day: date) -> None:
    """负责人, 填报人 (the clerk set in the store), 联系电话; the unit to stamp and the date."""
    sheet.sign_off(signers(store),
                   (f"填报单位（盖章）：{issuing_unit(store)}", f"填报日期：{chinese_date(day)}"))


def _team_row(number: int, team: Team, figures: TeamCompliance) -> list[Any]:
    members = figures.members
    registered = team.stvs_status == RegistrationStatus.REGISTERED.value
    notes = [team.notes] if team.notes else []
    minimum = TeamTier(team.tier).minimum_members
    if minimum and members < minimum:
        notes.append(f"队员不足{minimum}人")
    return [number, team.name, label_of(TeamTier, team.tier), team.host_unit, team.leader_name, team.contact_phone,
            members, figures.san_zhang, figures.experts, figures.rural_talents, labels_of(ServiceKind, team.service_kinds),
            label_of(RegistrationStatus, team.stvs_status),
            (team.stvs_org_no or NOT_APPLICABLE) if registered else NOT_APPLICABLE, "；".join(notes)]


def team_rows(session: Session, county: str, period: str) -> list[list[Any]]:
    figures = {f.team_id: f for f in team_compliance(session, county, period)}
    teams = {t.id: t for t in session.execute(sa.select(Team).where(Team.id.in_(list(figures)))).scalars()}
    return [_team_row(n, teams[team_id], figures[team_id]) for n, team_id in enumerate(figures, start=1)]


def export_teams(store: Store, path: Path, *, today: date | None = None) -> int:
    """附件2《科技志愿服务队基本情况表》 for the county: one row per active team, with a total row."""
    county = require_county(store)
    day = today_or(today)
    with store.session() as session:
        rows = team_rows(session, county, period_of(day))
    # The sub-header names each column but three: those take their width from the top header.
    widths = column_widths([s or t or "" for t, s in zip(TEAM_HEADER_TOP, TEAM_HEADER_SUB, strict=True)], rows[:300])
    with saving_workbook(path) as workbook:
        sheet = FormSheet(workbook, "科技志愿服务队基本情况表", widths, frozen_rows=5)
        sheet.line("附件2", font=sheet.bold_font)
        sheet.title("科技志愿服务队基本情况表")
        sheet.split_line(f"填报单位：{issuing_unit(store)}", f"统计截至：{chinese_date(day)}")
        top = sheet.header(TEAM_HEADER_TOP, spans=((8, 10), (12, 13)))
        sub = sheet.header(TEAM_HEADER_SUB)
        for column in TEAM_TALL_COLUMNS:
            sheet.merge(column, column, top, sub)
        sheet.data_rows(rows)
        sheet.data_row(["合计", f"共{len(rows)}支队伍", *[None] * 4, *(sum(r[i] for r in rows) for i in range(6, 10)),
                        None, f"已注册{sum(1 for r in rows if r[11] == RegistrationStatus.REGISTERED.zh)}支", None, None],
                       bold=True, spans=((2, 6),))
        sheet.line("注：队员人数为在队志愿者人数（同一志愿者可属于多支队伍）；大队不少于30人，其他队伍不少于10人。")
        _sign_off(sheet, store, day)
    return len(rows)


def _year_to_date(session: Session, county: str, period: str) -> MonthlyFigures:
    """Sums of the additive figures from January to ``period``; distinct volunteers do not add up."""
    year, month = map(int, period.split("-"))
    total = MonthlyFigures(period=f"{year}")
    for m in range(1, month + 1):
        figures = monthly_figures(session, county, f"{year:04d}-{m:02d}")
        for name in ("activities", "person_times", "hours", "beneficiaries", "new_volunteers", "new_teams"):
            setattr(total, name, getattr(total, name) + getattr(figures, name))
        for counts, more in ((total.by_kind, figures.by_kind), (total.by_venue, figures.by_venue)):
            for key, value in more.items():
                counts[key] = counts.get(key, 0) + value
    total.hours = round(total.hours, 2)
    return total


def monthly_rows(month: MonthlyFigures, year: MonthlyFigures) -> list[list[Any]]:
    rows: list[list[Any]] = [["一、活动次数", "次", month.activities, year.activities]]
    for kind in ServiceKind:
        rows.append([f"    {kind.zh}", "次", month.by_kind.get(kind.value, 0), year.by_kind.get(kind.value, 0)])
    for venue in VenueKind:
        rows.append([f"    {venue.zh}", "次", month.by_venue.get(venue.value, 0), year.by_venue.get(venue.value, 0)])
    rows += [
        ["二、参与志愿者人次", "人次", month.person_times, year.person_times],
        ["三、参与志愿者人数", "人", month.volunteers, NOT_APPLICABLE],
        ["四、服务时长", "小时", month.hours, year.hours],
        ["五、受益群众", "人次", month.beneficiaries, year.beneficiaries],
        ["六、新增志愿者", "人", month.new_volunteers, year.new_volunteers],
        ["七、新增队伍", "支", month.new_teams, year.new_teams],
    ]
    return rows


def export_monthly(store: Store, path: Path, *, period: str | None = None, today: date | None = None) -> None:
    """The monthly activity report for ``period`` (default: the current month) with year-to-date figures."""
    county = require_county(store)
    day = today_or(today)
    span = parse_period(period or period_of(day))
    if len(span.text) != 7:
        raise ExportFailed(f"月报须指定月份YYYY-MM，而不是“{period}” (the monthly report needs a month YYYY-MM)")
    with store.session() as session:
        month = monthly_figures(session, county, span.text)
        year = _year_to_date(session, county, span.text)
        report = session.execute(sa.select(MonthlyReport).where(
            MonthlyReport.county_code == county, MonthlyReport.period == span.text,
            MonthlyReport.deleted.is_(False))).scalar_one_or_none()
    rows = monthly_rows(month, year)
    for row in rows[1:1 + len(ServiceKind)]:
        row.append("按服务类别")
    for row in rows[1 + len(ServiceKind):1 + len(ServiceKind) + len(VenueKind)]:
        row.append("按服务场所")
    headers = ["指标", "计量单位", "本月", "本年累计", "备注"]
    rows = [row + [None] * (5 - len(row)) for row in rows]
    with saving_workbook(path) as workbook:
        sheet = FormSheet(workbook, "月报表", column_widths(headers, rows, landscape=False), frozen_rows=3,
                          landscape=False)
        sheet.title("科技志愿服务活动月报表")
        sheet.line(f"报告期：{span.label}", align=CENTER)
        sheet.header(headers)
        sheet.data_rows(rows)
        nil = "☑" if month.is_empty else "☐"
        sheet.data_row([f"{nil} 本月无活动（零报告）", None, None, None, None], spans=((1, 5),))
        sheet.text_box("工作亮点", report.highlights if report else "", height=HIGHLIGHTS_HEIGHT)
        sheet.line("注：数字为0的填0，不适用的填“-”；人数不可跨月相加，故“参与志愿者人数”本年累计填“-”。")
        _sign_off(sheet, store, day)


def _find_volunteer(session: Session, county: str, key: str) -> Volunteer:
    """A volunteer by record id or by ID number."""
    wanted = key.strip()
    found = session.execute(sa.select(Volunteer).where(
        Volunteer.county_code == county, Volunteer.deleted.is_(False),
        sa.or_(Volunteer.id == wanted, Volunteer.id_number == wanted.upper()))).scalars().first()
    if found is None:
        raise ExportFailed(f"找不到志愿者“{wanted}”（请用记录编号或证件号码） (no volunteer with this record id or ID number)")
    return found


def _service_records(session: Session, volunteer_id: str, start: Any, end: Any) -> list[tuple[Any, ...]]:
    query = (sa.select(Activity.starts_at, Activity.title, Team.name, Activity.place, Activity.service_kind,
                       Participation.hours, Participation.confirmed_by)
             .join(Activity, Activity.id == Participation.activity_id).join(Team, Team.id == Activity.team_id)
             .where(Participation.volunteer_id == volunteer_id, counted_service())
             .order_by(Activity.starts_at))
    if start is not None:
        query = query.where(Activity.starts_at >= start, Activity.starts_at < end)
    return list(session.execute(query).all())


def export_certificate(store: Store, path: Path, volunteer: str, *, period: str | None = None,
                       unmasked: bool = False, today: date | None = None) -> float:
    """志愿服务记录证明: the volunteer's confirmed service in ``period`` (default all time); returns its hours."""
    county = require_county(store)
    day = today_or(today)
    span = parse_period(period)
    with store.session() as session:
        person = _find_volunteer(session, county, volunteer)
        records = _service_records(session, person.id, span.start, span.end)
        lifetime = volunteer_hours(session, person.id)
    hours = round(sum(r[5] for r in records), 2)
    headers = ["序号", "服务日期", "活动名称", "组织队伍", "服务地点", "服务类别", "服务时长(小时)", "确认人"]
    rows = [[n, r[0].strftime("%Y-%m-%d"), r[1], r[2], r[3], label_of(ServiceKind, r[4]), r[5], r[6]]
            for n, r in enumerate(records, start=1)]
    widths = column_widths(headers, rows[:300], landscape=False, size=CERTIFICATE_TABLE_SIZE)
    with saving_workbook(path) as workbook:
        sheet = FormSheet(workbook, "志愿服务记录证明", widths, frozen_rows=4, landscape=False,
                          size=CERTIFICATE_TABLE_SIZE)
        sheet.title("志愿服务记录证明", size=22)
        sheet.spacer(12)
        text = _certificate_text(person, rows, hours, lifetime, span.label, unmasked)
        sheet.line(f"　　{text}", font=song(CERTIFICATE_SIZE))
        sheet.header(headers)
        sheet.data_rows(rows)
        sheet.data_row(["合计", f"共{len(rows)}次", None, None, None, None, hours, None], bold=True, spans=((2, 6),))
        sheet.spacer(12)
        sheet.line("本证明依据组织队伍确认的服务记录出具（《志愿服务条例》第十九条）。", font=song(CERTIFICATE_SIZE))
        # A short record still fills the portrait page: the room goes above the sign-off, as on paper.
        sheet.fill_page(landscape=False, then=SEAL_ROW + 10)
        sheet.sign_off(("经办人",), (f"出具单位（盖章）：{issuing_unit(store)}", f"出具日期：{chinese_date(day)}"))
    return hours


def _certificate_text(person: Volunteer, rows: list[list[Any]], hours: float, lifetime: float, label: str,
                      unmasked: bool) -> str:
    number = person.id_number if unmasked else mask_id_number(person.id_number)
    id_type = label_of(IdType, person.id_type)
    if not rows:
        return f"兹证明 {person.name}（{id_type}：{number}）在{label}期间暂无经确认的科技志愿服务记录。"
    span = f"{rows[0][1]}至{rows[-1][1]}"
    return (f"兹证明 {person.name}（{id_type}：{number}）于{span}参加科技志愿服务活动{len(rows)}次，"
            f"经组织队伍确认的服务时长共计{hours:g}小时（历年累计{lifetime:g}小时）。特此证明。")


