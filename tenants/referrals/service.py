"""Referral tickets: open one, take its steps, show a department what its duty needs.

`do_open_referral` sends a ticket from a case (or a school's or a village's own matter) to a
department whose duty fits the kind (the routing table). `do_referral_step` takes one step of
flows.STEPS: the department accepts or returns, works and resolves; the referrer closes,
reopens or withdraws. Every step is a `ReferralStep`, an entry on the case's timeline while the
case is open, the worklist's items of the ticket (the department's answer and resolution by
their days, the referrer's confirmation) and an audit row. `need_to_know` is the only way a
department reads a child: name, age, village, the referrer's words and the masked ID number
(the family's circumstances only if granted), while the ticket is open, each view audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.access import get_in_township
from baoxue.platform.clock import clock
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import Conflict, InvalidInput, not_found
from baoxue.platform.identity import JobActor
from baoxue.platform.permissions import DutyCode, Permission, Role, UnitKind
from baoxue.platform.scoping import consequences, township_facts
from baoxue.platform.templating import mask_id_number
from baoxue.tenants.cases import timeline
from baoxue.tenants.cases.flows import EntryKind, Stage
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit, Photo
from baoxue.tenants.cases.policy import access_case
from baoxue.tenants.notifications.service import send as send_notification
from baoxue.tenants.referrals.events import Event
from baoxue.tenants.referrals.flows import DEFAULT_ROUTES, ENFORCEMENT_KIND, OPEN_STATES, STEPS, Route, Side, State
from baoxue.tenants.referrals.models import Referral, ReferralRoute, ReferralStep
from baoxue.tenants.referrals.policy import access_referral
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Department, Village
from baoxue.tenants.worklist.service import Due, Owner, reconcile

SUBJECT = "referrals"  # what the worklist's items name as their record
CONFIRM_DAYS = 3  # the referrer confirms a resolution (or reopens it) within this many days
# Who confirms a resolution when no person referred (the job's ticket): the unit's office for this work.
CONFIRMED_BY = {UnitKind.SCHOOL.value: Role.ACADEMIC_OFFICE.value, UnitKind.VILLAGE.value: Role.VILLAGE_CADRE.value,
                UnitKind.TOWNSHIP.value: Role.OFFICE_STAFF.value}
MAX_TEXT = 2000


# --- the routing table ---------------------------------------------------------------------------

def routes_of(session: Session) -> dict[str, Route]:
    """The township's routing table: its own rows over the defaults (one query)."""
    routes = dict(DEFAULT_ROUTES)
    for row in session.scalars(select(ReferralRoute)):
        default = DEFAULT_ROUTES.get(row.kind)
        if default is not None:
            duties = tuple(DutyCode(d) for d in row.duty_codes.split(",") if d in DutyCode.__members__.values())
            routes[row.kind] = Route(row.kind, default.label, duties or default.duties, row.respond_days,
                                     row.resolve_days)
    return routes


def departments_for(session: Session, route: Route) -> list[Department]:
    """The township's departments whose duty fits, the usual one first."""
    found = {d.duty_code: d for d in session.scalars(select(Department).where(
        Department.duty_code.in_([duty.value for duty in route.duties])))}
    return [found[d.value] for d in route.duties if d.value in found]


MAX_DAYS = 60  # a response or resolution deadline longer than two months is a typing slip


