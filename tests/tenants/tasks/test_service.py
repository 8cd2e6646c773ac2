"""A task's whole life on a held clock: assigned, worked, sent back, overdue, submitted again,
accepted; each step by its own side, its worklist items and notices following it. Bad input
changes nothing and says why; a unit reads only its own copies; recurring templates make one
task per period."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from litestar.exceptions import NotFoundException
from sqlalchemy import func, select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.errors import Conflict, InvalidInput
from baoxue.platform.permissions import UnitKind
from baoxue.tenants.notifications.models import Notification
from baoxue.tenants.tasks import service
from baoxue.tenants.tasks.models import Task, TaskCopy, TaskStep
from baoxue.tenants.tasks.policy import access_copy, access_task
from baoxue.tenants.worklist.models import WorkItem
from baoxue.tenants.worklist.service import items_for, overdue_of_unit
from tests.tenants.referrals.helpers import acting
from tests.tenants.status_changes.helpers import login_actor, school_ids
from tests.tenants.tasks.helpers import PDF, assign, copy_of, member_key, school_key, village_key

MONDAY = datetime.combine(date(2031, 3, 3), time(9), CHINA)


@pytest.fixture(autouse=True)
def monday() -> Any:
    """A Monday in term, held still (the tests move it on as they need)."""
    clock.freeze(MONDAY)
    yield
    clock.unfreeze()


def _step(s: Any, demo: Any, username: str, copy: TaskCopy, action: str, note: str = "", count: Any = None) -> Any:
    return service.do_task_step(s, acting(s, demo, username), copy.id, action, note, count)


def _open_items(s: Any, demo: Any, copy: TaskCopy) -> set[tuple[str, str, str, int | None]]:
    acting(s, demo, "bd_office")
    return {(i.kind, i.owner_unit_kind, i.owner_role, i.owner_membership_id) for i in s.scalars(select(WorkItem).where(
        WorkItem.subject_type == service.SUBJECT, WorkItem.subject_id == copy.id, WorkItem.closed_at.is_(None)))}


def _notices(s: Any, demo: Any, username: str) -> list[tuple[str, str]]:
    me = acting(s, demo, username)
    return [(n.kind, n.text) for n in s.scalars(select(Notification).where(
        Notification.membership_id == me.membership.id).order_by(Notification.id))]


def test_a_task_walks_from_assignment_through_send_back_to_acceptance(s: Any, demo: Any,
                                                                      townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    mid, village = school_key(demo, bd), village_key(demo, "bd_village1")
    office = login_actor(demo, "bd_office")
    task = assign(s, demo, [mid, village], days=4, evidence=("note", "count"), count_label="家访次数",
                  title="三月家访")
    copy = copy_of(s, task, mid)
    assert (copy.state, copy.assignee_name) == ("assigned", "板当中学")
    assert {c.assignee for c in service.copies_of(s, [task.id])[task.id]} == {mid, village}
    # The principal's list has the work, due on the deadline; the office's follow-up waits for it to pass.
    assert _open_items(s, demo, copy) == {("tasks:do", "school", "principal", None),
                                          ("tasks:follow_up", "township", "", office.membership.id)}
    principal = acting(s, demo, "bd_mid_principal")
    (mine,) = [i for i in items_for(s, principal).this_week if i.subject_id == copy.id]
    assert (mine.due_on, mine.title) == (task.deadline, "完成任务：三月家访")
    assert ("task", "新任务：三月家访，截止 03月07日") in _notices(s, demo, "bd_mid_principal")

    _step(s, demo, "bd_mid_principal", copy, "progress", "已走访 8 户。")
    assert (copy.state, copy.progress) == ("in_progress", "已走访 8 户。")
    with pytest.raises(InvalidInput) as refused:  # the count the task asks for is missing
        _step(s, demo, "bd_mid_principal", copy, "submit", "已完成。")
    assert "家访次数" in refused.value.errors["count_value"] and copy.state == "in_progress"
    with pytest.raises(Conflict):  # the assigning side does not submit for the school
        _step(s, demo, "bd_office", copy, "submit", "代交", 1)
    with pytest.raises(Conflict):  # a class teacher works their own tasks, not the school's
        _step(s, demo, "bd_mid_teacher", copy, "submit", "代交", 1)
    _step(s, demo, "bd_mid_principal", copy, "submit", "已完成 20 户家访。", "20")
    assert (copy.state, copy.count_value, copy.note) == ("submitted", 20, "已完成 20 户家访。")
    assert _open_items(s, demo, copy) == {("tasks:review", "township", "", office.membership.id)}
    assert any(k == "task_submitted" for k, _ in _notices(s, demo, "bd_office"))

    with pytest.raises(InvalidInput) as refused:  # sending back needs its reason
        _step(s, demo, "bd_office", copy, "send_back", " ")
    assert "理由" in refused.value.errors["note"] and copy.state == "submitted"
    with pytest.raises(Conflict):  # the school cannot accept its own work
        _step(s, demo, "bd_mid_principal", copy, "accept")
    _step(s, demo, "bd_office", copy, "send_back", "请附上家访登记表。")
    assert (copy.state, copy.sent_back_reason) == ("sent_back", "请附上家访登记表。")
    assert ("task_sent_back", "任务被退回：三月家访。理由：请附上家访登记表。") in _notices(s, demo, "bd_mid_principal")

    # The deadline passes with the task sent back: overdue on the school's list, the office's and the dashboard's.
    clock.freeze(MONDAY + timedelta(days=6))
    principal = acting(s, demo, "bd_mid_principal")
    assert [i.title for i in items_for(s, principal).overdue if i.subject_id == copy.id] == [
        "完成任务：三月家访（已退回，请补充后重新提交）"]
    office = acting(s, demo, "bd_office")
    assert [i.kind for i in items_for(s, office).overdue if i.subject_id == copy.id] == ["tasks:follow_up"]
    assert copy.id in {o.item.subject_id for o in overdue_of_unit(s, UnitKind.SCHOOL, school_ids(demo, bd)["mid"])}
    assert service.Row(task, copy).overdue and copy.id in {r.copy.id for r in service.rows(s, overdue=True)}

    _step(s, demo, "bd_mid_principal", copy, "submit", "已补充家访登记表。", 20)
    assert _open_items(s, demo, copy) == {("tasks:review", "township", "", office.membership.id)}
    _step(s, demo, "bd_office", copy, "accept")
    assert copy.state == "accepted" and copy.accepted_at is not None and _open_items(s, demo, copy) == set()
    with pytest.raises(Conflict):  # an accepted task takes no more steps
        _step(s, demo, "bd_mid_principal", copy, "progress", "再报一次")
    acting(s, demo, "bd_office")
    assert list(s.scalars(select(TaskStep.action).where(TaskStep.copy_id == copy.id).order_by(TaskStep.number))) == [
        "assign", "progress", "submit", "send_back", "submit", "accept"]
    # The village's copy is untouched by all this.
    assert copy_of(s, task, village).state == "assigned"


def test_bad_input_is_refused_by_field_and_changes_nothing(s: Any, demo: Any, townships: dict[str, int]) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    mid = school_key(demo, bd)
    acting(s, demo, "bd_office")
    before = s.scalar(select(func.count(Task.id)))
    with pytest.raises(InvalidInput) as refused:
        assign(s, demo, [mid], days=-1)
    assert "不能早于今天" in refused.value.errors["deadline"]
    with pytest.raises(InvalidInput) as refused:
        assign(s, demo, [], title=" ")
    assert set(refused.value.errors) == {"title", "assignees"}
    with pytest.raises(InvalidInput) as refused:
        assign(s, demo, [mid], evidence=("count",))
    assert "数量的名称" in refused.value.errors["count_label"]
    with pytest.raises(NotFoundException):  # another township's school is not ours to name
        assign(s, demo, [mid, school_key(demo, lg)])
    with pytest.raises(NotFoundException):  # only the leading group and its office assign
        assign(s, demo, [mid], by="bd_mid_principal")
    acting(s, demo, "bd_office")
    assert s.scalar(select(func.count(Task.id))) == before


def test_one_cannot_accept_ones_own_task(s: Any, demo: Any) -> None:
    office = member_key(demo, "bd_office")
    task = assign(s, demo, [office], evidence=("note",))
    copy = copy_of(s, task, office)
    _step(s, demo, "bd_office", copy, "submit", "已完成。")
    with pytest.raises(Conflict) as refused:
        _step(s, demo, "bd_office", copy, "accept")
    assert "自己" in refused.value.detail and copy.state == "submitted"
    _step(s, demo, "bd_leader", copy, "accept")
    assert copy.state == "accepted"


def test_files_are_checked_and_a_task_that_asks_for_them_needs_one(s: Any, demo: Any, townships: dict[str, int]) -> None:
    mid = school_key(demo, townships["DEMO-BD"])
    copy = copy_of(s, assign(s, demo, [mid], evidence=("files",)), mid)
    principal = acting(s, demo, "bd_mid_principal")
    with pytest.raises(InvalidInput) as refused:
        service.do_task_step(s, principal, copy.id, "submit")
    assert "附件" in refused.value.errors["evidence"]
    with pytest.raises(InvalidInput) as refused:  # a PDF by name only
        service.do_add_evidence_file(s, principal, copy.id, b"MZ\x90\x00", "报表.pdf", demo)
    assert "PDF" in refused.value.errors["file"]
    evidence = service.do_add_evidence_file(s, principal, copy.id, PDF, "报表.pdf", demo)
    record = service.do_attach_record(s, principal, copy.id, label="三月专题会议记录", href="/meetings/1")
    service.do_task_step(s, principal, copy.id, "submit")
    assert copy.state == "submitted"
    data, media_type, name = service.do_download_evidence(s, copy.id, evidence.id, demo)
    assert (data, media_type, name) == (PDF, "application/pdf", "报表.pdf")
    assert [e.label for e in service.evidence_of(s, [copy.id])[copy.id]] == ["报表.pdf", record.label]
    assert s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.event == "tasks:evidence:downloaded",
                                                            AuditEvent.entity_id == str(copy.id))) == 1


def test_a_unit_reads_only_its_own_copies(s: Any, demo: Any) -> None:
    first, second = village_key(demo, "bd_village1"), village_key(demo, "bd_village2")
    task = assign(s, demo, [first])
    copy = copy_of(s, task, first)
    acting(s, demo, "bd_village2")
    with pytest.raises(NotFoundException):
        access_copy(s, copy.id)
    with pytest.raises(NotFoundException):  # nor the task, which has no copy of theirs
        access_task(s, task.id)
    assert copy.id not in {r.copy.id for r in service.rows(s)}
    acting(s, demo, "bd_village1")
    assert access_copy(s, copy.id).id == copy.id and second != first


def test_reminders_go_once_a_few_days_before_the_deadline(s: Any, demo: Any, townships: dict[str, int]) -> None:
    mid = school_key(demo, townships["DEMO-BD"])
    copy = copy_of(s, assign(s, demo, [mid], days=10), mid)
    acting(s, demo, "bd_office")
    reminded = lambda: s.scalar(select(func.count(TaskStep.id)).where(  # noqa: E731
        TaskStep.copy_id == copy.id, TaskStep.action == "remind"))
    service.send_reminders(s, clock.today())
    assert reminded() == 0  # ten days to go
    day = clock.today() + timedelta(days=8)
    service.send_reminders(s, day)
    service.send_reminders(s, day + timedelta(days=1))
    assert reminded() == 1
    assert any(k == "task" and "尚未提交" in t for k, t in _notices(s, demo, "bd_mid_principal"))


def _template(s: Any, demo: Any, assignees: list[str], **values: Any) -> Any:
    return service.do_save_template(s, acting(s, demo, "bd_office"), {
        "title": "报送月报", "recurrence": "monthly", "day_of_month": "3", "deadline_days": "5", "evidence": ["note"],
        "assignees": assignees, "active": "1", **values})


def test_a_monthly_template_makes_one_task_per_period(s: Any, demo: Any, townships: dict[str, int]) -> None:
    mid = school_key(demo, townships["DEMO-BD"])
    template = _template(s, demo, [mid])
    acting(s, demo, "bd_office")

    def made() -> list[tuple[str, date]]:
        return list(s.execute(select(Task.period, Task.deadline).where(Task.template_id == template.id)
                              .order_by(Task.id)).all())

    service.create_recurring(s, date(2031, 4, 2))  # March's (begun 3 March, due 8 March) is past; April's not begun
    assert made() == []
    service.create_recurring(s, date(2031, 4, 3))
    assert made() == [("2031-04", date(2031, 4, 8))]
    for day in (date(2031, 4, 3), date(2031, 4, 4), date(2031, 4, 8)):  # repeats, restarts, catching up
        service.create_recurring(s, day)
    assert made() == [("2031-04", date(2031, 4, 8))]
    service.create_recurring(s, date(2031, 5, 6))  # a scheduler down three days catches up
    assert made() == [("2031-04", date(2031, 4, 8)), ("2031-05", date(2031, 5, 8))]
    (copy,) = service.copies_of(s, [s.scalars(select(Task.id).where(Task.period == "2031-05",
                                                                  Task.template_id == template.id)).one()]).values()
    assert [c.assignee for c in copy] == [mid]


def test_an_activity_month_template_recurs_in_march_and_september(s: Any, demo: Any) -> None:
    template = _template(s, demo, [village_key(demo, "bd_village1")], recurrence="activity_months",
                         day_of_month="1", deadline_days="25")
    assert service.period_of(template, date(2031, 11, 20)) == ("2031-09", date(2031, 9, 1))
    assert service.period_of(template, date(2032, 2, 28)) == ("2031-09", date(2031, 9, 1))
    assert service.period_of(template, date(2032, 3, 1)) == ("2032-03", date(2032, 3, 1))
    acting(s, demo, "bd_office")
    mine = select(Task.period).where(Task.template_id == template.id)
    service.create_recurring(s, date(2031, 11, 20))  # September's is long past its deadline
    assert list(s.scalars(mine)) == []
    service.create_recurring(s, date(2032, 3, 2))
    assert list(s.scalars(mine)) == ["2032-03"]
    with pytest.raises(InvalidInput) as refused:
        _template(s, demo, [], day_of_month="31", recurrence="weekly")
    assert set(refused.value.errors) >= {"day_of_month", "recurrence", "assignees"}
