"""Realistic demo data for a county store: Chinese names, valid ID numbers and mobiles, teams of every tier
(some meeting the minimum size, some short of it), and a year of activities with participation and hours.

Everything, record ids included, comes from one ``random.Random(seed)``, the county and a reference day, so
the same seed in the same county on the same day gives the same data. Record ids carry the county code, so
two counties' demo data never share an id whatever their seeds (both can sync to one city server).

A store takes demo data once, and only while it holds no teams or volunteers: a second load would
double every team, and demo people mixed into a county's real roster would reach the city.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

import sqlalchemy as sa

from schema.enums import (
    ActivityStatus,
    HostUnitKind,
    MemberRole,
    RegistrationStatus,
    ServiceKind,
    SyncState,
    TalentTag,
    TeamTier,
    VenueKind,
)
from schema.errors import StvsError
from schema.models import CITY_CODE, Activity, Membership, Participation, Setting, Team, Volunteer
from schema.store import Store
from schema.validators import id_check_char
from sync.bulk import insert_rows

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田"
    "任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅海燕文辉鹏飞俊峰晓东小红宏伟春梅新民"
    "振华国庆学军卫东淑珍玉兰永刚德明立新瑞雪佳怡子涵浩然欣怡宇航思远雨萱晨阳"
)
TOWNSHIPS = ("城关镇", "柏庄镇", "水冶镇", "白璧镇", "吕村镇", "瓦店乡", "崔家桥镇", "辛村镇", "韩陵镇", "永和镇",
             "北郭乡", "洪河屯乡", "许家沟乡", "安丰乡", "都里镇", "伦掌镇")
VILLAGE_SUFFIX = ("村", "庄", "屯", "营")
EXPERTISE = ("小麦栽培", "果树修剪", "设施蔬菜", "畜禽养殖", "植保", "慢性病防治", "中医保健", "急救培训", "青少年编程",
             "天文科普", "机器人", "消防安全", "防震减灾", "食品安全", "网络安全", "家庭教育", "电子商务", "农机维修")
SERVICE_TITLES = {
    ServiceKind.TECH_PROMOTION: ("小麦春季田间管理技术培训", "果树冬季修剪现场指导", "设施蔬菜病虫害防治讲座"),
    ServiceKind.YOUTH_GUIDANCE: ("青少年科技创新大赛辅导", "科学实验进课堂", "机器人编程体验课"),
    ServiceKind.HEALTH: ("义诊及健康知识讲座", "慢性病防治宣传", "老年人健康体检"),
    ServiceKind.EMERGENCY: ("应急救护技能培训", "防溺水安全教育", "消防安全演练"),
    ServiceKind.ANTI_RUMOUR: ("科学辟谣进社区", "反邪教反封建迷信宣传", "网络谣言识别讲座"),
}


DEMO_SETTING = "demo_data"  # device-local setting: what demo data this store took, and when
_COUNTY_BITS = 20  # a six-digit region code fits in 20 bits
_RANDOM_MASK = (1 << (74 - _COUNTY_BITS)) - 1
_LOW_62 = (1 << 62) - 1
_TAGS = list(TalentTag)
_TAG_CUM_WEIGHTS = list(accumulate((3, 4, 3, 12, 15, 35, 28)))  # rng.choices(_TAGS, weights=…), drawn as it draws
_SAN_ZHANG = frozenset(tag for tag in TalentTag if tag.is_san_zhang)


_MOBILE_PREFIXES = ("13", "15", "18", "17", "19")
_SCI_UNITS = ("第一高级中学", "疾控中心", "气象局", "林业站")
_ENTHUSIAST_PLACES = ("社区", "村委会", "文化站")
_AVAILABILITY = ("周末", "工作日晚上", "随时", "农闲时节")
_SCI_WORKER = TalentTag.SCI_WORKER.value
_REGISTERED, _UNREGISTERED = RegistrationStatus.REGISTERED.value, RegistrationStatus.UNREGISTERED.value
_LOCAL = SyncState.LOCAL.value
_NINE, _ELEVEN = time(9), time(11)


def _draw_below(rng: random.Random) -> Callable[[int], int]:
    """``rng._randbelow``: what ``choice(seq)``, ``randrange(a, b)`` and ``randint(a, b)`` draw (``seq[below(len(seq))]``,
    ``a + below(b - a)``, ``a + below(b - a + 1)``), here without a method lookup per draw where it is CPython's."""
    if type(rng)._randbelow is not random.Random._randbelow_with_getrandbits:  # type: ignore[attr-defined]
        return rng._randbelow  # type: ignore[attr-defined,no-any-return]
    getrandbits = rng.getrandbits

    def below(n: int) -> int:
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r

    return below