def do_save_routes(session: Session, values: Mapping[str, Any]) -> dict[str, Route]:
    """The township's routing table from a form (`<kind>.duties` a list of duty codes,
    `<kind>.respond_days`, `<kind>.resolve_days`); every kind checked before any is written."""
    current = routes_of(session)
    errors: dict[str, str] = {}
    wanted: dict[str, Route] = {}
    for kind, route in current.items():
        duties = [str(d).strip() for d in (values.get(f"{kind}.duties") or [])]
        if not duties:
            errors[f"{kind}.duties"] = f"“{route.label}”至少要有一个接收部门。"
        elif any(d not in DutyCode.__members__.values() for d in duties):
            errors[f"{kind}.duties"] = f"“{route.label}”的接收部门不在本乡镇的部门职责之列。"
        days = {}
        for name, label in (("respond_days", "受理期限"), ("resolve_days", "办结期限")):
            raw = values.get(f"{kind}.{name}", getattr(route, name))
            try:
                days[name] = int(str(raw).strip())
            except ValueError:
                days[name] = 0
            if not 1 <= days[name] <= MAX_DAYS:
                errors[f"{kind}.{name}"] = f"“{route.label}”的{label}应为 1—{MAX_DAYS} 天。"
        if not errors.get(f"{kind}.resolve_days") and days["resolve_days"] < days["respond_days"]:
            errors[f"{kind}.resolve_days"] = f"“{route.label}”的办结期限不能短于受理期限。"
        wanted[kind] = Route(kind, route.label, tuple(DutyCode(d) for d in duties if d in DutyCode.__members__.values()),
                             days["respond_days"], days["resolve_days"])
    if errors:
        raise InvalidInput(errors)
    rows = {r.kind: r for r in session.scalars(select(ReferralRoute))}
    changes: dict[str, Any] = {}
    for kind, route in wanted.items():
        stored = (",".join(d.value for d in route.duties), route.respond_days, route.resolve_days)
        before = current[kind]
        if stored == (",".join(d.value for d in before.duties), before.respond_days, before.resolve_days):
            continue
        row = rows.get(kind) or ReferralRoute(township_id=tenant_of(session).township_id, kind=kind)
        row.duty_codes, row.respond_days, row.resolve_days = stored
        session.add(row)
        changes[kind] = {"from": _route_text(before), "to": _route_text(route)}
    session.flush()
    if changes:
        audit.record(session, Event.ROUTES_CHANGED, entity_type="referral_routes",
                     entity_id=tenant_of(session).township_id, changes=changes)
    return wanted


def _route_text(route: Route) -> str:
    return f"{'、'.join(d.label for d in route.duties)}；受理 {route.respond_days} 天，办结 {route.resolve_days} 天"


# --- opening ---------------------------------------------------------------------------------------

def _text(value: Any, errors: dict[str, str], field: str, label: str, *, required: str = "") -> str:
    text = str(value or "").strip()
    if required and not text:
        errors[field] = required
    elif len(text) > MAX_TEXT:
        errors[field] = f"{label}不能超过 {MAX_TEXT} 字。"
    return text


def _referring_unit(actor: Any) -> tuple[str, int | None]:
    m = actor.membership
    if m is None or m.unit_kind == UnitKind.DEPARTMENT:
        raise not_found()
    return m.unit_kind.value, m.unit_id


def do_open_referral(session: Session, actor: Any, *, kind: str, department_id: Any, reason: str,
                     case_id: int | None = None, subject: str = "", grant_family: bool = False,
                     grant_photos: bool = False) -> Referral:
    """Send a ticket to a department whose duty fits `kind`; validated whole before anything is written."""
    from_kind, from_id = _referring_unit(actor)
    case = access_case(session, case_id, for_write=True) if case_id is not None else None
    errors: dict[str, str] = {}
    route = routes_of(session).get(str(kind or "").strip())
    if route is None:
        errors["kind"] = "请选择转介事项的类别。"
    department = _department(session, department_id)
    if department is None:
        errors["department_id"] = "请选择本乡镇的一个部门。"
    elif route is not None and department.duty_code not in {d.value for d in route.duties}:
        names = "、".join(d.label for d in route.duties)
        errors["department_id"] = f"“{route.label}”应转介给：{names}。"
    reason = _text(reason, errors, "reason", "转介说明", required="请写明转介的原因和需要部门做什么。")
    subject = _text(subject, errors, "subject", "事由")[:120]
    if case is None and not subject:
        errors["subject"] = "不是从个案转介时，请写明事由（例如：某网吧接纳未成年人）。"
    if case is not None and case.stage == Stage.CLOSED.value:
        errors["case_id"] = "此个案已结案，不能再转介。"
    if errors:
        raise InvalidInput(errors)
    assert route is not None and department is not None
    return _open(session, actor, route, department, case, reason=reason, subject=subject or _case_subject(case),
                 from_unit=(from_kind, from_id), grant_family=bool(grant_family), grant_photos=bool(grant_photos))


def _department(session: Session, department_id: Any) -> Department | None:
    try:
        wanted = int(department_id)
    except (TypeError, ValueError):
        return None
    return get_in_township(session, Department, wanted)


def _case_subject(case: Case | None) -> str:
    return f"{case.student_name}（控辍个案）" if case is not None else ""


