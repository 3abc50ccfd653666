"""The data model shared by county stores and the city server.

Every synced table carries the sync columns of ARCHITECTURE.md (``SyncColumns``). Each field's zh / en
label and its spreadsheet header variants are declared here, once, with ``labeled``; the UI, the Excel
importer and the exports read them through ``field_label`` and ``field_aliases``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import uuid_utils
from pydantic import NaiveDatetime
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from schema.enums import (
    ActivityStatus,
    CommendationLevel,
    DemandStatus,
    HostUnitKind,
    IdType,
    MemberRole,
    RegistrationStatus,
    ReportStatus,
    ServiceKind,
    SyncState,
    TeamStatus,
    TeamTier,
    VenueKind,
    VolunteerStatus,
)

CITY_CODE = "410500"


def new_id() -> str:
    """A UUIDv7 as text: time-ordered, made on the device that creates the record."""
    return str(uuid_utils.uuid7())


def labeled(default: Any = ..., *, zh: str, en: str, aliases: tuple[str, ...] = (), **kwargs: Any) -> Any:
    """A model field that also carries its zh / en label and the header variants used in spreadsheets."""
    return Field(default, title=zh, description=en, schema_extra={"json_schema_extra": {"aliases": list(aliases)}},
                 **kwargs)


def field_label(model: type[SQLModel], name: str, lang: str = "zh") -> str:
    info = model.model_fields[name]
    return (info.description if lang == "en" else info.title) or name


# The tables' own labels, as the admin reads them (the field labels are on each column, via ``labeled``).
TABLE_LABELS: dict[str, tuple[str, str]] = {
    "volunteer": ("志愿者", "volunteer"), "team": ("队伍", "team"), "membership": ("队伍成员", "team member"),
    "activity": ("活动", "activity"), "participation": ("服务记录", "service record"),
    "hours_correction": ("时长更正", "hours correction"), "demand": ("服务需求", "service request"),
    "commendation": ("表彰", "commendation"), "monthly_report": ("月报", "monthly report"),
    "reporting_deadline": ("报送期限", "reporting deadline"),
}


def table_label(table: str, lang: str = "zh") -> str:
    """A synced table's name for people (``volunteer`` → 志愿者); an unknown one as it is."""
    labels = TABLE_LABELS.get(table)
    return labels[lang == "en"] if labels else table


def field_aliases(model: type[SQLModel], name: str) -> list[str]:
    """Every header under which this field may appear in a workbook (labels included)."""
    info = model.model_fields[name]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    names = [info.title or "", info.description or "", name, *extra.get("aliases", [])]
    return [n for n in dict.fromkeys(names) if n]


