"""Enumerations of the domain, each member carrying its stored code and its zh / en labels.

Codes (the enum values) are what the database and the wire hold; labels are for people.
"""

from __future__ import annotations

from enum import StrEnum


class LabeledEnum(StrEnum):
    """A string enum whose members are declared as ``CODE = ("code", "中文", "English")``."""

    zh: str
    en: str

    def __new__(cls, code: str, zh: str, en: str) -> LabeledEnum:
        member = str.__new__(cls, code)
        member._value_ = code
        member.zh = zh
        member.en = en
        return member

    def __str__(self) -> str:
        return self.value

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    @classmethod
    def codes(cls) -> list[str]:
        return [m.value for m in cls]

    @classmethod
    def from_label(cls, text: str) -> LabeledEnum | None:
        """Find a member by its code or either label (case-insensitive for English)."""
        wanted = text.strip()
        exact = cls._value2member_map_.get(wanted)  # the code itself: the common case (every sync push)
        if exact is not None:
            return exact  # type: ignore[return-value]
        for member in cls:
            if wanted in (member.value, member.zh) or wanted.lower() == member.en.lower():
                return member
        return None


class SyncState(LabeledEnum):
    LOCAL = ("local", "未同步", "local")
    QUEUED = ("queued", "待上传", "queued")
    SYNCED = ("synced", "已同步", "synced")
    CONFLICT = ("conflict", "冲突", "conflict")
    ERROR = ("error", "错误", "error")


class RegionLevel(LabeledEnum):
    CITY = ("city", "市", "city")
    DISTRICT = ("district", "区", "district")
    COUNTY = ("county", "县", "county")
    COUNTY_CITY = ("county_city", "县级市", "county-level city")
    DEV_ZONE = ("dev_zone", "开发区", "development zone")


class TeamTier(LabeledEnum):
    CITY = ("city", "支队", "city detachment")
    COUNTY = ("county", "大队", "county brigade")
    GRASSROOTS = ("grassroots", "队", "grassroots team")

    @property
    def minimum_members(self) -> int:
        """Minimum size set by the 2020 notice: 大队 ≥ 30, grassroots teams ≥ 10."""
        return {"city": 0, "county": 30, "grassroots": 10}[self.value]


class HostUnitKind(LabeledEnum):
    TOWNSHIP = ("township", "乡镇/街道", "township / street")
    COMMUNITY = ("community", "社区", "community")
    SCHOOL = ("school", "学校", "school")
    HOSPITAL = ("hospital", "医院", "hospital")
    ENTERPRISE = ("enterprise", "企业", "enterprise")
    RURAL_TECH_ASSOC = ("rural_tech_assoc", "农技协", "rural technical association")
    SOCIETY = ("society", "学会/协会", "society / association")
    UNIVERSITY = ("university", "高校", "university")
    SCIENCE_BASE = ("science_base", "科普基地", "science popularisation base")
    ASSOCIATION = ("association", "科协", "science & technology association")
    OTHER = ("other", "其他", "other")


class RegistrationStatus(LabeledEnum):
    """Status on the national platform 科技志愿服务信息平台 (stvs.org.cn)."""

    UNREGISTERED = ("unregistered", "未注册", "not registered")
    PENDING = ("pending", "注册中", "pending")
    REGISTERED = ("registered", "已注册", "registered")


class TeamStatus(LabeledEnum):
    ACTIVE = ("active", "正常", "active")
    DISSOLVED = ("dissolved", "已解散", "dissolved")


class IdType(LabeledEnum):
    RESIDENT = ("resident", "居民身份证", "resident ID card")
    PASSPORT = ("passport", "护照", "passport")
    HK_MACAO = ("hk_macao", "港澳居民居住证", "HK/Macao resident permit")
    TAIWAN = ("taiwan", "台湾居民居住证", "Taiwan resident permit")
    OTHER = ("other", "其他证件", "other document")


class Sex(LabeledEnum):
    MALE = ("male", "男", "male")
    FEMALE = ("female", "女", "female")