def _open(session: Session, actor: Any, route: Route, department: Department, case: Case | None, *, reason: str,
          subject: str, from_unit: tuple[str, int | None], grant_family: bool = False, grant_photos: bool = False,
          key: str | None = None) -> Referral:
    today, now = clock.today(), clock.now()
    with township_facts(session):  # the township's series: tickets this actor cannot read count too
        number = (session.scalar(select(func.max(Referral.number))) or 0) + 1
    ticket = Referral(township_id=tenant_of(session).township_id, number=number, kind=route.kind,
                      department_id=department.id, case_id=case.id if case else None,
                      student_id=case.student_id if case else None, from_unit_kind=from_unit[0],
                      from_unit_id=from_unit[1], referrer_user_id=actor.user_id, referrer_name=actor.signed_as,
                      referrer_membership_id=actor.membership.id if actor.membership is not None else None,
                      subject=subject, reason=reason, grant_family=grant_family, grant_photos=grant_photos,
                      state=State.OPENED.value, respond_by=today + timedelta(days=route.respond_days),
                      resolve_by=today + timedelta(days=route.resolve_days), opened_at=now, key=key)
    session.add(ticket)
    session.flush()
    _record_step(session, actor, ticket, "open", f"转介{department.name}：{route.label}。{reason}")
    audit.record(session, Event.OPENED, entity=ticket, changes={
        "number": number, "kind": route.kind, "department": department.name, "case_id": ticket.case_id})
    return ticket


# --- steps -----------------------------------------------------------------------------------------

def do_referral_step(session: Session, actor: Any, referral_id: int, action: str, note: str = "") -> Referral:
    """One step of the ticket's life, by the side it belongs to (flows.STEPS)."""
    ticket = access_referral(session, referral_id, for_write=True)
    step = STEPS.get(str(action or "").strip())
    if step is None:
        raise InvalidInput({"action": "请选择要办理的操作。"})
    if not _on_side(actor, ticket, step.side):
        raise Conflict(detail=("只有接收转介的部门可以" if step.side == Side.DEPARTMENT else "只有转介方可以")
                       + f"{step.label}转介单。")
    current = State(ticket.state)
    if current not in step.before:
        raise Conflict(detail=f"转介单现在是“{current.label}”，不能{step.label}。")
    errors: dict[str, str] = {}
    note = _text(note, errors, "note", "说明", required=step.needs_note)
    if errors:
        raise InvalidInput(errors)
    before = {"state": ticket.state}
    now = clock.now()
    ticket.state = step.after.value
    if step.action == "accept":
        ticket.accepted_at = now
    elif step.action == "resolve":
        ticket.resolved_at, ticket.outcome = now, note
    elif step.action in ("close", "withdraw", "return"):
        ticket.closed_at = now
    elif step.action == "reopen":
        ticket.resolved_at = None
    session.flush()
    _record_step(session, actor, ticket, step.action, note)
    audit.record(session, Event.STEP, entity=ticket, changes={**audit.diff(before, {"state": ticket.state}),
                                                                "action": step.action})
    return ticket


def _on_side(actor: Any, ticket: Referral, side: Side) -> bool:
    m = actor.membership
    if m is None:
        return False
    if side == Side.DEPARTMENT:
        return (m.unit_kind == UnitKind.DEPARTMENT and m.unit_id == ticket.department_id
                and actor.can(Permission.REFERRAL_HANDLE))
    return m.unit_kind != UnitKind.DEPARTMENT and actor.can(Permission.REFERRAL_OPEN)


def _record_step(session: Session, actor: Any, ticket: Referral, action: str, note: str) -> None:
    """The step, its line on the case's timeline (while the case is open) and the worklist."""
    with consequences(session):  # the department's step is written on the case it cannot read
        number = (session.scalar(select(func.max(ReferralStep.number))
                                 .where(ReferralStep.referral_id == ticket.id)) or 0) + 1
        session.add(ReferralStep(township_id=ticket.township_id, referral_id=ticket.id, number=number,
                                 action=action, state=ticket.state, note=note, user_id=actor.user_id,
                                 actor_name=actor.signed_as, occurred_at=clock.now()))
        case = session.get(Case, ticket.case_id) if ticket.case_id else None
        if case is not None and case.stage != Stage.CLOSED.value:
            label = "开转介单" if action == "open" else STEPS[action].label
            timeline.add_entry(session, case, EntryKind.REFERRAL, actor,
                               summary=f"转介单第{ticket.number}号 {label}：{State(ticket.state).label}"
                                       + (f"。{note}" if note and action != "open" else ""),
                               details={"referral_id": ticket.id, "action": action, "state": ticket.state})
        reconcile(session, SUBJECT, ticket.id, _due(ticket))
        _notify(session, ticket, action, number)


