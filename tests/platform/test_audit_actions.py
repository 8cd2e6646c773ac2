"""Every `do_*` action writes its audit row, from its concept's declared events.

The actions are found, not listed: every function named `do_*` in the shell's identity module
and in any module of any concept. An action without a recipe below fails the test, so a new
action cannot land without showing what it audits.
"""

from __future__ import annotations

import importlib
import io
import inspect
import pkgutil
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from baoxue.platform import identity
from baoxue.platform.audit import AuditEvent
from baoxue.platform.concepts import all_concepts, all_events
from baoxue.platform.db import TenantContext, cross_township_session, new_session, set_tenant
from baoxue.platform import jobs
from baoxue.platform.events import Event as PlatformEvent
from baoxue.platform.clock import school_year
from baoxue.platform.scoping import Scope

PASSWORD = "Audit2026x"


def discovered_actions() -> dict[str, Callable[..., Any]]:
    modules = [identity, jobs]
    for concept in all_concepts():
        package = importlib.import_module(concept.package)
        for info in pkgutil.iter_modules(package.__path__):
            modules.append(importlib.import_module(f"{concept.package}.{info.name}"))
    return {f"{fn.__module__.rsplit('.', 1)[-1]}.{name}": fn
            for module in modules for name, fn in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("do_") and fn.__module__ == module.__name__}


class World:
    """A township-wide session acting as bd_admin, and a fresh person of its own for identity actions."""

    def __init__(self, settings: Any, township_id: int) -> None:
        self.settings = settings
        self.township_id = township_id
        self.session = new_session(TenantContext(scope=Scope.township(township_id)), settings)
        self.username = f"audit_{secrets.token_hex(3)}"

    def person(self) -> None:
        from baoxue.tenants.tenancy.service import do_create_person_with_membership

        with _scoped(self.settings, self.township_id) as s:
            do_create_person_with_membership(s, username=self.username, display_name="审计员", password=PASSWORD,
                                             role="leader")

    def actor(self) -> identity.Actor:
        self.person()
        session = new_session(TenantContext(), self.settings)
        secret, _ = identity.do_login(session, self.settings, self.username, PASSWORD, kind="bearer")
        session.commit()
        actor = identity.actor_from_secret(session, self.settings, secret, kind="bearer")
        session.close()
        assert actor is not None
        set_tenant(self.session, actor.context())  # acting as that person, as a request would
        return actor


def _scoped(settings: Any, township_id: int) -> Any:
    from baoxue.platform.db import tenant_session

    return tenant_session(TenantContext(scope=Scope.township(township_id)), settings)


def _first(world: World, model: Any) -> Any:
    return world.session.scalars(select(model).order_by(model.id).limit(1)).one()


