"""`send` over the demo: an owner by role reaches exactly the right memberships, a repeat (or a
concurrent duplicate) adds nothing; a notification is its person's alone; the referral ticket's
steps and the daily overdue sweep tell the right people, once."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar.exceptions import NotFoundException
from sqlalchemy import func, select

from baoxue.platform.clock import clock
from baoxue.platform.db import TenantContext, new_session, tenant_session
from baoxue.platform.jobs import township_context
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Scope
from baoxue.tenants.notifications import service
from baoxue.tenants.notifications.models import Notification
from baoxue.tenants.worklist.service import Due, Owner, reconcile
from tests.conftest import BACKEND
from tests.tenants.notifications.helpers import acting, membership_of, memberships, rows, tell
from tests.tenants.referrals.helpers import department, open_case
from tests.tenants.status_changes.helpers import school_ids


def _key(prefix: str = "test") -> str:
    return f"{prefix}:{uuid.uuid4().hex[:12]}"


def test_an_owner_by_role_reaches_exactly_its_memberships_and_a_repeat_adds_nothing(
        demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    mid = school_ids(demo, bd)["mid"]
    office = memberships(demo, bd, role="academic_office", school_id=mid)
    key = _key()
    assert office and tell(demo, bd, key, [Owner(UnitKind.SCHOOL, mid, "academic_office")]) == len(office)
    assert tell(demo, bd, key, [Owner(UnitKind.SCHOOL, mid, "academic_office")]) == 0  # a retry, a redelivery
    told = rows(demo, bd, key)
    assert {n.membership_id for n in told} == office and len(told) == len(office)
    assert {(n.kind, n.text, n.href, n.read_at) for n in told} == {("circular", "测试通知", "/worklist", None)}

    # Anyone in a unit; one person; the township's office; and two owners naming one person once.
    whole = _key()
    assert tell(demo, bd, whole, [Owner(UnitKind.SCHOOL, mid)]) == len(memberships(demo, bd, school_id=mid))
    labour = department(demo, bd, "labour")
    one, office_staff = _key(), _key()
    me = membership_of(demo, "bd_labour")
    assert tell(demo, bd, one, [Owner(UnitKind.DEPARTMENT, labour, membership_id=me),
                                Owner(UnitKind.DEPARTMENT, labour)]) == len(memberships(demo, bd, department_id=labour))
    assert me in {n.membership_id for n in rows(demo, bd, one)}
    assert tell(demo, bd, office_staff, [Owner(UnitKind.TOWNSHIP, None, "office_staff")]) == len(
        memberships(demo, bd, role="office_staff"))
    # A role never held in such a unit, or a unit of nobody: nobody, and no error.
    assert tell(demo, bd, _key(), [Owner(UnitKind.SCHOOL, mid, "village_cadre"), Owner(UnitKind.VILLAGE, None)]) == 0
    # Adding a person to an event already told adds only that person.
    assert tell(demo, bd, key, [Owner(UnitKind.SCHOOL, mid, "academic_office"),
                                Owner(UnitKind.DEPARTMENT, labour, membership_id=me)]) == 1


def test_a_bad_call_is_a_programming_error_and_a_foreign_link_is_dropped(demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    me = membership_of(demo, "bd_office")
    with pytest.raises(ValueError):
        tell(demo, bd, _key(), [Owner(UnitKind.TOWNSHIP, None, membership_id=me)], kind="gossip")
    with pytest.raises(ValueError):
        tell(demo, bd, "k" * 121, [Owner(UnitKind.TOWNSHIP, None, membership_id=me)])
    key = _key()
    tell(demo, bd, key, [Owner(UnitKind.TOWNSHIP, None, membership_id=me)], text="长" * 300, href="//evil.example/x")
    (n,) = rows(demo, bd, key)
    assert len(n.text) == 200 and n.text.endswith("…") and n.href == ""


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite has one writer at a time")
def test_two_transactions_telling_the_same_event_at_once_leave_one_row_each(demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    mid = school_ids(demo, bd)["mid"]
    key, barrier, made, errors = _key(), threading.Barrier(2), [], []
    owners = [Owner(UnitKind.SCHOOL, mid)]

    def work() -> None:
        try:
            with tenant_session(township_context(bd), demo) as session:
                barrier.wait(timeout=10)
                made.append(service.send(session, key=key, to=owners, kind="circular", text="并发", href="/"))
        except Exception as failed:  # noqa: BLE001 - reported below
            errors.append(repr(failed))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = memberships(demo, bd, school_id=mid)
    assert not errors and sum(made) == len(expected)
    assert sorted(n.membership_id for n in rows(demo, bd, key)) == sorted(expected)


def test_a_notification_is_its_persons_alone(demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    mid = school_ids(demo, bd)["mid"]
    key = _key()
    tell(demo, bd, key, [Owner(UnitKind.SCHOOL, mid, "academic_office"), Owner(UnitKind.SCHOOL, mid, "principal")])
    academic = membership_of(demo, "bd_mid_academic")
    theirs = next(n for n in rows(demo, bd, key) if n.membership_id != academic)
    mine = next(n for n in rows(demo, bd, key) if n.membership_id == academic)
    session = new_session(TenantContext(), demo)
    try:
        me = acting(session, demo, "bd_mid_academic")
        assert mine.id in {n.id for n in service.notifications_of(session, me)}
        assert theirs.id not in {n.id for n in service.notifications_of(session, me)}
        with pytest.raises(NotFoundException):
            service.mark_read(session, me, theirs.id)
        assert service.mark_read(session, me, mine.id).read_at is not None
        # The same school's principal, the township's leader: each reads only their own.
        leader = acting(session, demo, "bd_leader")
        assert mine.id not in {n.id for n in service.notifications_of(session, leader)}
        assert session.scalar(select(func.count(Notification.id)).where(Notification.id == mine.id)) == 0
        with pytest.raises(NotFoundException):
            service.mark_read(session, leader, mine.id)
        # A scope that names no person and is not the township's own work sees nothing (fails closed).
        from baoxue.platform.db import set_tenant

        set_tenant(session, TenantContext(scope=Scope(township_id=bd, unit_kind=UnitKind.SCHOOL, unit_id=mid)))
        assert session.scalar(select(func.count(Notification.id))) == 0
    finally:
        session.rollback()
        session.close()
    assert next(n for n in rows(demo, bd, key) if n.id == mine.id).read_at is None


def test_a_ticket_tells_the_department_then_the_referrer(demo: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.referrals import service as referrals

    bd = townships["DEMO-BD"]
    labour = department(demo, bd, "labour")
    session = new_session(TenantContext(), demo)
    try:
        school = acting(session, demo, "bd_mid_academic")
        ticket = referrals.do_open_referral(session, school, kind="child_labour", department_id=labour,
                                            reason="孩子在外打工。", case_id=open_case(demo, bd))
        for username, action, note in (("bd_labour", "accept", ""), ("bd_labour", "resolve", "已督促返乡。")):
            referrals.do_referral_step(session, acting(session, demo, username), ticket.id, action, note)
        acting(session, demo, "bd_office")
        from baoxue.platform.scoping import township_facts

        with township_facts(session):
            told = {(n.key, n.membership_id, n.kind) for n in session.scalars(
                select(Notification).where(Notification.key.like(f"referrals:{ticket.id}:%")))}
            texts = {n.key: n.text for n in session.scalars(
                select(Notification).where(Notification.key.like(f"referrals:{ticket.id}:%")))}
    finally:
        session.rollback()
        session.close()
    staff = memberships(demo, bd, department_id=labour)
    referrer = membership_of(demo, "bd_mid_academic")
    assert told == ({(f"referrals:{ticket.id}:1", m, "ticket") for m in staff}
                    | {(f"referrals:{ticket.id}:3", referrer, "ticket")})  # step 2 (accepted) tells nobody
    assert "请受理" in texts[f"referrals:{ticket.id}:1"] and ticket.subject not in texts[f"referrals:{ticket.id}:1"]
    assert "请确认办理结果" in texts[f"referrals:{ticket.id}:3"]


def _overdue_item(demo: Any, township: int, owner: Owner) -> int:
    """A work item that fell due yesterday (a record of a test's own), committed."""
    from baoxue.tenants.worklist.models import WorkItem

    subject = int(uuid.uuid4().int % 10**8)
    with tenant_session(township_context(township), demo) as session:
        reconcile(session, "test_records", subject, [Due("test:overdue", "测试：核实学生去向", "/worklist", owner,
                                                         clock.today() - timedelta(days=1))])
        return session.scalars(select(WorkItem.id).where(WorkItem.subject_type == "test_records",
                                                         WorkItem.subject_id == subject)).one()


def test_the_overdue_sweep_tells_the_owner_once_across_two_runs(demo: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.notifications.tasks import notify_overdue, overdue_key

    lg = townships["DEMO-LG"]
    mid = school_ids(demo, lg)["mid"]
    item = _overdue_item(demo, lg, Owner(UnitKind.SCHOOL, mid, "academic_office"))
    today = clock.today()
    for day in (today - timedelta(days=1), today):  # two days' runs of the job (each its own key)
        notify_overdue.fn(lg, overdue_key(day))
    told = rows(demo, lg, f"overdue:{item}")
    assert {n.membership_id for n in told} == memberships(demo, lg, role="academic_office", school_id=mid)
    assert len(told) == len({n.membership_id for n in told}) and told[0].kind == "overdue"
    assert "已逾期" in told[0].text and "核实学生去向" in told[0].text


def test_the_sweep_reads_in_a_fixed_number_of_queries(demo: Any, townships: dict[str, int]) -> None:
    from sqlalchemy import event

    lg = townships["DEMO-LG"]
    ids = school_ids(demo, lg)
    for school in ("mid", "cps", "p1"):
        _overdue_item(demo, lg, Owner(UnitKind.SCHOOL, ids[school], "principal"))
    session = new_session(township_context(lg), demo)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2])[:40])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        service.notify_overdue(session)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        session.rollback()
        session.close()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 8, statements  # items, recipients, existing keys, the write check: never one per item


def test_a_child_back_at_school_while_the_case_is_open_tells_the_academic_office_and_the_village(
        demo: Any, townships: dict[str, int]) -> None:
    """The demo's attendance told them as its escalation ended a spell by the child's presence."""
    from baoxue.platform.db import cross_township_session
    from baoxue.tenants.cases.models import Case
    from baoxue.tenants.tenancy.models import Membership

    with cross_township_session("tests: returned notifications", demo) as s:
        told = list(s.scalars(select(Notification).where(Notification.township_id.in_(list(townships.values())),
                                                         Notification.key.like("returned:%"))))
        assert told and {n.kind for n in told} == {"returned_to_school"}
        for n in told:
            case = s.get(Case, int(n.key.split(":")[1]))
            person = s.get(Membership, n.membership_id)
            assert n.href == f"/cases/{case.id}" and case.student_name in n.text
            assert (person.role, person.school_id) == ("academic_office", case.school_id) or (
                person.role == "village_cadre" and person.village_id == case.village_id)