def _notify(session: Session, ticket: Referral, action: str, number: int) -> None:
    """Tell whoever the step hands the ticket to (notifications, once per step by its key). The
    department's line names no child: it keeps its notifications after the ticket closes."""
    href, key = f"/referrals/{ticket.id}", f"referrals:{ticket.id}:{number}"
    department = Owner(UnitKind.DEPARTMENT, ticket.department_id)
    route = DEFAULT_ROUTES.get(ticket.kind)
    what = route.label if route is not None else "转介事项"
    if action in ("open", "reopen"):
        text = (f"新转介单第{ticket.number}号（{what}），来自{ticket.referrer_name}，请受理或退回。" if action == "open"
                else f"转介单第{ticket.number}号（{what}）转介方要求重新办理，请继续办理。")
        send_notification(session, key=key, to=[department], kind="ticket", text=text, href=href)
    elif action in ("return", "resolve"):
        referrer = Owner(UnitKind(ticket.from_unit_kind), ticket.from_unit_id,
                         "" if ticket.referrer_membership_id else CONFIRMED_BY.get(ticket.from_unit_kind, ""),
                         membership_id=ticket.referrer_membership_id)
        name = department_names(session, {ticket.department_id}).get(ticket.department_id, "部门")
        text = (f"{name}退回了转介单第{ticket.number}号：{ticket.subject}" if action == "return"
                else f"{name}已办结转介单第{ticket.number}号，请确认办理结果：{ticket.subject}")
        send_notification(session, key=key, to=[referrer], kind="ticket", text=text, href=href)


def _due(ticket: Referral) -> list[Due]:
    """What the ticket asks of whom now: the department's answer, then its resolution; the
    referrer's confirmation of a resolution."""
    href = f"/referrals/{ticket.id}"
    department = Owner(UnitKind.DEPARTMENT, ticket.department_id)
    state = State(ticket.state)
    if state == State.OPENED:
        return [Due("referrals:respond", f"受理或退回转介单第{ticket.number}号：{ticket.subject}", href, department,
                    ticket.respond_by)]
    if state in (State.ACCEPTED, State.IN_PROGRESS):
        return [Due("referrals:resolve", f"办结转介单第{ticket.number}号：{ticket.subject}", href, department,
                    ticket.resolve_by)]
    if state == State.RESOLVED:
        referrer = Owner(UnitKind(ticket.from_unit_kind), ticket.from_unit_id,
                         "" if ticket.referrer_membership_id else CONFIRMED_BY.get(ticket.from_unit_kind, ""),
                         membership_id=ticket.referrer_membership_id)
        return [Due("referrals:confirm", f"确认转介单第{ticket.number}号的办理结果：{ticket.subject}", href,
                    referrer, clock.today() + timedelta(days=CONFIRM_DAYS))]
    return []


# --- what a job opens ------------------------------------------------------------------------------

ENFORCEMENT_SIGNED_AS = "系统（个案转入依法控辍后自动转介）"


def open_enforcement_referral(session: Session, case_id: int) -> Referral | None:
    """The justice office's ticket for a case that entered 依法控辍, once per case: a retry, a
    redelivery or a second worker finds the ticket by its key (unique in the township). It names
    as referrer whoever moved the case on."""
    key = f"enforcement:{case_id}"
    found = session.scalars(select(Referral).where(Referral.key == key)).first()
    if found is not None:
        return found
    case = session.get(Case, case_id)
    if case is None or case.stage != Stage.ENFORCING.value:
        return None
    moved_by = session.scalar(select(CaseEntry.recorded_by).where(
        CaseEntry.case_id == case.id, CaseEntry.kind == EntryKind.STAGE.value).order_by(CaseEntry.number.desc()).limit(1))
    actor = JobActor(moved_by or case.opened_by, ENFORCEMENT_SIGNED_AS)
    route = routes_of(session)[ENFORCEMENT_KIND]
    fitting = departments_for(session, route)  # the justice office first, wherever the table puts it
    department = next((d for d in fitting if d.duty_code == DutyCode.JUSTICE.value), next(iter(fitting), None))
    if department is None:
        return None  # a township without a justice office or police station: nobody to send it to
    savepoint = session.begin_nested()
    try:
        ticket = _open(session, actor, route, department, case, subject=_case_subject(case),
                       reason="个案已转入依法控辍：监护人经劝返仍拒不送子女入学，请依法协助（送达、调解、行政处罚或起诉）。",
                       from_unit=(UnitKind.SCHOOL.value, case.school_id), key=key)
        savepoint.commit()
        return ticket
    except IntegrityError:
        savepoint.rollback()  # another worker made it first
        return session.scalars(select(Referral).where(Referral.key == key)).one()


