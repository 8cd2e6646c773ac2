"""Meeting test helpers: a controlled world for the agenda, and the audit recipes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from baoxue.platform.clock import clock
from baoxue.platform.permissions import UnitKind
from tests.tenants.referrals.helpers import acting, department

RECORD = {"meeting_kind": "broadcast", "held_on": None, "place": "村广播站", "attendees": "全村群众",
          "minutes": "播报控辍保学政策。"}


def record_values(**given: Any) -> dict[str, Any]:
    return {**RECORD, "held_on": clock.today(), **given}


def stuck_world(s: Any, settings: Any, township_id: int) -> dict[str, int]:
    """In the (rolled-back) session, acting as the office: a case in 依法控辍, an opened ticket past
    its answer day, a village with an overdue task. Returns their ids."""
    from baoxue.tenants.cases.models import Case
    from baoxue.tenants.referrals.models import Referral
    from baoxue.tenants.referrals.service import do_open_referral
    from baoxue.tenants.tenancy.models import Village
    from baoxue.tenants.worklist.service import Due, Owner, reconcile

    office = acting(s, settings, "bd_office")
    case_id = s.scalars(select(Case.id).where(Case.stage == "persuading").order_by(Case.id).limit(1)).one()
    s.execute(update(Case).where(Case.id == case_id, Case.township_id == township_id).values(stage="enforcing"))
    other_case = s.scalars(select(Case.id).where(Case.stage.in_(["reported", "persuading"]), Case.id != case_id)
                           .order_by(Case.id.desc()).limit(1)).one()
    ticket = do_open_referral(s, office, kind="poverty", department_id=department(settings, township_id, "finance"),
                              reason="请落实资助。", case_id=other_case)
    s.execute(update(Referral).where(Referral.id == ticket.id, Referral.township_id == township_id).values(
        respond_by=clock.today() - timedelta(days=2)))
    village = s.scalars(select(Village.id).order_by(Village.id.desc()).limit(1)).one()
    reconcile(s, "tests_meetings", 910000 + village, [Due("tasks:do", "完成任务：测试", "/tasks",
                                                          Owner(UnitKind.VILLAGE, village),
                                                          clock.today() - timedelta(days=4))])
    s.expire_all()
    return {"case": case_id, "ticket": ticket.id, "village": village, "ticket_case": other_case}


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    from baoxue.tenants.meetings import service
    from baoxue.tenants.meetings.events import Event

    def recorded(w: Any) -> Any:
        return service.do_record_meeting(w.session, acting(w.session, w.settings, "bd_village1"),
                                         values=record_values())

    def changed(w: Any) -> Any:
        meeting = recorded(w)
        return service.do_change_meeting(w.session, acting(w.session, w.settings, "bd_village1"), meeting.id,
                                         values=record_values(minutes="更正：播报两次。"))

    def deleted(w: Any) -> Any:
        meeting = recorded(w)
        return service.do_delete_meeting(w.session, acting(w.session, w.settings, "bd_village1"), meeting.id)

    def prepared(w: Any) -> Any:
        return service.do_prepare_meeting(w.session, acting(w.session, w.settings, "bd_office"),
                                          held_on=clock.today())

    def decided(w: Any) -> Any:
        meeting = prepared(w)
        item = service.items_of(w.session, [meeting.id])[meeting.id][0]
        return service.do_decide_item(w.session, acting(w.session, w.settings, "bd_office"), meeting.id, item.id,
                                      decision="按期办结。")

    return {
        "service.do_record_meeting": (recorded, Event.RECORDED),
        "service.do_change_meeting": (changed, Event.CHANGED),
        "service.do_delete_meeting": (deleted, Event.DELETED),
        "service.do_prepare_meeting": (prepared, Event.PREPARED),
        "service.do_decide_item": (decided, Event.DECIDED),
    }
