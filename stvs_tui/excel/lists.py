"""List exports: the volunteer roster (志愿者名册), the activity ledger (活动台账) and the hours publicity list
(服务时长公示名单). Rows stream from SQL into a write-only sheet, so list length does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.enums import ActivityStatus, ServiceKind, Sex, VenueKind
from schema.models import Activity, Membership, Participation, Team, Volunteer, field_label
from schema.rules import HELD_STATUSES, hours_by_volunteer, star_level
from schema.store import Store
from schema.validators import mask_id_number
from stvs_tui.excel.columns import (
    ROSTER_FIELDS,
    SERIAL_NUMBER_HEADER,
    TEAMS_HEADER,
    roster_formatter,
    roster_headers,
)
from stvs_tui.excel.common import (
    Period,
    issuing_unit,
    label_of,
    parse_period,
    require_county,
    signers,
    today_or,
)
from stvs_tui.excel.sheet import (
    LIST_SIZE,
    NOT_APPLICABLE,
    FormSheet,
    chinese_date,
    column_widths,
    sample_rows,
    saving_workbook,
)

Progress = Callable[[int], None]
PROGRESS_EVERY = 5000
# The printed roster holds what a paper roster does; the other fields follow, outside the print area, so the
# file still imports back whole (columns are found by header, in any order).
ROSTER_PRINTED = ("name", "sex", "birth_date", "id_number", "mobile", "work_unit", "title", "expertise",
                  "talent_tags", "stvs_status", "status")
ROSTER_UNPRINTED = tuple(f for f in ROSTER_FIELDS if f not in ROSTER_PRINTED and f != "notes")
_PRINTED_AT = [ROSTER_FIELDS.index(f) for f in ROSTER_PRINTED]
_NOTES_AT = ROSTER_FIELDS.index("notes")
_UNPRINTED_AT = [ROSTER_FIELDS.index(f) for f in ROSTER_UNPRINTED]
SIGN_OFF_ROWS = 2  # a spacer and the sign-off row under the roster (the importer passes over them)
# 序号, the printed fields, 所在队伍 and 备注
ROSTER_PRINTED_COLUMNS = len(ROSTER_PRINTED) + 3


def _team_names() -> sa.Subquery:
    """Each volunteer's current teams, joined by 、 (SQLite's group_concat: the county store is SQLite)."""
    return (
        sa.select(Membership.volunteer_id.label("volunteer_id"),
                  sa.func.group_concat(Team.name, "、").label("teams"))
        .join(Team, Team.id == Membership.team_id)
        .where(Membership.deleted.is_(False), Membership.left_on.is_(None), Team.deleted.is_(False))
        .group_by(Membership.volunteer_id)
        .subquery()
    )


def _roster_query(county: str) -> sa.Select:
    teams = _team_names()
    table = Volunteer.__table__
    return (sa.select(*(table.c[f] for f in ROSTER_FIELDS), teams.c.teams)
            .outerjoin(teams, teams.c.volunteer_id == table.c.id)
            .where(table.c.county_code == county, table.c.deleted.is_(False))
            .order_by(table.c.created_at, table.c.id))


def roster_rows(connection: Connection, county: str, unmasked: bool, lang: str,
                progress: Progress | None = None) -> Iterator[list[Any]]:
    """The roster's data rows, streamed from SQL."""
    to_cells = roster_formatter(lang)
    result = connection.execution_options(yield_per=2000).execute(_roster_query(county))
    id_at = ROSTER_FIELDS.index("id_number")
    printed, notes_at, unprinted = _PRINTED_AT, _NOTES_AT, _UNPRINTED_AT
    for number, record in enumerate(result, start=1):
        id_number = record[id_at] if unmasked else mask_id_number(record[id_at])
        cells = to_cells(record, id_number)
        yield [number, *[cells[i] for i in printed], record[-1], cells[notes_at], *[cells[i] for i in unprinted]]
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number)


