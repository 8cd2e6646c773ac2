"""A ticket's whole life on the demo, each step by its own side; the department's view of the
child is exactly what its duty needs while the ticket is open, and nothing after; bad input
changes nothing and says why."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import NotFoundException
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.errors import Conflict, InvalidInput
from baoxue.tenants.cases.models import CaseEntry
from baoxue.tenants.cases.policy import access_case
from baoxue.tenants.referrals import service
from baoxue.tenants.referrals.models import Referral, ReferralStep
from baoxue.tenants.referrals.policy import access_referral
from baoxue.tenants.students.models import Student
from baoxue.tenants.worklist.models import WorkItem
from tests.tenants.referrals.helpers import acting, department, open_case


def _open(s: Any, demo: Any, township: int, *, kind: str = "child_labour", duty: str = "labour",
          family: bool = False) -> Referral:
    school = acting(s, demo, "bd_mid_academic")
    return service.do_open_referral(s, school, kind=kind, department_id=department(demo, township, duty),
                                    reason="孩子在外打工，请协助核查用工单位。", case_id=open_case(demo, township),
                                    grant_family=family)


def _step(s: Any, demo: Any, username: str, ticket: Referral, action: str, note: str = "") -> Referral:
    return service.do_referral_step(s, acting(s, demo, username), ticket.id, action, note)


def _open_items(s: Any, demo: Any, ticket: Referral) -> list[tuple[str, str, int | None]]:
    acting(s, demo, "bd_office")
    return [(i.kind, i.owner_unit_kind, i.owner_unit_id) for i in s.scalars(select(WorkItem).where(
        WorkItem.subject_type == "referrals", WorkItem.subject_id == ticket.id, WorkItem.closed_at.is_(None)))]


def test_a_ticket_walks_through_every_state(s: Any, demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    ticket = _open(s, demo, bd)
    labour = department(demo, bd, "labour")
    assert (ticket.state, ticket.number > 0) == ("opened", True)
    assert _open_items(s, demo, ticket) == [("referrals:respond", "department", labour)]
    with pytest.raises(Conflict):  # the referrer cannot accept its own ticket
        _step(s, demo, "bd_mid_academic", ticket, "accept")
    _step(s, demo, "bd_labour", ticket, "accept", "已受理。")
    _step(s, demo, "bd_labour", ticket, "start")
    assert _open_items(s, demo, ticket) == [("referrals:resolve", "department", labour)]
    with pytest.raises(InvalidInput) as refused:  # resolving needs the outcome
        _step(s, demo, "bd_labour", ticket, "resolve", "  ")
    assert "办理结果" in refused.value.errors["note"]
    _step(s, demo, "bd_labour", ticket, "resolve", "已责令用工单位辞退，孩子已回家。")
    with pytest.raises(Conflict):  # the department cannot close: the referrer confirms
        _step(s, demo, "bd_labour", ticket, "close")
    with pytest.raises(InvalidInput):
        _step(s, demo, "bd_mid_academic", ticket, "reopen")
    _step(s, demo, "bd_mid_academic", ticket, "reopen", "孩子又被带走了。")
    assert (ticket.state, ticket.resolved_at) == ("in_progress", None)
    _step(s, demo, "bd_labour", ticket, "resolve", "已联系家长并签订承诺书，孩子返校。")
    assert [i[0] for i in _open_items(s, demo, ticket)] == ["referrals:confirm"]
    _step(s, demo, "bd_mid_academic", ticket, "close", "确认。")
    assert ticket.state == "closed" and ticket.outcome.startswith("已联系家长") and _open_items(s, demo, ticket) == []
    with pytest.raises(Conflict):  # a closed ticket takes no more steps
        _step(s, demo, "bd_labour", ticket, "resolve", "再办一次")
    acting(s, demo, "bd_office")
    steps = [r.action for r in s.scalars(select(ReferralStep).where(ReferralStep.referral_id == ticket.id)
                                         .order_by(ReferralStep.number))]
    assert steps == ["open", "accept", "start", "resolve", "reopen", "resolve", "close"]
    timeline = [e.summary for e in s.scalars(select(CaseEntry).where(CaseEntry.case_id == ticket.case_id,
                                                                    CaseEntry.kind == "referral"))]
    assert len(timeline) >= 7 and any("已联系家长" in line for line in timeline)  # the school sees the outcome


def test_a_department_returns_and_a_referrer_withdraws_only_an_unanswered_ticket(s: Any, demo: Any,
                                                                                 townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    returned = _open(s, demo, bd, kind="harm", duty="police")
    with pytest.raises(InvalidInput):
        _step(s, demo, "bd_police", returned, "return")  # a return says why
    _step(s, demo, "bd_police", returned, "return", "不属于本所职责，请转社会事务办。")
    assert returned.state == "returned"
    withdrawn = _open(s, demo, bd)
    _step(s, demo, "bd_mid_academic", withdrawn, "withdraw")
    assert withdrawn.state == "withdrawn"
    accepted = _open(s, demo, bd)
    _step(s, demo, "bd_labour", accepted, "accept")
    with pytest.raises(Conflict):
        _step(s, demo, "bd_mid_academic", accepted, "withdraw")  # accepted: too late to withdraw


def test_the_department_sees_what_its_duty_needs_while_open_and_nothing_after(s: Any, demo: Any,
                                                                             townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    ticket = _open(s, demo, bd, kind="poverty", duty="finance", family=True)
    acting(s, demo, "bd_office")
    s.get(Student, ticket.student_id).family_circumstances = "父亲长期患病，母亲外出务工。"
    s.flush()
    finance = acting(s, demo, "bd_finance")
    with pytest.raises(NotFoundException):
        access_case(s, ticket.case_id)  # the case itself stays the school's and the village's
    facts = service.need_to_know(s, finance, access_referral(s, ticket.id))
    assert facts is not None and set(vars(facts)) == {"name", "age", "village", "id_number", "family"}
    assert "*" in facts.id_number and 5 <= (facts.age or 0) <= 17 and facts.name
    viewed = s.scalars(select(AuditEvent).where(AuditEvent.event == "referrals:referral:viewed",
                                                AuditEvent.entity_id == str(ticket.id))).all()
    assert len(viewed) == 1 and viewed[0].changes["family"] is True
    assert facts.family == "父亲长期患病，母亲外出务工。"
    labour = _open(s, demo, bd)  # family not granted
    labour_view = service.need_to_know(s, acting(s, demo, "bd_labour"), access_referral(s, labour.id))
    assert labour_view is not None and labour_view.family == ""
    with pytest.raises(NotFoundException):  # another department's ticket is not there
        access_referral(s, ticket.id)
    _step(s, demo, "bd_finance", ticket, "accept")
    _step(s, demo, "bd_finance", ticket, "resolve", "已落实资助。")
    _step(s, demo, "bd_mid_academic", ticket, "close")
    finance = acting(s, demo, "bd_finance")
    kept = access_referral(s, ticket.id)  # the department keeps its ticket and outcome ...
    assert kept.outcome == "已落实资助。" and service.need_to_know(s, finance, kept) is None  # ... not the child


def test_bad_input_names_the_field_and_changes_nothing(s: Any, demo: Any, townships: dict[str, int]) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    school = acting(s, demo, "bd_mid_academic")
    case_id = open_case(demo, bd)
    before = s.scalars(select(Referral.id)).all()
    cases = (
        ({"kind": "poverty", "department_id": department(demo, lg, "finance")}, "department_id", "本乡镇"),
        ({"kind": "poverty", "department_id": department(demo, bd, "police")}, "department_id", "应转介给"),
        ({"kind": "lottery", "department_id": department(demo, bd, "finance")}, "kind", "类别"),
        ({"kind": "poverty", "department_id": department(demo, bd, "finance"), "reason": " "}, "reason", "原因"),
    )
    for given, field, words in cases:
        with pytest.raises(InvalidInput) as refused:
            service.do_open_referral(s, school, case_id=case_id, **{"reason": "请协助。", **given})
        assert words in refused.value.errors[field], refused.value.errors
    with pytest.raises(InvalidInput) as refused:  # not from a case: say what it is about
        service.do_open_referral(s, school, kind="internet_cafe", department_id=department(demo, bd, "culture"),
                                 reason="请检查。")
    assert "事由" in refused.value.errors["subject"]
    assert s.scalars(select(Referral.id)).all() == before


def test_the_township_changes_its_routing_and_new_tickets_follow_it(s: Any, demo: Any,
                                                                    townships: dict[str, int]) -> None:
    from baoxue.platform.clock import clock

    bd = townships["DEMO-BD"]
    acting(s, demo, "bd_office")
    before = service.routes_of(s)
    values = {f"{k}.{part}": v for k, r in before.items() for part, v in (
        ("duties", [d.value for d in r.duties]), ("respond_days", r.respond_days), ("resolve_days", r.resolve_days))}
    refused = {**values, "poverty.duties": [], "harm.respond_days": "0", "labour": "x",
               "child_labour.respond_days": "9", "child_labour.resolve_days": "5"}
    with pytest.raises(InvalidInput) as bad:
        service.do_save_routes(s, refused)
    assert set(bad.value.errors) == {"poverty.duties", "harm.respond_days", "child_labour.resolve_days"}
    assert service.routes_of(s) == before  # nothing written
    service.do_save_routes(s, {**values, "poverty.duties": ["social_affairs", "finance"], "poverty.respond_days": "2",
                               "poverty.resolve_days": "10"})
    route = service.routes_of(s)["poverty"]
    assert ([d.value for d in route.duties], route.respond_days, route.resolve_days) == (
        ["social_affairs", "finance"], 2, 10)
    ticket = _open(s, demo, bd, kind="poverty", duty="social_affairs")
    assert (ticket.respond_by - clock.today()).days == 2 and (ticket.resolve_by - clock.today()).days == 10
    acting(s, demo, "bd_office")
    event = s.scalars(select(AuditEvent).where(AuditEvent.event == "referrals:routes:changed")
                      .order_by(AuditEvent.id.desc())).first()
    assert set(event.changes) == {"poverty"} and "受理 2 天" in event.changes["poverty"]["to"]


def test_photos_reach_the_department_only_when_granted_and_while_open(s: Any, demo: Any,
                                                                       townships: dict[str, int]) -> None:
    from baoxue.tenants.cases.models import Case, HomeVisit, Photo

    bd = townships["DEMO-BD"]
    academic = acting(s, demo, "bd_mid_academic")  # a case of the school, open, its visits photographed
    case_id = s.scalars(select(HomeVisit.case_id).join(Photo, Photo.visit_id == HomeVisit.id)
                        .join(Case, Case.id == HomeVisit.case_id).where(Case.stage != "closed")
                        .order_by(HomeVisit.case_id.desc()).limit(1)).first()
    assert case_id is not None, "the demo's visits of a case carry photos"
    kinds = {"child_labour": "labour", "left_behind": "social_affairs"}
    granted, withheld = (service.do_open_referral(s, academic, kind=kind, department_id=department(demo, bd, duty),
                                                  reason="请协助。", case_id=case_id, grant_photos=kind == "child_labour")
                         for kind, duty in kinds.items())
    labour = acting(s, demo, "bd_labour")
    photos = service.granted_photos(s, labour, access_referral(s, granted.id))
    assert photos and service.do_view_granted_photo(s, labour, granted, photos[0].id, demo)
    assert s.scalars(select(AuditEvent.changes).where(AuditEvent.event == "referrals:referral:viewed",
                                                      AuditEvent.entity_id == str(granted.id))).all()[-1][
        "photo_id"] == photos[0].id
    social = acting(s, demo, "bd_social")
    assert service.granted_photos(s, social, access_referral(s, withheld.id)) == []
    with pytest.raises(NotFoundException):  # not granted: not even by its id
        service.do_view_granted_photo(s, social, withheld, photos[0].id, demo)
    _step(s, demo, "bd_labour", granted, "return", "不属本部门职责。")
    labour = acting(s, demo, "bd_labour")
    with pytest.raises(NotFoundException):  # the ticket is no longer open
        service.do_view_granted_photo(s, labour, access_referral(s, granted.id), photos[0].id, demo)
