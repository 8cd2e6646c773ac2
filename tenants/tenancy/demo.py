"""Two demonstration townships, shaped like the seeds: `baoxue demo seed` (and `make demo`).

板当镇 follows seed 001 part 2 (its leading group and departments) and seed 003 (one middle
school, six primary schools); 龙岗乡 is its neighbour, so that every screen can be shown with a
second township that must stay invisible. Everything is drawn from one seeded random generator:
the same database content on every machine, which tests and screenshots rely on. People,
ID numbers and phone numbers are invented.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import school_year, utcnow
from baoxue.platform.demo import RANDOM_SEED, DemoContext
from baoxue.platform.identity import hash_password
from baoxue.platform.permissions import DutyCode, Role, UnitKind
from baoxue.tenants.tenancy.events import Event as TenancyEvent
from baoxue.tenants.tenancy.models import (
    Department,
    Membership,
    MembershipClass,
    School,
    SchoolClass,
    Township,
    User,
    Village,
)

DEMO_PASSWORD = "baoxue2026"


@dataclass(frozen=True)
class SchoolPlan:
    key: str  # part of the staff usernames: bd_mid_principal, bd_cps_teacher
    name: str
    kind: str
    village: int  # index of the village it stands in
    catchment: tuple[int, ...]  # villages its pupils come from, the first one mostly
    classes: tuple[int, ...]  # number of classes in each grade, lowest grade first
    size: tuple[int, int]  # pupils per class, inclusive range

    @property
    def first_grade(self) -> int:
        return 7 if self.kind == "middle" else 1


@dataclass(frozen=True)
class TownshipPlan:
    prefix: str
    code: str
    name: str
    county: str
    region: str  # region code in most pupils' ID numbers (the county's)
    town_code: str  # the township's 3 digits in its villages' 12-digit statistical codes
    villages: tuple[str, ...]
    schools: tuple[SchoolPlan, ...]


def _schools(township: str, villages: tuple[str, ...], middle: tuple[int, ...],
             central: tuple[int, ...]) -> tuple[SchoolPlan, ...]:
    # Village 0 is the township seat; the middle school takes every village, the primaries
    # their own village and a neighbour, so all eight villages are someone's catchment.
    short = [v.removesuffix("村") for v in villages]
    catchments = ((2, 7), (3,), (4, 1), (5, 7), (6,))
    primaries = tuple(
        SchoolPlan(f"p{i}", f"{short[c[0]]}小学", "primary", c[0], c,
                   (2, 2, 1, 1, 1, 1) if i <= 2 else (1,) * 6, (30, 36))
        for i, c in enumerate(catchments, start=1)
    )
    return (
        SchoolPlan("mid", f"{short[0]}中学", "middle", 0, tuple(range(len(villages))), middle, (42, 50)),
        SchoolPlan("cps", f"{township}中心小学", "central_primary", 0, (0, 1), central, (38, 48)),
        *primaries,
    )


_BD_VILLAGES = ("板当村", "联合村", "沙坝村", "新寨村", "平寨村", "河头村", "岩脚村", "光明村")
_LG_VILLAGES = ("龙岗村", "团结村", "石门村", "大寨村", "高坡村", "水井村", "坪上村", "桥头村")

TOWNSHIPS = (
    TownshipPlan("bd", "DEMO-BD", "板当镇", "某县", "522727", "104", _BD_VILLAGES,
                 _schools("板当镇", _BD_VILLAGES, (4, 3, 3), (2,) * 6)),
    TownshipPlan("lg", "DEMO-LG", "龙岗乡", "某县", "522727", "108", _LG_VILLAGES,
                 _schools("龙岗乡", _LG_VILLAGES, (3, 3, 3), (2, 2, 2, 2, 2, 3))),
)

# The logins of one township: (key, role, unit, title). Unit: None for the township itself,
# a DutyCode, ("village", index), ("school", key), or ("classes", school key, ((grade, n), ...)):
# the classes a teacher teaches in that school, class n of each grade.
_LOGINS: tuple[tuple[str, Role, Any, str], ...] = (
    ("leader", Role.LEADER, None, "{head}、领导小组组长"),
    ("office", Role.OFFICE_STAFF, None, "领导小组办公室主任"),
    ("admin", Role.SYSTEM_ADMIN, None, "系统管理员"),
    ("county", Role.COUNTY_VIEWER, None, "县教育局督导员"),
    ("edu", Role.DEPARTMENT_STAFF, DutyCode.EDUCATION_OFFICE, "基教办工作员"),
    ("party", Role.DEPARTMENT_STAFF, DutyCode.PARTY_OFFICE, "党政办主任"),
    ("discipline", Role.DEPARTMENT_STAFF, DutyCode.DISCIPLINE, "纪委书记"),
    ("police", Role.DEPARTMENT_STAFF, DutyCode.POLICE, "派出所所长"),
    ("justice", Role.DEPARTMENT_STAFF, DutyCode.JUSTICE, "司法所所长"),
    ("labour", Role.DEPARTMENT_STAFF, DutyCode.LABOUR, "社保中心主任"),
    ("market", Role.DEPARTMENT_STAFF, DutyCode.MARKET, "市场监管分局局长"),
    ("culture", Role.DEPARTMENT_STAFF, DutyCode.CULTURE, "文化站站长"),
    ("finance", Role.DEPARTMENT_STAFF, DutyCode.FINANCE, "财政分局局长"),
    ("social", Role.DEPARTMENT_STAFF, DutyCode.SOCIAL_AFFAIRS, "社会事务办主任"),
    ("youth", Role.DEPARTMENT_STAFF, DutyCode.YOUTH_LEAGUE, "团委书记"),
    ("women", Role.DEPARTMENT_STAFF, DutyCode.WOMENS_FEDERATION, "妇联主席"),
    ("village1", Role.VILLAGE_CADRE, ("village", 0), "村党支部书记"),
    ("village2", Role.VILLAGE_CADRE, ("village", 1), "村委会主任"),
    ("mid_principal", Role.PRINCIPAL, ("school", "mid"), "校长"),
    ("mid_academic", Role.ACADEMIC_OFFICE, ("school", "mid"), "教导主任"),
    ("mid_teacher", Role.CLASS_TEACHER, ("classes", "mid", ((7, 1),)), "班主任"),
    ("mid_subject", Role.SUBJECT_TEACHER, ("classes", "mid", ((7, 1), (7, 2), (8, 1))), "数学教师"),
    ("cps_principal", Role.PRINCIPAL, ("school", "cps"), "校长"),
    ("cps_academic", Role.ACADEMIC_OFFICE, ("school", "cps"), "教导主任"),
    ("cps_teacher", Role.CLASS_TEACHER, ("classes", "cps", ((3, 1),)), "班主任"),
    ("cps_subject", Role.SUBJECT_TEACHER, ("classes", "cps", ((1, 1), (2, 1))), "语文教师"),
)
# Seed 001: the central-school principal is a deputy leader and heads the office (基教办),
# so this login has two memberships and shows switching between them.
_SECOND_MEMBERSHIP = {"cps_principal": (Role.OFFICE_STAFF, None, "领导小组副组长、基教办主任")}


def _memberships_of(key: str, role: Role, unit: Any, title: str) -> list[tuple[Role, Any, str]]:
    return [(role, unit, title), *([_SECOND_MEMBERSHIP[key]] if key in _SECOND_MEMBERSHIP else [])]


GRADE_NAMES = ("", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级")


def class_name(grade: int, number: int) -> str:
    return f"{GRADE_NAMES[grade]}（{number}）班"


def _unit_text(plan: TownshipPlan, unit: Any) -> tuple[str, str | None]:
    """(unit description, class name) of a login, for DEMO_USERS and LOGINS_TEXT."""
    if unit is None:
        return plan.name, None
    if isinstance(unit, DutyCode):
        return f"{plan.name}{unit.label}", None
    school = {s.key: s.name for s in plan.schools}
    if unit[0] == "village":
        return f"{plan.villages[unit[1]]}村委会", None
    if unit[0] == "school":
        return school[unit[1]], None
    return school[unit[1]], "、".join(class_name(grade, n) for grade, n in unit[2])


def _demo_users() -> list[dict[str, Any]]:
    names = random.Random(RANDOM_SEED + 1)  # its own stream: staff names never shift pupils' data
    users = []
    for plan in TOWNSHIPS:
        taken: set[str] = set()
        for key, role, unit, title in _LOGINS:
            memberships = []
            for m_role, m_unit, m_title in _memberships_of(key, role, unit, title):
                unit_name, class_ = _unit_text(plan, m_unit)
                m_title = m_title.format(head=f"{plan.name[-1]}长")  # 镇长 or 乡长
                memberships.append({"role": m_role.value, "unit": unit_name, "class_name": class_,
                                    "title": f"{class_}{m_title}" if class_ else m_title})
            display_name = adult_name(names, names.random() < 0.7)
            while display_name in taken:
                display_name = adult_name(names, names.random() < 0.7)
            taken.add(display_name)
            users.append({"username": f"{plan.prefix}_{key}", "display_name": display_name,
                          "township_code": plan.code, "township_name": plan.name,
                          "role": role.value, "unit": memberships[0]["unit"],
                          "class_name": memberships[0]["class_name"], "memberships": memberships})
    return users


# --- invented names and numbers ---------------------------------------------------------------

# Common surnames, with those frequent in rural Guizhou (罗, 韦, 龙, 石, 潘, 吴) weighted up.
SURNAMES = ("王王李李张张刘陈陈杨杨杨黄赵吴吴周徐孙马朱胡郭何高林罗罗罗郑梁谢宋唐韩冯邓曹彭曾肖田"
             "董袁潘潘蒋蔡余杜叶程魏吕丁任沈姚卢姜崔钟谭陆汪范金石石廖贾韦韦韦付方白邹孟熊秦邱江龙龙岑莫蒙")
MEN = ("国华 建军 志刚 德明 正友 光荣 永福 仕华 文军 红兵 德富 成林 光明 应祥 开富 兴武 明亮 家林 国强 "
        "朝勇 世平 云峰 学文 长江 海波 金贵 启明 忠华 大伟 勇 斌 军 平").split()
WOMEN = ("秀英 桂芝 玉兰 秀兰 桂英 春梅 红梅 小芳 丽娟 光琴 德芬 金莲 明芬 会英 兰芬 玉梅 秀琴 小红 "
          "丽 艳 敏 萍 英 燕 霞").split()
_PHONE_PREFIXES = [f"13{d}" for d in range(10)] + ["150", "151", "152", "155", "157", "158", "159",
                                                  "180", "182", "183", "187", "188", "189"]
def adult_name(rng: random.Random, male: bool) -> str:
    return rng.choice(SURNAMES) + rng.choice(MEN if male else WOMEN)


def phone(rng: random.Random) -> str:
    return rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# --- the seed ---------------------------------------------------------------------------------

# One dict per login, for tests and the login page: username, display_name, township_code,
# township_name, role / unit / class_name (of the first membership) and memberships (each with
# role, unit, class_name, title) in the order they are created.
DEMO_USERS: list[dict[str, Any]] = _demo_users()


def seed(demo: DemoContext) -> None:
    """The two townships, their structure and their people; leaves them in `demo.state["tenancy"]`."""
    password_hash = hash_password(DEMO_PASSWORD)  # once: argon2 is slow on purpose
    made = demo.state.setdefault("tenancy", {})
    for plan in TOWNSHIPS:
        made[plan.code] = _seed_township(demo.session, plan, demo.rng, password_hash)


@dataclass
class SeededTownship:
    """What the tenancy seed made of one plan, for the concepts seeded after it."""

    plan: TownshipPlan
    township: Township
    villages: list[Village]
    schools: dict[str, School]
    classes: dict[str, list[SchoolClass]]


def _seed_township(session: Session, plan: TownshipPlan, rng: random.Random,
                   password_hash: str) -> SeededTownship:
    township = Township(name=plan.name, county=plan.county, code=plan.code)
    session.add(township)
    session.flush()
    tid = township.id
    villages = [Village(township_id=tid, name=name, code=f"{plan.region}{plan.town_code}{201 + i}")
                for i, name in enumerate(plan.villages)]
    departments = {duty: Department(township_id=tid, duty_code=duty.value, name=duty.label)
                   for duty in DutyCode}
    session.add_all([*villages, *departments.values()])
    session.flush()
    # 学校标识码: ten digits, "2" (basic education), the county's four, the township's three, two more.
    schools = {s.key: School(township_id=tid, name=s.name, kind=s.kind,
                             code=f"2{plan.region[2:6]}{plan.town_code}{i + 1:02d}",
                             village_id=villages[s.village].id) for i, s in enumerate(plan.schools)}
    session.add_all(schools.values())
    session.flush()
    classes: dict[str, list[SchoolClass]] = {}
    for s in plan.schools:
        classes[s.key] = [
            SchoolClass(township_id=tid, school_id=schools[s.key].id, grade=grade, name=class_name(grade, n),
                        entry_year=school_year() - (grade - s.first_grade))
            for grade, count in enumerate(s.classes, start=s.first_grade)
            for n in range(1, count + 1)
        ]
        session.add_all(classes[s.key])
    session.flush()

    def placement(unit: Any) -> tuple[dict[str, Any], list[SchoolClass]]:
        if unit is None:
            return {}, []
        if isinstance(unit, DutyCode):
            return {"department_id": departments[unit].id}, []
        if unit[0] == "village":
            return {"village_id": villages[unit[1]].id}, []
        if unit[0] == "school":
            return {"school_id": schools[unit[1]].id}, []
        taught = [next(c for c in classes[unit[1]] if c.name == class_name(grade, n)) for grade, n in unit[2]]
        return {"school_id": schools[unit[1]].id}, taught

    infos = {u["username"]: u for u in DEMO_USERS}
    users = {}
    for key, *_ in _LOGINS:
        username = f"{plan.prefix}_{key}"
        users[key] = User(username=username, display_name=infos[username]["display_name"], phone=phone(rng),
                          password_hash=password_hash)
    session.add_all(users.values())
    session.flush()
    for key, role, unit, title in _LOGINS:
        memberships = infos[users[key].username]["memberships"]
        for (m_role, m_unit, _), m in zip(_memberships_of(key, role, unit, title), memberships, strict=True):
            columns, taught = placement(m_unit)
            membership = Membership(township_id=tid, user_id=users[key].id, role=m_role.value, title=m["title"],
                                    **columns)
            session.add(membership)
            session.flush()
            session.add_all(MembershipClass(township_id=tid, membership_id=membership.id, class_id=c.id)
                            for c in taught)
            _granted_by_the_admin(session, tid, users["admin"], users[key], membership, [c.id for c in taught], rng)
    session.flush()
    _assign_liaisons(session, villages)
    return SeededTownship(plan, township, villages, schools, classes)


def _assign_liaisons(session: Session, villages: list[Village]) -> None:
    """包村: the township's office cadres take the villages between them, in turn."""
    township_id = villages[0].township_id
    office = list(session.scalars(select(Membership.id).where(
        Membership.township_id == township_id, Membership.role == Role.OFFICE_STAFF.value).order_by(Membership.id)))
    for index, village in enumerate(villages):
        village.liaison_membership_id = office[index % len(office)]
    session.flush()