def export_roster(store: Store, path: Path, *, unmasked: bool = False, lang: str = "zh",
                  today: date | None = None, progress: Progress | None = None) -> int:
    """The county's volunteers, ID numbers masked unless ``unmasked``; returns the number of volunteers.

    Headers are the schema's labels, so the file imports back with ``stvs-tui import volunteers`` (which
    passes over the sign-off under the table).
    """
    county = require_county(store)
    en = lang == "en"
    labels = dict(zip(ROSTER_FIELDS, roster_headers(lang), strict=True))
    headers = [SERIAL_NUMBER_HEADER[en], *(labels[f] for f in ROSTER_PRINTED), TEAMS_HEADER[en], labels["notes"],
               *(labels[f] for f in ROSTER_UNPRINTED)]
    unit = issuing_unit(store)
    # One read transaction (the store's engine emits a real BEGIN): the count written into the sheet's
    # declared size and the rows streamed after it are the same snapshot, even while the TUI writes.
    with store.engine.connect() as connection, connection.begin(), saving_workbook(path) as workbook:
        total = connection.execute(sa.select(sa.func.count()).select_from(_roster_query(county).subquery())).scalar_one()
        sample, rows = sample_rows(roster_rows(connection, county, unmasked, lang, progress))
        widths = column_widths(headers, sample, size=LIST_SIZE, printed=ROSTER_PRINTED_COLUMNS)
        sheet = FormSheet(workbook, "Volunteers" if en else "志愿者名册", widths, frozen_rows=3, size=LIST_SIZE,
                          printed=ROSTER_PRINTED_COLUMNS)
        sheet.declare_last_row(3 + total + (0 if en else SIGN_OFF_ROWS))
        sheet.title(f"{unit}科技志愿者名册" if not en else "Science & technology volunteers")
        day = chinese_date(today_or(today))
        sheet.split_line(f"{'Unit' if en else '填报单位'}：{unit}", f"{'Date' if en else '导出日期'}：{day}")
        sheet.header(headers)
        count = sheet.data_rows(rows)
        if not en:  # the English roster is for reading, not for filing under a seal
            sheet.sign_off(signers(store), (f"填报单位（盖章）：{unit}", f"填报日期：{day}"))
        sheet.finish()
    return count


ACTIVITY_FIELDS = ("title", "service_kind", "venue_kind", "starts_at", "place", "partner_unit",
                   "person_in_charge", "recorder")


def activity_time(starts: datetime, ends: datetime) -> str:
    """When, in two short lines: 2026-05-03 / 09:00-11:30, or the start and the end if days apart."""
    if starts.date() == ends.date():
        return f"{starts:%Y-%m-%d}\n{starts:%H:%M}-{ends:%H:%M}"
    return f"{starts:%Y-%m-%d %H:%M}至\n{ends:%Y-%m-%d %H:%M}"


def _activity_rows(store: Store, county: str, period: Period) -> Iterator[list[Any]]:
    served = (
        sa.select(Participation.activity_id.label("activity_id"), sa.func.count().label("people"),
                  sa.func.coalesce(sa.func.sum(Participation.hours), 0.0).label("hours"))
        .where(Participation.deleted.is_(False), Participation.attended.is_(True))
        .group_by(Participation.activity_id).subquery()
    )
    query = (sa.select(Activity, Team.name, served.c.people, served.c.hours)
             .join(Team, Team.id == Activity.team_id).outerjoin(served, served.c.activity_id == Activity.id)
             .where(Activity.county_code == county, Activity.deleted.is_(False))
             .order_by(Activity.starts_at, Activity.id))
    if period.start is not None:
        query = query.where(Activity.starts_at >= period.start, Activity.starts_at < period.end)
    with store.session() as session:
        for number, (activity, team, people, hours) in enumerate(session.execute(query), start=1):
            held = activity.status in HELD_STATUSES
            yield [number, activity.title, team, label_of(ServiceKind, activity.service_kind),
                   label_of(VenueKind, activity.venue_kind), activity_time(activity.starts_at, activity.ends_at),
                   activity.place, activity.partner_unit,
                   activity.person_in_charge, activity.recorder,
                   (people or 0) if held else NOT_APPLICABLE, round(hours or 0, 2) if held else NOT_APPLICABLE,
                   activity.beneficiaries if held else NOT_APPLICABLE,
                   label_of(ActivityStatus, activity.status), activity.summary or activity.publicity_url]