class TalentTag(LabeledEnum):
    HOSPITAL_DIRECTOR = ("hospital_director", "医院院长", "hospital director")
    SCHOOL_PRINCIPAL = ("school_principal", "学校校长", "school principal")
    AGRI_STATION_HEAD = ("agri_station_head", "农技站站长", "agri-tech station head")
    EXPERT = ("expert", "科技专家", "science & technology expert")
    RURAL_TALENT = ("rural_talent", "乡土科技人才", "rural technology talent")
    SCI_WORKER = ("sci_worker", "科技工作者", "science & technology worker")
    ENTHUSIAST = ("enthusiast", "科普爱好者", "science enthusiast")

    @property
    def is_san_zhang(self) -> bool:
        """The grassroots "三长": hospital directors, school principals, agri-tech station heads."""
        return self in SAN_ZHANG


SAN_ZHANG = frozenset({TalentTag.HOSPITAL_DIRECTOR, TalentTag.SCHOOL_PRINCIPAL, TalentTag.AGRI_STATION_HEAD})


class VolunteerStatus(LabeledEnum):
    ACTIVE = ("active", "在册", "active")
    INACTIVE = ("inactive", "停用", "inactive")


class MemberRole(LabeledEnum):
    LEADER = ("leader", "队长", "leader")
    DEPUTY = ("deputy", "副队长", "deputy leader")
    MEMBER = ("member", "队员", "member")


class ServiceKind(LabeledEnum):
    """Default service kinds named by the notice; the city can extend the list in settings."""

    TECH_PROMOTION = ("tech_promotion", "实用技术推广", "practical technology promotion")
    YOUTH_GUIDANCE = ("youth_guidance", "青少年科技活动指导", "youth science activity guidance")
    HEALTH = ("health", "卫生健康服务", "health services")
    EMERGENCY = ("emergency", "应急安全技能培训", "emergency & safety training")
    ANTI_RUMOUR = ("anti_rumour", "科学辟谣及反伪科学反封建迷信宣传", "debunking rumours and pseudo-science")
    OTHER = ("other", "其他", "other")


class VenueKind(LabeledEnum):
    COMMUNITY = ("community", "进社区", "in communities")
    ENTERPRISE = ("enterprise", "进企业", "in enterprises")
    CAMPUS = ("campus", "进校园", "on campuses")
    VILLAGE = ("village", "进农村", "in villages")
    OTHER = ("other", "其他", "other")


class ActivityStatus(LabeledEnum):
    DRAFT = ("draft", "草稿", "draft")
    PUBLISHED = ("published", "已发布", "published")
    IN_PROGRESS = ("in_progress", "进行中", "in progress")
    FINISHED = ("finished", "已结束", "finished")
    CANCELLED = ("cancelled", "已取消", "cancelled")


# The activity workflow: which status may follow which.
ACTIVITY_TRANSITIONS: dict[ActivityStatus, frozenset[ActivityStatus]] = {
    ActivityStatus.DRAFT: frozenset({ActivityStatus.PUBLISHED, ActivityStatus.CANCELLED}),
    ActivityStatus.PUBLISHED: frozenset({ActivityStatus.IN_PROGRESS, ActivityStatus.CANCELLED}),
    ActivityStatus.IN_PROGRESS: frozenset({ActivityStatus.FINISHED, ActivityStatus.CANCELLED}),
    ActivityStatus.FINISHED: frozenset(),
    ActivityStatus.CANCELLED: frozenset(),
}


class DemandStatus(LabeledEnum):
    OPEN = ("open", "待对接", "open")
    MATCHED = ("matched", "已对接", "matched")
    CLOSED = ("closed", "已关闭", "closed")


class CommendationLevel(LabeledEnum):
    COUNTY = ("county", "县级", "county")
    CITY = ("city", "市级", "city")
    PROVINCE = ("province", "省级", "province")
    NATIONAL = ("national", "国家级", "national")


class ReportStatus(LabeledEnum):
    DRAFT = ("draft", "草稿", "draft")
    SUBMITTED = ("submitted", "已报送", "submitted")
    ACCEPTED = ("accepted", "已接收", "accepted")
    REOPENED = ("reopened", "已退回", "reopened")