# --- reading ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChildFacts:
    """What a department's duty needs of a child, while its ticket is open."""

    name: str
    age: int | None
    village: str
    id_number: str  # masked
    family: str  # the family's circumstances, when the referrer granted them


def need_to_know(session: Session, actor: Any, ticket: Referral) -> ChildFacts | None:
    """The child as the department may see them, or None (closed ticket, no child, not a department)."""
    m = actor.membership
    if (m is None or m.unit_kind != UnitKind.DEPARTMENT or ticket.student_id is None
            or State(ticket.state) not in OPEN_STATES):
        return None
    with township_facts(session):  # one child's few facts, for the ticket the actor holds
        student = session.get(Student, ticket.student_id)
        case = session.get(Case, ticket.case_id) if ticket.case_id else None
        village = session.get(Village, case.village_id) if case is not None and case.village_id else None
    if student is None:
        return None
    facts = ChildFacts(student.name, _age(student.birth_date, clock.today()), village.name if village else "",
                       mask_id_number(student.id_number), student.family_circumstances if ticket.grant_family else "")
    audit.record(session, Event.VIEWED, entity=ticket, changes={"student_id": student.id,
                                                                "family": ticket.grant_family})
    return facts


def granted_photos(session: Session, actor: Any, ticket: Referral) -> list[Photo]:
    """The case's photos (its own and its visits'), for the department the referrer let see
    them, while the ticket is open; else none."""
    m = actor.membership
    if (m is None or m.unit_kind != UnitKind.DEPARTMENT or not ticket.grant_photos or ticket.case_id is None
            or State(ticket.state) not in OPEN_STATES):
        return []
    with township_facts(session):  # the photos of the one case the ticket names
        visits = select(HomeVisit.id).where(HomeVisit.case_id == ticket.case_id)
        return list(session.scalars(select(Photo).where(
            (Photo.case_id == ticket.case_id) | Photo.visit_id.in_(visits)).order_by(Photo.id).limit(50)))


def do_view_granted_photo(session: Session, actor: Any, ticket: Referral, photo_id: int,
                          settings: Any = None) -> bytes:
    """One granted photo (the downscaled copy), each view audited; any other is a 404."""
    from baoxue.tenants.cases.service import photo_bytes

    photo = next((p for p in granted_photos(session, actor, ticket) if p.id == photo_id), None)
    if photo is None:
        raise not_found()
    audit.record(session, Event.VIEWED, entity=ticket, changes={"student_id": ticket.student_id, "photo_id": photo.id})
    return photo_bytes(session, photo, small=True, settings=settings)


def _age(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def subject_for(actor: Any, ticket: Referral) -> str:
    """The ticket's line as the reader may see it: a department that no longer works the ticket
    keeps it, but not the child's name (the case is not its to keep)."""
    m = actor.membership
    if (m is None or m.unit_kind != UnitKind.DEPARTMENT or ticket.case_id is None
            or State(ticket.state) in OPEN_STATES):
        return ticket.subject
    name, _, rest = ticket.subject.partition("（")
    return f"{name[:1]}{'*' * max(len(name) - 1, 1)}" + (f"（{rest}" if rest else "")


def tickets(session: Session, *, state: str = "", limit: int = 200) -> list[Referral]:
    """The tickets the reader's scope holds, those still open first, the newest first."""
    query = select(Referral)
    if state in State.__members__.values():
        query = query.where(Referral.state == state)
    open_first = Referral.state.in_([s.value for s in (State.OPENED, State.ACCEPTED, State.IN_PROGRESS,
                                                        State.RESOLVED)])
    return list(session.scalars(query.order_by(open_first.desc(), Referral.id.desc()).limit(limit)))


def tickets_of_case(session: Session, case_id: int) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.case_id == case_id).order_by(Referral.id)))


def steps_of(session: Session, ticket: Referral) -> list[ReferralStep]:
    return list(session.scalars(select(ReferralStep).where(ReferralStep.referral_id == ticket.id)
                                .order_by(ReferralStep.number)))


def department_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(sorted(ids)))).all())