def _granted_by_the_admin(session: Session, township_id: int, admin: User, user: User, membership: Membership,
                          class_ids: list[int], rng: random.Random) -> None:
    """The trail of the township's set-up: its administrator granted each role in the last weeks."""
    if user is admin:
        return
    row = audit.record(session, TenancyEvent.MEMBERSHIP_ADDED, entity=membership, township_id=township_id,
                       user_id=admin.id,
                       changes={"user_id": user.id, "username": user.username, "role": membership.role,
                                "title": membership.title, "class_ids": class_ids})
    row.role = Role.SYSTEM_ADMIN.value
    row.occurred_at = utcnow() - timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 600))


def logins_text() -> str:
    main = ("leader", "office", "admin", "county", "police", "justice", "village1", "mid_principal",
            "mid_academic", "mid_teacher", "mid_subject", "cps_principal", "cps_teacher")
    bd = TOWNSHIPS[0]
    by_name = {u["username"]: u for u in DEMO_USERS}
    lines = [
        f"演示账号 Demo logins — 密码 password: {DEMO_PASSWORD}",
        f"{bd.name}（{bd.code}）:",
    ]
    for key in main:
        u = by_name[f"{bd.prefix}_{key}"]
        roles = "、".join(f"{m['unit']}{m['class_name'] or ''} {Role(m['role']).label}"
                         for m in u["memberships"])
        lines.append(f"  {u['username']:<18} {u['display_name']}  {roles}")
    departments = ", ".join(f"{bd.prefix}_{key}" for key, role, *_ in _LOGINS
                            if role == Role.DEPARTMENT_STAFF and key not in main)
    others = ", ".join(f"{bd.prefix}_{key}" for key in ("village2", "cps_academic", "cps_subject"))
    lg = TOWNSHIPS[1]
    lines += [
        f"  其他部门 other departments: {departments}",
        f"  另有 also: {others}",
        f"{lg.name}（{lg.code}）: 同样的账号，前缀 {lg.prefix}_ (same logins, prefix {lg.prefix}_)",
        f"{bd.prefix}_cps_principal 有两个身份，可在页面上切换 (two memberships: switch between them).",
    ]
    return "\n".join(lines)