class SyncColumns(SQLModel):
    """Columns every synced table has (see ARCHITECTURE.md "Records and sync metadata")."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    county_code: str = labeled(zh="所属县区代码", en="County code", max_length=6, index=True)
    version: int = Field(default=0, description="server version of the row; 0 = never synced")
    updated_hlc: str = Field(default="", max_length=64, description="hybrid logical clock of the last write")
    updated_by: str = Field(default="", max_length=64)
    deleted: bool = Field(default=False, description="tombstone")
    sync_state: str = Field(default=SyncState.LOCAL.value, max_length=16)
    created_at: NaiveDatetime = Field(default_factory=datetime.now)


# Tables whose rows travel between county and city, in the order parents come before children.
SYNCED_TABLES: tuple[str, ...] = (
    "team", "volunteer", "membership", "activity", "participation", "hours_correction", "demand", "commendation",
    "monthly_report", "reporting_deadline",
)

# Natural keys: one logical record per key across devices. A second device's new row for a key the server
# already holds is merged into that record (or becomes a conflict for the city) by sync.push, never a second
# row or a unique-key failure.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "monthly_report": ("county_code", "period"),
    "membership": ("team_id", "volunteer_id"),
    "participation": ("activity_id", "volunteer_id"),
}

# Columns that stay on the device and never go over the wire.
LOCAL_ONLY_COLUMNS: frozenset[str] = frozenset({"sync_state"})
# Columns the sync engine owns; a clerk's edit never sets them directly.
SYNC_META_COLUMNS: frozenset[str] = frozenset({"version", "updated_hlc", "updated_by", "sync_state"})


class Region(SQLModel, table=True):
    """A GB/T 2260 region (reference data loaded from a shipped file, not synced)."""

    code: str = labeled(zh="行政区划代码", en="Region code", primary_key=True, max_length=6)
    name: str = labeled(zh="名称", en="Name", max_length=50)
    level: str = labeled(zh="级别", en="Level", max_length=16)
    parent_code: str | None = labeled(None, zh="上级代码", en="Parent code", max_length=6)
    note: str = labeled("", zh="备注", en="Note", max_length=200)


class Team(SyncColumns, table=True):
    __table_args__ = (Index("ix_team_parent", "parent_id"),)

    name: str = labeled(zh="队伍名称", en="Team name", aliases=("名称", "服务队名称"), max_length=100)
    tier: str = labeled(TeamTier.GRASSROOTS.value, zh="层级", en="Tier", max_length=16)
    host_kind: str = labeled(HostUnitKind.OTHER.value, zh="依托单位类型", en="Host unit kind", max_length=32)
    host_unit: str = labeled("", zh="依托单位", en="Host unit", aliases=("组建单位",), max_length=100)
    parent_id: str | None = labeled(None, zh="上级队伍", en="Parent team", foreign_key="team.id", max_length=36)
    leader_name: str = labeled("", zh="负责人", en="Leader", aliases=("队长",), max_length=50)
    contact_phone: str = labeled("", zh="联系电话", en="Contact phone", max_length=32)
    founded_on: date | None = labeled(None, zh="成立日期", en="Founded on")
    service_kinds: str = labeled("", zh="服务类别", en="Service kinds", max_length=200)
    stvs_status: str = labeled(RegistrationStatus.UNREGISTERED.value, zh="平台注册状态", en="STVS registration",
                               max_length=16)
    stvs_registered_on: date | None = labeled(None, zh="平台注册日期", en="STVS registered on")
    stvs_org_no: str = labeled("", zh="平台组织编号", en="STVS organisation no.", aliases=("组织编号",), max_length=40)
    filed_on: date | None = labeled(None, zh="备案日期", en="Filed with city on")
    status: str = labeled(TeamStatus.ACTIVE.value, zh="状态", en="Status", max_length=16)
    dissolved_on: date | None = labeled(None, zh="解散日期", en="Dissolved on")
    notes: str = labeled("", zh="备注", en="Notes", max_length=500)


class Volunteer(SyncColumns, table=True):
    __table_args__ = (
        Index("ix_volunteer_id_number", "id_number"),
        Index("ix_volunteer_name", "name"),
        Index("ix_volunteer_mobile", "mobile"),
    )

    name: str = labeled(zh="姓名", en="Name", aliases=("名字", "志愿者姓名", "full name"), max_length=50)
    id_type: str = labeled(IdType.RESIDENT.value, zh="证件类型", en="ID type", aliases=("证件种类",), max_length=16)
    id_number: str = labeled(zh="证件号码", en="ID number",
                             aliases=("身份证号", "身份证号码", "身份证", "公民身份号码", "公民身份证号码", "证件号",
                                      "id no", "id card"),
                             max_length=30)
    sex: str = labeled("", zh="性别", en="Sex", max_length=8)
    birth_date: date | None = labeled(None, zh="出生日期", en="Birth date", aliases=("出生年月", "出生年月日"))
    mobile: str = labeled(zh="手机号码", en="Mobile", aliases=("手机", "手机号", "联系电话", "联系方式", "电话", "phone"),
                          max_length=20)
    phone2: str = labeled("", zh="其他电话", en="Other phone", aliases=("座机", "固定电话", "landline"), max_length=32)
    work_unit: str = labeled("", zh="工作单位", en="Work unit", aliases=("单位", "所在单位", "employer"), max_length=100)
    title: str = labeled("", zh="职务/职称", en="Title", aliases=("职称", "职务", "job title"), max_length=50)
    expertise: str = labeled("", zh="专业特长", en="Expertise", aliases=("特长", "专业", "专长", "skills"),
                             max_length=200)
    talent_tags: str = labeled("", zh="人才类别", en="Talent tags", aliases=("类别", "人员类别", "志愿者类别"),
                               max_length=200)
    availability: str = labeled("", zh="可服务时间", en="Availability", aliases=("服务时间",), max_length=100)
    publicity_consent: bool = labeled(False, zh="同意公开信息", en="Publicity consent", aliases=("同意公示",))
    stvs_status: str = labeled(RegistrationStatus.UNREGISTERED.value, zh="平台注册状态", en="STVS registration",
                               aliases=("是否注册", "注册状态"), max_length=16)
    stvs_registered_on: date | None = labeled(None, zh="平台注册日期", en="STVS registered on")
    status: str = labeled(VolunteerStatus.ACTIVE.value, zh="状态", en="Status", max_length=16)
    joined_on: date | None = labeled(None, zh="登记日期", en="Registered on", aliases=("加入日期",))
    notes: str = labeled("", zh="备注", en="Notes", aliases=("说明",), max_length=500)


class Membership(SyncColumns, table=True):
    __table_args__ = (Index("ix_membership_team", "team_id"), Index("ix_membership_volunteer", "volunteer_id"))

    team_id: str = labeled(zh="队伍", en="Team", foreign_key="team.id", max_length=36)
    volunteer_id: str = labeled(zh="志愿者", en="Volunteer", foreign_key="volunteer.id", max_length=36)
    role: str = labeled(MemberRole.MEMBER.value, zh="职务", en="Role", max_length=16)
    joined_on: date | None = labeled(None, zh="加入日期", en="Joined on")
    left_on: date | None = labeled(None, zh="退出日期", en="Left on")


class Activity(SyncColumns, table=True):
    __table_args__ = (Index("ix_activity_team", "team_id"), Index("ix_activity_starts", "starts_at"))

    title: str = labeled(zh="活动名称", en="Title", aliases=("活动主题", "名称"), max_length=200)
    team_id: str = labeled(zh="组织队伍", en="Organising team", foreign_key="team.id", max_length=36)
    service_kind: str = labeled(ServiceKind.OTHER.value, zh="服务类别", en="Service kind", max_length=32)
    venue_kind: str = labeled(VenueKind.OTHER.value, zh="服务场所", en="Venue kind", max_length=16)
    partner_unit: str = labeled("", zh="合作单位", en="Partner unit", max_length=100)
    starts_at: NaiveDatetime = labeled(zh="开始时间", en="Starts at")
    ends_at: NaiveDatetime = labeled(zh="结束时间", en="Ends at")
    place: str = labeled("", zh="活动地点", en="Place", max_length=200)
    content: str = labeled("", zh="活动内容", en="Content", max_length=2000)
    recruit_quota: int = labeled(0, zh="招募人数", en="Recruit quota")
    status: str = labeled(ActivityStatus.DRAFT.value, zh="状态", en="Status", max_length=16)
    person_in_charge: str = labeled("", zh="负责人", en="Person in charge", max_length=50)
    recorder: str = labeled("", zh="记录人", en="Recorder", max_length=50)
    beneficiaries: int = labeled(0, zh="受益人数", en="Beneficiaries", aliases=("服务人数", "受益群众"))
    summary: str = labeled("", zh="宣传报道", en="Publicity summary", max_length=4000)
    publicity_url: str = labeled("", zh="宣传链接", en="Publicity link", max_length=500)


class Participation(SyncColumns, table=True):
    __table_args__ = (
        Index("ix_participation_activity", "activity_id"),
        Index("ix_participation_volunteer", "volunteer_id"),
    )

    activity_id: str = labeled(zh="活动", en="Activity", foreign_key="activity.id", max_length=36)
    volunteer_id: str = labeled(zh="志愿者", en="Volunteer", foreign_key="volunteer.id", max_length=36)
    signed_up_at: NaiveDatetime | None = labeled(None, zh="报名时间", en="Signed up at")
    attended: bool | None = labeled(None, zh="是否出勤", en="Attended")
    hours: float = labeled(0.0, zh="服务时长(小时)", en="Service hours", aliases=("时长", "服务时长"))
    hours_confirmed: bool = labeled(False, zh="时长已确认", en="Hours confirmed")
    confirmed_by: str = labeled("", zh="确认人", en="Confirmed by", max_length=50)
    evaluation: str = labeled("", zh="服务评价", en="Evaluation", max_length=500)


class HoursCorrection(SyncColumns, table=True):
    """A correction of confirmed service hours: appended, never an overwrite (志愿服务条例: records are kept)."""

    __tablename__ = "hours_correction"
    __table_args__ = (Index("ix_hours_correction_participation", "participation_id"),)

    participation_id: str = labeled(zh="服务记录", en="Service record", foreign_key="participation.id", max_length=36)
    old_hours: float = labeled(zh="原时长(小时)", en="Hours before")
    new_hours: float = labeled(zh="更正后时长(小时)", en="Hours after")
    reason: str = labeled(zh="更正原因", en="Reason", max_length=500)
    corrected_by: str = labeled("", zh="更正人", en="Corrected by", max_length=50)
    corrected_at: NaiveDatetime = labeled(zh="更正时间", en="Corrected at")


class Demand(SyncColumns, table=True):
    """A grassroots unit's need (供需对接), answered by an activity."""

    requesting_unit: str = labeled(zh="需求单位", en="Requesting unit", max_length=100)
    unit_kind: str = labeled(HostUnitKind.OTHER.value, zh="单位类型", en="Unit kind", max_length=32)
    contact: str = labeled("", zh="联系人及电话", en="Contact", max_length=100)
    need: str = labeled(zh="需求内容", en="Need", max_length=2000)
    wanted_service_kind: str = labeled(ServiceKind.OTHER.value, zh="需求服务类别", en="Wanted service kind",
                                       max_length=32)
    wanted_on: date | None = labeled(None, zh="期望日期", en="Wanted on")
    status: str = labeled(DemandStatus.OPEN.value, zh="状态", en="Status", max_length=16)
    activity_id: str | None = labeled(None, zh="对接活动", en="Matched activity", foreign_key="activity.id",
                                      max_length=36)