def _recipes() -> dict[str, tuple[Callable[[World], Any], str]]:
    """{action: (what to do, the event it must write)}."""
    from datetime import date

    from baoxue.tenants.figures import service as figures
    from baoxue.tenants.figures.events import Event as Figures
    from baoxue.tenants.school_calendar import service as calendar
    from baoxue.tenants.school_calendar.events import Event as Calendar
    from baoxue.tenants.school_calendar.models import CalendarDay, SchoolTerm
    from baoxue.tenants.students import service as students
    from baoxue.tenants.students.events import Event as Students
    from baoxue.tenants.tenancy import service as tenancy
    from baoxue.tenants.tenancy import townships
    from baoxue.tenants.tenancy.events import Event as Tenancy
    from baoxue.tenants.tenancy.models import Department, Membership, School, SchoolClass, User, Village
    from baoxue.tenants.tenancy.service import GRADE_NAMES
    from tests.tenants.status_changes.helpers import audit_recipes as status_change_recipes
    from tests.tenants.rosters.helpers import audit_recipes as roster_recipes
    from tests.tenants.cases.notice_helpers import audit_recipes as notice_recipes
    from tests.tenants.cases.helpers import audit_recipes as case_recipes
    from tests.tenants.attendance.audit_helpers import audit_recipes as attendance_recipes
    from tests.tenants.figures.audit_helpers import audit_recipes as figure_recipes
    from tests.tenants.census.helpers import audit_recipes as census_recipes
    from tests.tenants.referrals.helpers import audit_recipes as referral_recipes
    from tests.tenants.circulars.helpers import audit_recipes as circular_recipes
    from tests.tenants.meetings.helpers import audit_recipes as meeting_recipes
    from tests.tenants.notifications.helpers import audit_recipes as notification_recipes
    from tests.tenants.tasks.helpers import audit_recipes as task_recipes
    from tests.tenants.contracts.helpers import audit_recipes as contract_recipes

    def u() -> str:
        return secrets.token_hex(3)

    def login(w: World) -> None:
        w.person()
        identity.do_login(w.session, w.settings, w.username, PASSWORD, kind="bearer")

    def switch(w: World) -> None:
        actor = w.actor()
        identity.do_switch_membership(w.session, actor, actor.memberships[0].id)

    def rename_class(w: World) -> None:
        klass = _first(w, SchoolClass)
        tenancy.do_update_class(w.session, klass, name=f"{GRADE_NAMES[klass.grade]}（审{u()}）班")

    def new_class(w: World) -> None:
        middle = w.session.scalar(select(School.id).where(School.kind == "middle"))
        tenancy.do_create_class(w.session, school_id=middle, grade=7, name=f"七年级（审{u()}）班",
                                entry_year=school_year())

    def new_department(w: World) -> None:
        # Every duty exists in the demo: free one inside this (rolled back) transaction first.
        taken = w.session.scalars(select(Department).where(Department.duty_code == "youth_league")).one()
        for membership in w.session.scalars(select(Membership).where(Membership.department_id == taken.id)):
            w.session.delete(membership)
        w.session.flush()
        w.session.delete(taken)
        w.session.flush()
        tenancy.do_create_department(w.session, duty_code="youth_league")

    def new_person(w: World) -> User:
        return tenancy.do_create_person(w.session, username=f"audit_{u()}", display_name="甲", password=PASSWORD)

    def import_villages(w: World) -> None:
        from openpyxl import load_workbook

        from baoxue.tenants.tenancy import excel

        book = load_workbook(io.BytesIO(excel.build_template()))
        book["村委会"].append([f"导入村{u()}", None])
        out = io.BytesIO()
        book.save(out)
        excel.do_import_structure(w.session, out.getvalue())

    def office(w: World) -> Any:
        from tests.tenants.status_changes.helpers import login_actor

        found = login_actor(w.settings, "bd_office")
        set_tenant(w.session, found.context())
        return found

    def deactivate(w: World) -> None:
        membership = w.session.scalars(select(Membership).join(User, User.id == Membership.user_id)
                                       .where(User.username == "bd_village2")).one()
        tenancy.do_deactivate_membership(w.session, membership)

    return {
        "identity.do_login": (login, PlatformEvent.LOGIN_SUCCEEDED),
        "identity.do_switch_membership": (switch, PlatformEvent.MEMBERSHIP_SWITCHED),
        "identity.do_logout": (lambda w: identity.do_logout(w.session, w.actor()), PlatformEvent.LOGOUT),
        "identity.do_change_password": (lambda w: identity.do_change_password(w.session, w.actor(), PASSWORD,
                                                                              "Audit2027y"),
                                        PlatformEvent.PASSWORD_CHANGED),
        "service.do_create_village": (lambda w: tenancy.do_create_village(w.session, name=f"审计村{u()}"),
                                      Tenancy.VILLAGE_CREATED),
        "service.do_update_village": (lambda w: tenancy.do_update_village(w.session, _first(w, Village),
                                                                          code=f"A{u()}"), Tenancy.VILLAGE_UPDATED),
        "service.do_create_school": (lambda w: tenancy.do_create_school(w.session, name=f"审计小学{u()}",
                                                                        kind="primary"), Tenancy.SCHOOL_CREATED),
        "service.do_update_school": (lambda w: tenancy.do_update_school(w.session, _first(w, School),
                                                                        code=f"{secrets.randbelow(10**10):010d}"),
                                     Tenancy.SCHOOL_UPDATED),
        "service.do_create_class": (new_class, Tenancy.CLASS_CREATED),
        "service.do_update_class": (rename_class, Tenancy.CLASS_UPDATED),
        "service.do_create_department": (new_department, Tenancy.DEPARTMENT_CREATED),
        "service.do_update_department": (lambda w: tenancy.do_update_department(
            w.session, _first(w, Department), name=f"审计部门{u()}"), Tenancy.DEPARTMENT_UPDATED),
        "service.do_create_person": (new_person, Tenancy.PERSON_CREATED),
        "service.do_add_membership": (lambda w: tenancy.do_add_membership(
            w.session, user=new_person(w), role="village_cadre", village_id=_first(w, Village).id),
            Tenancy.MEMBERSHIP_ADDED),
        "service.do_create_person_with_membership": (lambda w: tenancy.do_create_person_with_membership(
            w.session, username=f"audit_{u()}", display_name="丙", password=PASSWORD, role="leader"),
            Tenancy.MEMBERSHIP_ADDED),
        "service.do_deactivate_membership": (deactivate, Tenancy.MEMBERSHIP_DEACTIVATED),
        "excel.do_import_structure": (import_villages, Tenancy.IMPORT_COMPLETED),
        "townships.do_create_township": (lambda w: townships.do_create_township(
            name="审计镇", code=f"AUD-{u()}", county="某县", admin_username=f"audit_{u()}", admin_name="丁",
            admin_password=PASSWORD, settings=w.settings), Tenancy.TOWNSHIP_CREATED),
        "townships.do_reset_password": (lambda w: (w.person(), townships.do_reset_password(
            w.username, "Audit2028z", settings=w.settings)), PlatformEvent.PASSWORD_RESET),
        "service.do_export_students": (lambda w: students.do_export_students(w.session), Students.EXPORTED),
        "service.do_lookup_student": (lambda w: students.do_lookup_student(w.session, "522727200001010000"),
                                      Students.PERSONAL_SEARCHED),
        "service.do_request_rebuild": (lambda w: figures.do_request_rebuild(w.session), Figures.REBUILD_REQUESTED),
        "service.do_add_term": (lambda w: calendar.do_add_term(w.session, office(w), name="审计学期",
                                                               starts_on=date(2041, 9, 2), ends_on=date(2042, 1, 17)),
                                Calendar.TERM_ADDED),
        "service.do_remove_term": (lambda w: calendar.do_remove_term(w.session, office(w), _first(w, SchoolTerm).id),
                                   Calendar.TERM_REMOVED),
        "service.do_add_day": (lambda w: calendar.do_add_day(w.session, office(w), day=date(2041, 9, 10),
                                                             school_day=False, name="审计停课"), Calendar.DAY_ADDED),
        "service.do_add_days": (lambda w: calendar.do_add_days(w.session, office(w), day="2041-10-01",
                                                               until="2041-10-03", school_day="false", name="审计假期")[-1],
                                Calendar.DAY_ADDED),
        "service.do_remove_day": (lambda w: calendar.do_remove_day(w.session, office(w), _first(w, CalendarDay).id),
                                  Calendar.DAY_REMOVED),
        **status_change_recipes(),
        **roster_recipes(),
        **notice_recipes(),
        **case_recipes(),
        **attendance_recipes(),
        **figure_recipes(),
        **census_recipes(),
        **referral_recipes(),
        **circular_recipes(),
        **meeting_recipes(),
        **notification_recipes(),
        **task_recipes(),
        **contract_recipes(),
        "jobs.do_retry_job": (_retried_job, PlatformEvent.JOB_RETRIED),
    }