class DemoRefused(StvsError):
    """The store already holds demo data, or data of its own: nothing was added."""


@dataclass
class DemoData:
    teams: list[dict[str, Any]] = field(default_factory=list)
    volunteers: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    participations: list[dict[str, Any]] = field(default_factory=list)
    origin: str = ""  # what made it, for the store's record: "seed 7, 500 volunteers, 2026-11-30"

    def tables(self) -> Iterable[tuple[sa.Table, list[dict[str, Any]]]]:
        yield Team.__table__, self.teams
        yield Volunteer.__table__, self.volunteers
        yield Membership.__table__, self.memberships
        yield Activity.__table__, self.activities
        yield Participation.__table__, self.participations


class DemoGenerator:
    def __init__(self, county_code: str, county_name: str, seed: int, today: date) -> None:
        self.county_code = county_code
        self.county_name = county_name
        self.rng = random.Random(seed)
        # The draws ``choice``, ``randrange`` and ``randint`` make, without their checks: a hundred thousand
        # volunteers take some two million draws. Same generator, same draws, same data for a seed.
        self._below = _draw_below(self.rng)
        self._random = self.rng.random
        self.today = today
        self._clock_ms = int(datetime.combine(today, time()).timestamp() * 1000) - 400 * 86_400_000
        self._id_serials: set[str] = set()
        self._county_bits = int(county_code) << (74 - _COUNTY_BITS)

    def record_id(self) -> str:
        """A UUIDv7-shaped id from the seeded generator (time-ordered, reproducible) whose top 20 random
        bits are the county code: another county's demo data, whatever its seed, never has this id."""
        self._clock_ms += 1
        drawn = self.rng.getrandbits(74)  # drawn whole, so the rest of the data is the same as it always was
        rand = self._county_bits | (drawn & _RANDOM_MASK)
        value = (self._clock_ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & _LOW_62)
        text = f"{value:032x}"  # as str(uuid.UUID(int=value)) writes it
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def base(self, created: datetime) -> dict[str, Any]:
        return {"county_code": self.county_code, "version": 0, "updated_hlc": "", "updated_by": "demo",
                "deleted": False, "sync_state": _LOCAL, "created_at": created}

    def person_name(self) -> str:
        below = self._below
        given = GIVEN_CHARS[below(len(GIVEN_CHARS))] + \
            (GIVEN_CHARS[below(len(GIVEN_CHARS))] if self._random() < 0.7 else "")
        return SURNAMES[below(len(SURNAMES))] + given

    def resident_id(self, born: date, male: bool) -> str:
        prefix = f"{self.county_code if self.county_code != CITY_CODE else '410502'}{born:%Y%m%d}"
        while True:
            serial = self._below(500) * 2 + (1 if male else 0)  # rng.randrange(0, 500)
            body = f"{prefix}{serial:03d}"
            if body not in self._id_serials:
                self._id_serials.add(body)
                return body + id_check_char(body)

    def mobile(self) -> str:
        below = self._below
        return f"{_MOBILE_PREFIXES[below(5)]}{below(10)}{below(10**8):08d}"

    def unit_for(self, tag: TalentTag) -> tuple[str, str]:
        # Every alternative's draws are made, in this order, whichever the tag: so the data always was.
        below = self._below
        town = TOWNSHIPS[below(len(TOWNSHIPS))]
        school = "一二三"[below(3)]
        expert_at_hospital = self._random() < 0.4
        surname, suffix = SURNAMES[below(len(SURNAMES))], VILLAGE_SUFFIX[below(len(VILLAGE_SUFFIX))]
        sci_unit = _SCI_UNITS[below(len(_SCI_UNITS))]
        place = _ENTHUSIAST_PLACES[below(len(_ENTHUSIAST_PLACES))]
        short = self.county_name
        if tag is TalentTag.HOSPITAL_DIRECTOR:
            return f"{town}卫生院", "院长"
        if tag is TalentTag.SCHOOL_PRINCIPAL:
            return f"{town}第{school}初级中学", "校长"
        if tag is TalentTag.AGRI_STATION_HEAD:
            return f"{town}农业技术推广站", "站长"
        if tag is TalentTag.EXPERT:
            return (f"{short}人民医院" if expert_at_hospital else f"{short}农业农村局"), "高级工程师"
        if tag is TalentTag.RURAL_TALENT:
            return f"{town}{surname}家{suffix}种植合作社", "技术员"
        if tag is TalentTag.SCI_WORKER:
            return f"{short}{sci_unit}", "工程师"
        return f"{town}{place}", ""

    def volunteer(self) -> dict[str, Any]:
        rng, below, random_ = self.rng, self._below, self._random
        tag = _TAGS[bisect(_TAG_CUM_WEIGHTS, random_() * _TAG_CUM_WEIGHTS[-1], 0, len(_TAGS) - 1)]
        tags = [tag.value] + ([_SCI_WORKER] if tag in _SAN_ZHANG and random_() < 0.5 else [])
        male = random_() < 0.55
        born = date(1958 + below(45), 1 + below(12), 1 + below(28))
        unit, title = self.unit_for(tag)
        registered = random_() < 0.7
        joined = self.today - timedelta(days=below(901))
        created = datetime.combine(joined, _NINE) + timedelta(minutes=below(481))
        return self.base(created) | {
            "id": self.record_id(), "name": self.person_name(), "id_type": "resident",
            "id_number": self.resident_id(born, male), "sex": "male" if male else "female", "birth_date": born,
            "mobile": self.mobile(), "phone2": "", "work_unit": unit, "title": title,
            "expertise": "、".join(rng.sample(EXPERTISE, 1 + below(2))), "talent_tags": ",".join(tags),
            "availability": _AVAILABILITY[below(4)],
            "publicity_consent": random_() < 0.8,
            "stvs_status": _REGISTERED if registered else _UNREGISTERED,
            "stvs_registered_on": joined + timedelta(days=below(31)) if registered else None,
            "status": "active", "joined_on": joined, "notes": "",
        }

    def team(self, name: str, tier: TeamTier, host_kind: HostUnitKind, host_unit: str,
             parent_id: str | None) -> dict[str, Any]:
        rng = self.rng
        founded = date(2020, 5, 1) + timedelta(days=rng.randint(0, 800))
        registered = rng.random() < 0.75
        kinds = rng.sample([k.value for k in ServiceKind if k is not ServiceKind.OTHER], rng.randint(1, 3))
        return self.base(datetime.combine(founded, time(10))) | {
            "id": self.record_id(), "name": name, "tier": tier.value, "host_kind": host_kind.value,
            "host_unit": host_unit, "parent_id": parent_id, "leader_name": "", "contact_phone": self.mobile(),
            "founded_on": founded, "service_kinds": ",".join(kinds),
            "stvs_status": RegistrationStatus.REGISTERED.value if registered else RegistrationStatus.UNREGISTERED.value,
            "stvs_registered_on": founded + timedelta(days=rng.randint(1, 40)) if registered else None,
            "stvs_org_no": f"{rng.randrange(10**9, 10**10)}" if registered else "",
            "filed_on": founded + timedelta(days=rng.randint(5, 60)) if rng.random() < 0.8 else None,
            "status": "active", "dissolved_on": None, "notes": "",
        }

    def membership(self, team: dict[str, Any], volunteer: dict[str, Any], role: MemberRole) -> dict[str, Any]:
        joined = max(team["founded_on"], volunteer["joined_on"])
        return self.base(datetime.combine(joined, _ELEVEN)) | {
            "id": self.record_id(), "team_id": team["id"], "volunteer_id": volunteer["id"], "role": role.value,
            "joined_on": joined, "left_on": None,
        }

    def roster(self, n_volunteers: int) -> DemoData:
        """Teams of every tier and ``n_volunteers`` volunteers with their memberships."""
        data = DemoData(volunteers=[self.volunteer() for _ in range(n_volunteers)])
        top_tier = TeamTier.CITY if self.county_code == CITY_CODE else TeamTier.COUNTY
        top_name = "安阳市科技志愿服务支队" if top_tier is TeamTier.CITY else f"{self.county_name}科技志愿服务大队"
        top = self.team(top_name, top_tier, HostUnitKind.ASSOCIATION, f"{self.county_name}科学技术协会", None)
        data.teams.append(top)
        pool = list(data.volunteers)
        self.rng.shuffle(pool)
        brigade_size = min(len(pool), max(32, n_volunteers // 6))
        self._fill(data, top, pool[:brigade_size])
        rest = pool[brigade_size:]
        hosts = [(HostUnitKind.TOWNSHIP, t) for t in TOWNSHIPS] + [
            (HostUnitKind.SCHOOL, f"{self.county_name}第一高级中学"), (HostUnitKind.HOSPITAL, f"{self.county_name}人民医院"),
            (HostUnitKind.RURAL_TECH_ASSOC, f"{self.county_name}果蔬种植农技协"),
            (HostUnitKind.ENTERPRISE, f"{self.county_name}现代农业科技有限公司")]
        # Each team takes the next ``size`` of ``rest`` by index (a shorter copy of ``rest`` per team made ~200M
        # element copies for 100k volunteers in ~4,000 teams).
        index = start = 0
        while start < len(rest):
            kind, unit = hosts[index % len(hosts)]
            round_no = index // len(hosts)
            # Most teams meet the minimum of 10; about one in five is still short of it.
            size = self.rng.randint(4, 9) if self.rng.random() < 0.2 else self.rng.randint(10, 40)
            suffix = "" if round_no == 0 else f"第{round_no + 1}分队"
            team = self.team(f"{unit}科技志愿服务队{suffix}", TeamTier.GRASSROOTS, kind, unit, top["id"])
            data.teams.append(team)
            self._fill(data, team, rest[start:start + size])
            start += size
            index += 1
        # One volunteer in twenty also serves in a second team.
        taken = {(m["team_id"], m["volunteer_id"]) for m in data.memberships}
        for volunteer in self.rng.sample(data.volunteers, len(data.volunteers) // 20):
            team = self.rng.choice(data.teams[1:] or data.teams)
            if (team["id"], volunteer["id"]) not in taken:
                taken.add((team["id"], volunteer["id"]))
                data.memberships.append(self.membership(team, volunteer, MemberRole.MEMBER))
        return data

    def _fill(self, data: DemoData, team: dict[str, Any], members: list[dict[str, Any]]) -> None:
        for position, volunteer in enumerate(members):
            role = MemberRole.LEADER if position == 0 else MemberRole.DEPUTY if position == 1 else MemberRole.MEMBER
            data.memberships.append(self.membership(team, volunteer, role))
        if members:
            team["leader_name"] = members[0]["name"]

    def activities(self, data: DemoData, months: int = 12) -> None:
        """About one activity per team per month over the past year; some teams miss some months."""
        members_of: dict[str, list[str]] = {}
        for m in data.memberships:
            members_of.setdefault(m["team_id"], []).append(m["volunteer_id"])
        first = date(self.today.year, self.today.month, 1)
        for team in data.teams:
            lazy = self.rng.random() < 0.25
            for back in range(months - 1, -1, -1):
                month_start = _add_months(first, -back)
                if lazy and self.rng.random() < 0.4 or not lazy and self.rng.random() < 0.08:
                    continue
                self._activity(data, team, members_of.get(team["id"], []), month_start)

    def _activity(self, data: DemoData, team: dict[str, Any], members: list[str], month_start: date) -> None:
        rng = self.rng
        kind = rng.choice(list(SERVICE_TITLES))
        venue = rng.choice([v for v in VenueKind if v is not VenueKind.OTHER])
        day = month_start + timedelta(days=rng.randint(0, 27))
        starts = datetime.combine(day, time(rng.choice((8, 9, 14, 15)), rng.choice((0, 30))))
        duration = rng.choice((2, 2.5, 3, 4))
        ends = starts + timedelta(hours=duration)
        now = datetime.combine(self.today, time(12))
        status = ActivityStatus.FINISHED if ends < now else rng.choice((ActivityStatus.PUBLISHED, ActivityStatus.DRAFT))
        town = rng.choice(TOWNSHIPS)
        place = {VenueKind.COMMUNITY: f"{town}社区党群服务中心", VenueKind.ENTERPRISE: f"{self.county_name}产业园",
                 VenueKind.CAMPUS: f"{town}中心小学", VenueKind.VILLAGE: f"{town}新时代文明实践站"}[venue]
        activity = self.base(starts - timedelta(days=7)) | {
            "id": self.record_id(), "title": rng.choice(SERVICE_TITLES[kind]), "team_id": team["id"],
            "service_kind": kind.value, "venue_kind": venue.value, "partner_unit": place.split("中心")[0],
            "starts_at": starts, "ends_at": ends, "place": place, "content": "",
            "recruit_quota": rng.choice((5, 8, 10, 15, 20)), "status": status.value,
            "person_in_charge": team["leader_name"], "recorder": team["leader_name"],
            "beneficiaries": rng.randint(20, 300) if status is ActivityStatus.FINISHED else 0,
            "summary": f"{team['name']}在{place}开展活动，群众反响良好。" if status is ActivityStatus.FINISHED else "",
            "publicity_url": "",
        }
        data.activities.append(activity)
        if status is ActivityStatus.DRAFT or not members:
            return
        for volunteer_id in rng.sample(members, min(len(members), rng.randint(3, 12))):
            finished = status is ActivityStatus.FINISHED
            attended = finished and rng.random() < 0.92
            data.participations.append(self.base(starts - timedelta(days=3)) | {
                "id": self.record_id(), "activity_id": activity["id"], "volunteer_id": volunteer_id,
                "signed_up_at": starts - timedelta(days=rng.randint(1, 6)),
                "attended": attended if finished else None, "hours": duration if attended else 0.0,
                "hours_confirmed": attended, "confirmed_by": team["leader_name"] if attended else "",
                "evaluation": rng.choice(("优秀", "良好", "")) if attended else "",
            })


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def generate(county_code: str, county_name: str, n_volunteers: int, seed: int, today: date,
             with_activities: bool = True) -> DemoData:
    generator = DemoGenerator(county_code, county_name, seed, today)
    data = generator.roster(n_volunteers)
    data.origin = f"seed {seed}, {n_volunteers} volunteers, {today.isoformat()}"
    if with_activities:
        generator.activities(data)
    return data


def demo_refusal(connection: sa.Connection) -> str | None:
    """Why this store may not take demo data (a one-line reason), or None when it may."""
    loaded = connection.execute(sa.select(Setting.value).where(Setting.key == DEMO_SETTING)).scalar()
    if loaded:
        return (f"本地数据库已有演示数据（{loaded}），未再添加；如需另一份演示数据请用新的 --data-dir "
                f"(the store already has demo data: {loaded}; nothing added, use a new --data-dir for other demo data)")
    teams = connection.execute(sa.select(sa.func.count()).select_from(Team)).scalar_one()
    volunteers = connection.execute(sa.select(sa.func.count()).select_from(Volunteer)).scalar_one()
    if teams or volunteers:
        return (f"本地数据库已有 {teams} 支队伍、{volunteers} 名志愿者，演示数据只能载入空的数据库 "
                f"(the store already holds {teams} teams and {volunteers} volunteers: demo data goes into "
                f"an empty store only; use a new --data-dir)")
    return None


def store_demo(store: Store, data: DemoData) -> dict[str, int]:
    """Insert the demo rows in one transaction (change capture included); return rows per table.

    Raises ``DemoRefused`` (nothing written) when the store already has demo data or data of its own.
    """
    counts: dict[str, int] = {}
    with store.write_transaction() as connection:  # (reads first: the write lock taken as it begins)
        reason = demo_refusal(connection)
        if reason:
            raise DemoRefused(reason)
        # The list indexes (migration 0010: one per sortable column of the volunteer list) are built once
        # after the rows, from sorted data, instead of row by row: seven more B-trees per inserted volunteer.
        deferred = _list_indexes(connection)
        for name, _sql in deferred:
            connection.exec_driver_sql(f"DROP INDEX {name}")
        for table, rows in data.tables():
            insert_rows(connection, table, rows)
            counts[table.name] = len(rows)
        for _name, sql in deferred:
            connection.exec_driver_sql(sql)
        connection.execute(sa.insert(Setting.__table__).values(key=DEMO_SETTING, value=data.origin or "demo"))
    return counts


def _list_indexes(connection: sa.Connection) -> list[tuple[str, str]]:
    """The volunteer list's order indexes with the SQL that makes them (none on a database other than SQLite)."""
    if connection.dialect.name != "sqlite":
        return []
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'volunteer' "
        "AND name LIKE 'ix\\_volunteer\\_list\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY name")
    return [(row[0], row[1]) for row in rows]