LOGINS_TEXT = logins_text()


def demo_actors(session: Any, seeded: SeededTownship, logins: Mapping[str, Role]) -> dict[str, Any]:
    """The township's demo logins (`{"mid_teacher": Role.CLASS_TEACHER, ...}`, without the prefix)
    as the services see them: each with its membership of that role, its classes and permissions.
    Later concepts' demos act as these people (`platform.demo.acting`)."""
    from baoxue.platform.identity import Actor, MembershipView
    from baoxue.platform.permissions import permissions_of

    plan = seeded.plan
    names = {("school", s.id): s.name for s in seeded.schools.values()}
    names |= {("village", v.id): v.name for v in seeded.villages}
    township_id = seeded.township.id
    duties = {}
    for department in session.scalars(select(Department).where(Department.township_id == township_id)):
        names["department", department.id] = department.name
        duties[department.id] = department.duty_code
    rows = session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id)
        .where(User.username.in_([f"{plan.prefix}_{key}" for key in logins]), Membership.township_id == township_id)
        .order_by(Membership.id)).all()
    taught: dict[int, list[int]] = {}
    for membership_id, class_id in session.execute(
            select(MembershipClass.membership_id, MembershipClass.class_id)
            .where(MembershipClass.township_id == township_id)):
        taught.setdefault(membership_id, []).append(class_id)
    actors: dict[str, Any] = {}
    for user, m in rows:
        key = user.username.removeprefix(f"{plan.prefix}_")
        role = Role(m.role)
        if key in actors or role != logins[key]:
            continue
        kind = role.unit_kind
        view = MembershipView(id=m.id, township_id=township_id, township_name=plan.name, role=role,
                              unit_kind=kind, unit_id=m.unit_id, unit_name=names.get((kind.value, m.unit_id or 0), ""),
                              class_ids=tuple(taught.get(m.id, ())),
                              duty=duties.get(m.unit_id or 0, "") if kind == UnitKind.DEPARTMENT else "")
        actors[key] = Actor(user_id=user.id, username=user.username, display_name=user.display_name, session_id="",
                            csrf_token="", membership=view, memberships=(view,), permissions=permissions_of(role))
    return actors