def _retried_job(w: World) -> Any:
    run = jobs.JobRun(township_id=w.township_id, key=f"test:audit:{secrets.token_hex(4)}", actor="rebuild_figures",
                      status=jobs.FAILED, attempts=4, error="OperationalError: 审计")
    w.session.add(run)
    w.session.flush()
    return jobs.do_retry_job(w.session, None, run.id)


def test_every_action_has_a_recipe() -> None:
    assert set(discovered_actions()) == set(_recipes())


def _last_id(settings: Any) -> int:
    with cross_township_session("tests: last audit row", settings) as s:
        return s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


@pytest.mark.parametrize("name", sorted(_recipes()))
def test_the_action_audits_itself(name: str, demo: Any, townships: dict[str, int]) -> None:
    action, expected = _recipes()[name]
    since = _last_id(demo)
    world = World(demo, townships["DEMO-BD"])
    try:
        action(world)
        world.session.flush()
        # Rows the action wrote in the caller's transaction (seen here before it is rolled back),
        # and rows of actions that are their own transaction (a login, a township's creation).
        events = set(world.session.scalars(select(AuditEvent.event).where(AuditEvent.id > since)))
    finally:
        world.session.rollback()
        world.session.close()
    with cross_township_session("tests: committed audit rows", demo) as s:
        events |= set(s.scalars(select(AuditEvent.event).where(AuditEvent.id > since)))
    assert str(expected) in events, (name, events)
    assert events <= set(all_events()) | {str(e) for e in PlatformEvent}
