"""The leading group's meeting on a controlled world: its agenda lists the case in 依法控辍, the
overdue ticket (of another case) and the unit with an overdue task; a decision makes its task and
its ticket in one step, linked both ways; the next meeting opens on the open decisions; bad input
names its field and changes nothing. A school's count against the routine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from baoxue.platform.clock import clock
from baoxue.platform.errors import Forbidden, InvalidInput
from baoxue.tenants.meetings import service
from baoxue.tenants.meetings.models import AgendaItem
from baoxue.tenants.referrals.models import Referral
from baoxue.tenants.tasks.models import Task, TaskCopy
from tests.tenants.meetings.helpers import record_values, stuck_world
from tests.tenants.referrals.helpers import acting, department


def _items(s: Any, meeting_id: int) -> list[AgendaItem]:
    return service.items_of(s, [meeting_id])[meeting_id]


def test_the_agenda_is_drawn_from_what_is_stuck(s: Any, demo: Any, townships: dict[str, int]) -> None:
    world = stuck_world(s, demo, townships["DEMO-BD"])
    office = acting(s, demo, "bd_office")
    meeting = service.do_prepare_meeting(s, office, held_on=clock.today(), place="乡镇会议室")
    items = _items(s, meeting.id)
    sources = {(i.source_kind, i.source_id): i for i in items}
    assert ("case", world["case"]) in sources and "依法控辍" in sources["case", world["case"]].text
    ticket = sources["referral", world["ticket"]]
    assert "逾期未受理" in ticket.text and ticket.href == f"/referrals/{world['ticket']}"
    assert "项任务逾期" in sources["village", world["village"]].text
    kinds = [i.source_kind for i in items]
    assert kinds.index("case") < kinds.index("referral") < kinds.index("village")  # the order the meeting takes
    assert [i.number for i in items] == list(range(1, len(items) + 1)) and meeting.agenda.startswith("1. ")


def test_a_decision_makes_its_task_and_ticket_and_the_next_meeting_opens_on_it(
        s: Any, demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    world = stuck_world(s, demo, bd)
    office = acting(s, demo, "bd_office")
    meeting = service.do_prepare_meeting(s, office, held_on=clock.today())  # the latest: after the demo's
    items = {(i.source_kind, i.source_id): i for i in _items(s, meeting.id)}
    case_item, village_item = items["case", world["case"]], items["village", world["village"]]
    decided = service.do_decide_item(
        s, office, meeting.id, case_item.id, decision="司法所协助送达限期复学通知书；村里每周入户一次。",
        task={"title": "每周入户劝返", "deadline": clock.today() + timedelta(days=14),
              "assignees": [f"village:{world['village']}"]},
        ticket={"kind": "guardian_refuses", "department_id": department(demo, bd, "justice"),
                "reason": "请协助送达文书。"})
    assert decided.task_id and decided.referral_id
    task = s.get(Task, decided.task_id)
    assert task.source_href == f"/meetings/{meeting.id}#item-{case_item.id}" and "领导小组会议" in task.source_label
    ticket = s.get(Referral, decided.referral_id)
    assert ticket.case_id == world["case"] and f"/meetings/{meeting.id}" in ticket.reason
    service.do_decide_item(s, office, meeting.id, village_item.id, decision="通报批评，限期整改。")  # no follow-up
    status = service.follow_ups(s, _items(s, meeting.id))
    assert status[case_item.id].open and not status[village_item.id].open
    assert "0/1" in status[case_item.id].task and "待受理" in status[case_item.id].ticket

    following = service.do_prepare_meeting(s, office, held_on=clock.today())
    agenda = _items(s, following.id)
    assert following.previous_id == meeting.id and agenda[0].source_kind == "decision"
    carried = [i for i in agenda if i.source_kind == "decision"]
    assert agenda[:len(carried)] == carried  # the open decisions first
    first = next(i for i in carried if i.source_id == case_item.id)
    assert "尚未办结" in first.text and "司法所协助送达" in first.text
    assert village_item.id not in {i.source_id for i in carried}  # a decision without follow-up is not carried
    # Once the task is accepted and the ticket closed, the decision is done.
    for copy in s.scalars(select(TaskCopy).where(TaskCopy.task_id == task.id)):
        copy.state = "accepted"
    ticket.state = "closed"
    s.flush()
    assert not service.follow_ups(s, [s.get(AgendaItem, case_item.id)])[case_item.id].open
    assert not service.follow_ups(s, [first])[first.id].open  # nor its carried item on the next agenda


def test_bad_decisions_name_the_field_and_change_nothing(s: Any, demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    world = stuck_world(s, demo, bd)
    office = acting(s, demo, "bd_office")
    meeting = service.do_prepare_meeting(s, office, held_on=clock.today())
    item = next(i for i in _items(s, meeting.id) if i.source_kind == "case")
    tasks_before = s.scalar(select(func.count(Task.id)))
    tickets_before = s.scalar(select(func.count(Referral.id)))
    with pytest.raises(InvalidInput) as empty:
        service.do_decide_item(s, office, meeting.id, item.id, decision="  ")
    assert "决定" in empty.value.errors["decision"]
    with pytest.raises(InvalidInput) as past:
        service.do_decide_item(s, office, meeting.id, item.id, decision="限期整改。",
                               task={"title": "整改", "deadline": clock.today() - timedelta(days=1),
                                     "assignees": [f"village:{world['village']}"]})
    assert "不能早于今天" in past.value.errors["task_deadline"]
    with pytest.raises(InvalidInput) as wrong:  # the ticket refused: the task made before it is undone too
        service.do_decide_item(s, office, meeting.id, item.id, decision="限期整改。",
                               task={"title": "整改", "deadline": clock.today() + timedelta(days=3),
                                     "assignees": [f"village:{world['village']}"]},
                               ticket={"kind": "guardian_refuses", "department_id": department(demo, bd, "finance")})
    assert "ticket_department_id" in wrong.value.errors
    s.refresh(item)
    assert (item.decision, item.task_id, item.referral_id) == ("", None, None)
    assert s.scalar(select(func.count(Task.id))) == tasks_before
    assert s.scalar(select(func.count(Referral.id))) == tickets_before
    with pytest.raises(Forbidden):  # a school's principal does not prepare the leading group's meeting
        service.do_prepare_meeting(s, acting(s, demo, "bd_mid_principal"), held_on=clock.today())


def test_a_school_record_counts_against_the_routine_and_bad_records_say_why(s: Any, demo: Any) -> None:
    academic = acting(s, demo, "bd_cps_academic")
    (mine,) = service.routine_for(s, academic)  # a school reads its own
    meeting = service.do_record_meeting(s, academic, values=record_values(
        meeting_kind="school_mid", attendees="校长、教导主任", minutes="期中通报。", place="会议室"))
    (after,) = service.routine_for(s, academic)
    assert len(after.team_held) == len(set(mine.team_held) | {"学校行政会·期中"})
    assert meeting.unit_kind == "school"
    village = acting(s, demo, "bd_village1")
    with pytest.raises(InvalidInput) as refused:
        service.do_record_meeting(s, village, values=record_values(
            meeting_kind="school_start", held_on=clock.today() + timedelta(days=1), minutes=""))
    assert set(refused.value.errors) == {"meeting_kind", "held_on", "minutes"}
    assert "学校" in refused.value.errors["meeting_kind"] and "晚于今天" in refused.value.errors["held_on"]