def export_activities(store: Store, path: Path, *, period: str | None = None, today: date | None = None) -> int:
    """The activity ledger for a month, a year or all time; "-" for counts of activities not (yet) held."""
    county = require_county(store)
    span = parse_period(period)
    headers = ["序号", *(field_label(Activity, f) for f in ("title", "team_id")),
               *(field_label(Activity, f) for f in ACTIVITY_FIELDS[1:3]), "活动时间",
               *(field_label(Activity, f) for f in ACTIVITY_FIELDS[4:]), "参与人数", "服务时长(小时)",
               field_label(Activity, "beneficiaries"), field_label(Activity, "status"), "宣传报道"]
    rows = list(_activity_rows(store, county, span))
    day = today_or(today)
    with saving_workbook(path) as workbook:
        sheet = FormSheet(workbook, "活动台账", column_widths(headers, rows[:300], size=LIST_SIZE), frozen_rows=3,
                          size=LIST_SIZE)
        sheet.title(f"科技志愿服务活动台账（{span.label}）")
        sheet.split_line(f"填报单位：{issuing_unit(store)}", "")
        sheet.header(headers)
        sheet.data_rows(rows)
        held = [r for r in rows if r[10] != NOT_APPLICABLE]
        sheet.data_row(["合计", f"共{len(rows)}次活动，已开展{len(held)}次", *[None] * 8,
                        sum(r[10] for r in held), round(sum(r[11] for r in held), 2), sum(r[12] for r in held),
                        None, None], bold=True, spans=((2, 10),))
        sheet.sign_off(signers(store), (f"填报单位（盖章）：{issuing_unit(store)}", f"填报日期：{chinese_date(day)}"))
    return len(rows)


def _masked_name(name: str) -> str:
    """A name shown without consent to publicity: 张**, 欧阳*芳 keeps only the first character."""
    return name[:1] + "*" * max(1, len(name) - 1)


def _hours_rows(store: Store, county: str, period: Period) -> list[list[Any]]:
    with store.session() as session:
        in_period = hours_by_volunteer(session, county, period.start, period.end)
        all_time = hours_by_volunteer(session, county) if period.start is not None else in_period
        teams = _team_names()
        people = session.execute(
            sa.select(Volunteer.id, Volunteer.name, Volunteer.sex, Volunteer.id_number, Volunteer.publicity_consent,
                      teams.c.teams)
            .outerjoin(teams, teams.c.volunteer_id == Volunteer.id)
            .where(Volunteer.county_code == county, Volunteer.deleted.is_(False))
        ).all()
    rows = []
    for volunteer_id, name, sex, id_number, consent, team_names in people:
        if volunteer_id not in in_period:
            continue
        times, hours = in_period[volunteer_id]
        total = all_time[volunteer_id][1]
        rows.append([name if consent else _masked_name(name), label_of(Sex, sex),
                     mask_id_number(id_number) if consent else NOT_APPLICABLE, team_names or "", times, hours,
                     total, "★" * star_level(total) or NOT_APPLICABLE])
    rows.sort(key=lambda r: (-r[5], r[0]))
    return [[number, *row] for number, row in enumerate(rows, start=1)]


def export_hours(store: Store, path: Path, *, period: str | None = None, today: date | None = None) -> int:
    """The publicity list of confirmed service hours; names of volunteers who did not consent are masked."""
    county = require_county(store)
    span = parse_period(period)
    headers = ["序号", "姓名", "性别", "证件号码", "所在队伍", "服务次数", "本期服务时长(小时)", "累计服务时长(小时)",
               "星级"]
    rows = _hours_rows(store, county, span)
    day = today_or(today)
    with saving_workbook(path) as workbook:
        sheet = FormSheet(workbook, "时长公示", column_widths(headers, rows[:300], size=LIST_SIZE), frozen_rows=3,
                          size=LIST_SIZE)
        sheet.title(f"科技志愿服务时长公示名单（{span.label}）")
        sheet.split_line(f"公示单位：{issuing_unit(store)}", "")
        sheet.header(headers)
        sheet.data_rows(rows)
        sheet.data_row(["合计", f"共{len(rows)}人", None, None, None, sum(r[5] for r in rows),
                        round(sum(r[6] for r in rows), 2), NOT_APPLICABLE, NOT_APPLICABLE], bold=True, spans=((2, 5),))
        for note in ("注：1. 服务时长为组织队伍确认的时长；累计时长含以往各期。",
                     "2. 未同意公开个人信息的志愿者隐去姓名和证件号码；星级按累计时长计（100/300/600/1000/1500小时），"
                     "仅作展示，不作为正式认证。",
                     "3. 公示期为5个工作日，如有异议，请向公示单位反映。"):
            sheet.line(note)
        sheet.sign_off(("联系人", "联系电话"),
                       (f"公示单位（盖章）：{issuing_unit(store)}", f"公示日期：{chinese_date(day)}"))
    return len(rows)