class Commendation(SyncColumns, table=True):
    """A commendation (通报表彰) of a volunteer or a team."""

    volunteer_id: str | None = labeled(None, zh="志愿者", en="Volunteer", foreign_key="volunteer.id", max_length=36)
    team_id: str | None = labeled(None, zh="队伍", en="Team", foreign_key="team.id", max_length=36)
    title: str = labeled(zh="表彰名称", en="Title", max_length=200)
    level: str = labeled(CommendationLevel.COUNTY.value, zh="级别", en="Level", max_length=16)
    issuer: str = labeled("", zh="表彰单位", en="Issued by", max_length=100)
    awarded_on: date = labeled(zh="表彰日期", en="Awarded on")
    note: str = labeled("", zh="事迹简介", en="Note", max_length=2000)


class MonthlyReport(SyncColumns, table=True):
    """A county's monthly activity report to the city (每月月末报送)."""

    __tablename__ = "monthly_report"
    __table_args__ = (UniqueConstraint("county_code", "period", name="uq_monthly_report_period"),)

    period: str = labeled(zh="报告月份", en="Period", max_length=7)
    is_nil: bool = labeled(False, zh="本月无活动", en="Nil report")
    activities: int = labeled(0, zh="活动次数", en="Activities")
    by_kind: str = labeled("{}", zh="按服务类别", en="By service kind")
    by_venue: str = labeled("{}", zh="按服务场所", en="By venue")
    person_times: int = labeled(0, zh="参与人次", en="Person-times")
    volunteers: int = labeled(0, zh="参与志愿者人数", en="Distinct volunteers")
    hours: float = labeled(0.0, zh="服务时长(小时)", en="Service hours")
    beneficiaries: int = labeled(0, zh="受益人数", en="Beneficiaries")
    new_volunteers: int = labeled(0, zh="新增志愿者", en="New volunteers")
    new_teams: int = labeled(0, zh="新增队伍", en="New teams")
    highlights: str = labeled("", zh="工作亮点", en="Highlights", max_length=4000)
    status: str = labeled(ReportStatus.DRAFT.value, zh="状态", en="Status", max_length=16)
    submitted_at: NaiveDatetime | None = labeled(None, zh="报送时间", en="Submitted at")
    submitted_by: str = labeled("", zh="填报人", en="Submitted by", max_length=50)


