"""Named demo actors and children for the status changes tests (and the audit recipes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from baoxue.platform.identity import Actor, MembershipView
from baoxue.platform.permissions import Role, permissions_of

# The smallest file each certificate type may be: its first bytes, and a little more.
PDF = b"%PDF-1.4\n% a test certificate\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def membership_view(session: Any, membership: Any) -> MembershipView:
    """The view `identity` builds of a membership, read in `session` (any scope that sees it)."""
    from baoxue.tenants.tenancy.models import MembershipClass, School, Township

    township = session.scalars(select(Township.name).where(Township.id == membership.township_id)).one()
    school = session.scalar(select(School.name).where(School.id == membership.school_id)) \
        if membership.school_id else ""
    class_ids = tuple(session.scalars(select(MembershipClass.class_id)
                                      .where(MembershipClass.membership_id == membership.id)))
    role = Role(membership.role)
    from baoxue.tenants.tenancy.models import Department

    duty = session.scalar(select(Department.duty_code).where(Department.id == membership.department_id)) \
        if membership.department_id else ""
    return MembershipView(id=membership.id, township_id=membership.township_id, township_name=township, role=role,
                          unit_kind=role.unit_kind, unit_id=membership.unit_id, unit_name=school or "",
                          class_ids=class_ids, duty=duty or "")


def actor_from(user: Any, view: MembershipView) -> Actor:
    return Actor(user_id=user.id, username=user.username, display_name=user.display_name, session_id="",
                 csrf_token="", membership=view, memberships=(view,), permissions=permissions_of(view.role))


def login_actor(settings: Any, username: str, role: Role | None = None) -> Actor:
    """A demo login as the service sees it (its first membership, or the one of `role`)."""
    from baoxue.tenants.tenancy.models import Membership, User

    with cross_township_session("tests: a demo actor", settings) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        memberships = list(s.scalars(select(Membership).where(Membership.user_id == user.id,
                                                              Membership.is_active.is_(True))
                                     .order_by(Membership.id)))
        chosen = next(m for m in memberships if role is None or m.role == role.value)
        return actor_from(user, membership_view(s, chosen))


def school_ids(settings: Any, township_id: int) -> dict[str, int]:
    """{"mid": id, "cps": id, "p1": id, ...}: the demo's middle, central and primary schools, in the
    order the demo plan makes them (tenancy/demo.py)."""
    from baoxue.tenants.tenancy.models import School

    with cross_township_session("tests: school ids", settings) as s:
        rows = s.execute(select(School.kind, School.id).where(School.township_id == township_id)
                         .order_by(School.id)).all()
    found = {"mid": next(i for kind, i in rows if kind == "middle"),
             "cps": next(i for kind, i in rows if kind == "central_primary")}
    found |= {f"p{n}": i for n, i in enumerate((i for kind, i in rows if kind == "primary"), start=1)}
    return found


def class_id(settings: Any, school_id: int, grade: int, n: int = 1) -> int:
    from baoxue.tenants.tenancy.models import SchoolClass

    with cross_township_session("tests: a class", settings) as s:
        return s.scalars(select(SchoolClass.id).where(SchoolClass.school_id == school_id, SchoolClass.grade == grade)
                         .order_by(SchoolClass.id)).all()[n - 1]


def free_child(settings: Any, class_id: int, *, status: str = "01") -> int:
    """A child of the class with no status change at all (the run shares its database)."""
    from baoxue.tenants.status_changes.models import StatusChange
    from baoxue.tenants.students.models import Student

    with cross_township_session("tests: a free child", settings) as s:
        return s.scalars(select(Student.id).where(
            Student.class_id == class_id, Student.status == status, Student.incoming_school_id.is_(None),
            Student.id.not_in(select(StatusChange.student_id))).order_by(Student.id.desc()).limit(1)).one()


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    """The status changes' `do_*` actions for tests/platform/test_audit_actions.py: {action: (recipe, event)}.

    Each recipe takes that test's `World` (a rolled-back, township-wide session of 板当镇).
    """
    from baoxue.tenants.status_changes import service
    from baoxue.tenants.status_changes.events import Event

    def request(w: Any, kind: str = "elsewhere", **values: Any) -> Any:
        mid = school_ids(w.settings, w.township_id)["mid"]
        child = free_child(w.settings, class_id(w.settings, mid, 9, 2))
        return service.do_request_change(w.session, login_actor(w.settings, "bd_mid_academic"), child, kind,
                                         reason="审计。", settings=w.settings, **values)

    def decide(w: Any) -> None:
        change = request(w, destination="外县某中学")  # 借读: the principal decides first
        service.do_decide_step(w.session, login_actor(w.settings, "bd_mid_principal"), change.id, "principal", True)

    def graduate(w: Any) -> None:
        service.do_graduate_grade(w.session, login_actor(w.settings, "bd_mid_principal"),
                                  school_ids(w.settings, w.township_id)["mid"], 9)

    def download(w: Any) -> None:
        change = request(w, "suspension", document=PDF, document_name="诊断证明.pdf")
        service.do_download_document(w.session, change, w.settings)

    return {
        "service.do_request_change": (lambda w: request(w, destination="外县某中学"), Event.REQUESTED),
        "service.do_decide_step": (decide, Event.STEP_APPROVED),
        "service.do_graduate_grade": (graduate, Event.GRADUATED),
        "service.do_download_document": (download, Event.DOCUMENT_DOWNLOADED),
    }
