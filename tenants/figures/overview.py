"""What the home page says about the actor's part of the township: a handful of counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.access import get_in_township
from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import CHINA, clock, utcnow
from baoxue.platform.concepts import Todo
from baoxue.platform.db import tenant_of
from baoxue.platform.permissions import Permission, Role, permissions_of
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.events import Event as TenancyEvent
from baoxue.tenants.tenancy.models import Department, Membership, MembershipClass, School, SchoolClass, User, Village
from baoxue.tenants.tenancy.policy import current_township
from baoxue.tenants.tenancy.service import visible_schools

ENROLLED_STATUSES = ("01", "05")  # 在读, 复学


def unit_overview(session: Session) -> dict[str, Any]:
    """Counts of what the actor's scope can see: one statement of scalar subqueries, each scoped."""
    scope = tenant_of(session).scope
    students, classes, villages, people = session.execute(select(
        select(func.count(Student.id)).where(Student.status.in_(ENROLLED_STATUSES)).scalar_subquery(),
        select(func.count(SchoolClass.id)).scalar_subquery(),
        select(func.count(Village.id)).scalar_subquery(),
        select(func.count(Membership.id)).scalar_subquery(),
    )).one()
    unit_name = ""
    if scope is not None and not scope.whole_township:
        model = {"school": School, "village": Village, "department": Department}[scope.unit_kind]
        unit = get_in_township(session, model, scope.unit_id)
        unit_name = getattr(unit, "name", "")
    return {
        "township": current_township(session),
        "unit_name": unit_name,
        "students": students,
        "schools": visible_schools(session),
        "classes": classes,
        "villages": villages,
        "people": people,
    }


def todos(session: Session, actor: Any, grants: list[Grant]) -> list[Todo]:
    """What this role must do today, from what the platform knows now (the first screen says it)."""
    role = actor.role
    found: list[Todo] = []
    if role == Role.LEADER and grants:
        found.append(Todo(f"近 {GRANT_REVIEW_DAYS} 天新授予了 {len(grants)} 个可查看学生个人信息的身份，请在下方核对。",
                          "#grants"))
    if role in (Role.SYSTEM_ADMIN, Role.PRINCIPAL, Role.ACADEMIC_OFFICE, Role.OFFICE_STAFF):
        if missing := classes_without_class_teacher(session):
            where = "/admin/people" if actor.can(Permission.PEOPLE_READ) else ""
            found.append(Todo(f"{missing} 个班级还没有班主任：请" + ("在“人员与角色”中指定。" if where else
                                                               "报校长或系统管理员指定。"), where))
    if role in (Role.OFFICE_STAFF, Role.SYSTEM_ADMIN) and not _figures_of_today(session):
        found.append(Todo("统计数据不是今天计算的：请点击下方“重新计算统计”。"))
    if role in (Role.CLASS_TEACHER, Role.SUBJECT_TEACHER, Role.VILLAGE_CADRE, Role.PRINCIPAL):
        students = session.scalar(select(func.count(Student.id)).where(Student.status.in_(ENROLLED_STATUSES))) or 0
        whose = {Role.VILLAGE_CADRE: "本村在校学生", Role.PRINCIPAL: "本校在校学生"}.get(role, "所教班级的学生")
        found.append(Todo(f"核对{whose}名单（{students} 人）：有未到校或信息不符的，及时报告。", "/students"))
    if role == Role.COUNTY_VIEWER:
        found.append(Todo("查看本乡镇的在校生统计。", "#figures"))
    return found + concept_todos(session, actor)


def concept_todos(session: Session, actor: Any) -> list[Any]:
    """What other concepts remind this person of today (`home.py`: `todos(session, actor)`,
    items with `text` and `href`)."""
    from baoxue.platform.concepts import contributions

    return [todo for todos_of in contributions("home", "todos") for todo in todos_of(session, actor)]


def classes_without_class_teacher(session: Session) -> int:
    """Classes in scope that no active class teacher's membership names."""
    taught = (select(MembershipClass.class_id)
              .join(Membership, Membership.id == MembershipClass.membership_id)
              .where(Membership.role == Role.CLASS_TEACHER.value, Membership.is_active.is_(True)))
    return session.scalar(select(func.count(SchoolClass.id)).where(SchoolClass.id.not_in(taught))) or 0


GRANT_REVIEW_DAYS = 30


@dataclass(frozen=True)
class Grant:
    occurred_at: Any
    granted_by: str
    username: str
    role_label: str


def personal_data_grants(session: Session, days: int = GRANT_REVIEW_DAYS) -> list[Grant]:
    """Roles that read children's personal data, granted lately: the leader sees each one."""
    readers = {role.value for role in Role if Permission.STUDENT_READ_PERSONAL in permissions_of(role)}
    since = utcnow() - timedelta(days=days)
    rows = session.execute(
        select(AuditEvent.occurred_at, AuditEvent.changes, User.display_name)
        .join(User, User.id == AuditEvent.user_id, isouter=True)
        .where(AuditEvent.township_id == tenant_of(session).township_id,
               AuditEvent.event == TenancyEvent.MEMBERSHIP_ADDED, AuditEvent.occurred_at >= since)
        .order_by(AuditEvent.occurred_at.desc()).limit(50)).all()
    return [Grant(at, by or "系统", changes.get("username", ""), Role(changes["role"]).label)
            for at, changes, by in rows if changes.get("role") in readers]


def _figures_of_today(session: Session) -> bool:
    from baoxue.tenants.figures.models import FigureSnapshot

    latest = session.scalar(select(func.max(FigureSnapshot.computed_at)))
    return latest is not None and latest.astimezone(CHINA).date() == clock.today()