class ReportingDeadline(SyncColumns, table=True):
    """A dated entry of the reporting calendar: deadlines are data, not code (city-wide, county 410500)."""

    __tablename__ = "reporting_deadline"

    name: str = labeled(zh="事项", en="Item", max_length=200)
    kind: str = labeled("", zh="类别", en="Kind", max_length=32)
    period: str = labeled("", zh="所属期间", en="Period", max_length=7)
    due_on: date = labeled(zh="截止日期", en="Due on")
    note: str = labeled("", zh="说明", en="Note", max_length=500)


class Setting(SQLModel, table=True):
    """Device-local settings (county, clerk, server URL, token, language, node id); never synced."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="")


class ChangeLog(SQLModel, table=True):
    """One row per local write to a synced table, written by SQLite triggers in the same transaction."""

    __tablename__ = "change_log"

    seq: int | None = Field(default=None, primary_key=True)
    tbl: str = Field(max_length=32)
    row_id: str = Field(max_length=36)
    op: str = Field(max_length=1, description="I insert, U update, D delete")
    at: str = Field(default="", max_length=32)


class SyncBase(SQLModel, table=True):
    """The last version of a row both sides agreed on: the base of a three-way merge."""

    __tablename__ = "sync_base"

    tbl: str = Field(primary_key=True, max_length=32)
    row_id: str = Field(primary_key=True, max_length=36)
    version: int = 0
    data: str = Field(default="{}", description="JSON of the synced fields at that version")
    stamp: str = Field(default="", max_length=64, description="the server's stamp of that version's write")


class SyncGuard(SQLModel, table=True):
    """One row; while ``active`` is 1 inside a transaction, triggers skip logging (rows written by sync)."""

    __tablename__ = "sync_guard"

    id: int = Field(default=1, primary_key=True)
    active: int = 0


TABLE_MODELS: dict[str, type[SyncColumns]] = {
    "team": Team,
    "volunteer": Volunteer,
    "membership": Membership,
    "activity": Activity,
    "participation": Participation,
    "hours_correction": HoursCorrection,
    "demand": Demand,
    "commendation": Commendation,
    "monthly_report": MonthlyReport,
    "reporting_deadline": ReportingDeadline,
}
