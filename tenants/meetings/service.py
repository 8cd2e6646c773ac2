"""Meeting and publicity records; the leading group's meeting, its agenda and its decisions.

* `do_record_meeting` / `do_change_meeting` / `do_delete_meeting`: a unit's record of a meeting
  or a publicity activity (kind, date, place, attendees, agenda, minutes, photos) in its own unit.
  The record may be the evidence of one of the unit's open task copies: it is attached to the copy
  (`tasks.service.do_attach_record`) in the same transaction.
* `routine_of`: a school's meetings this semester against the routine (DOMAIN.md §10).
* `do_prepare_meeting`: the leading group's office prepares its meeting; the agenda is drawn from
  what is stuck: first the previous leading-group meeting's open decisions, then cases in legal
  enforcement, overdue tickets (of any case), units behind (the circulars' `behind`: overdue
  work, the monthly report, rates against target) and the township's own figures over target.
* `do_decide_item`: the decision on one item, and in the same step its task (`tasks.service.
  do_assign_task`, with the meeting as its source) and/or its ticket (`referrals.service.
  do_open_referral`); the item keeps their ids. A decision is open while any copy of its task is
  not accepted or its ticket is not closed; a carried item with no follow-up of its own is open
  while the decision it carries is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput, not_found
from baoxue.platform.files import storage
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.platform.scoping import township_facts
from baoxue.platform.settings import Settings, get_settings
from baoxue.platform.text import normalise
from baoxue.tenants.meetings.events import Event
from baoxue.tenants.meetings.flows import ACTIVITY_MONTHS, KIND_LABELS, KINDS, LEADING_GROUP, SCHOOL_TEAM
from baoxue.tenants.meetings.models import AgendaItem, Meeting
from baoxue.tenants.meetings.policy import access_meeting

PHOTO_KIND = "meeting-photos"
MAX_PHOTOS = 6
MAX_TEXT = 5000
MAX_PAST_DAYS = 400  # a record older than a school year and a bit is a typing slip
ACCEPTED = "accepted"  # tasks.flows.State.ACCEPTED
CLOSED = "closed"  # referrals.flows.State.CLOSED


@dataclass(frozen=True)
class Upload:
    """A picture from a form: its bytes and the name it came with."""

    data: bytes
    filename: str = ""


# --- validation ---------------------------------------------------------------------------------

def _text(value: Any, errors: dict[str, str], name: str, label: str, *, required: str = "",
          limit: int = MAX_TEXT) -> str:
    text = str(value or "").strip().replace("\r\n", "\n")
    if required and not text:
        errors[name] = required
    elif len(text) > limit:
        errors[name] = f"{label}不能超过 {limit} 字。"
    return text


def _date(value: Any, errors: dict[str, str], name: str, label: str) -> date | None:
    if isinstance(value, date):
        return value
    text = normalise(value)
    if not text:
        errors[name] = f"请填写{label}。"
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label}格式不正确，应为“2026-11-02”这样的日期。"
        return None


def _held_on(value: Any, errors: dict[str, str]) -> date | None:
    day = _date(value, errors, "held_on", "日期")
    today = clock.today()
    if day is not None and day > today:
        errors["held_on"] = "日期不能晚于今天：会议和宣传活动开过、办过才登记。"
    elif day is not None and day < today - timedelta(days=MAX_PAST_DAYS):
        errors["held_on"] = "日期不能早于一年多以前，请检查是否填错。"
    return day


def _unit(actor: Any) -> tuple[UnitKind, int | None]:
    m = actor.membership
    if m is None:
        raise not_found()
    return m.unit_kind, m.unit_id


def _writer_only(actor: Any) -> None:
    if not actor.can(Permission.MEETING_WRITE):
        raise Forbidden(detail="您当前的身份不能登记会议或宣传活动。")


def _photos(photos: Sequence[Upload], errors: dict[str, str]) -> list[Any]:
    from baoxue.platform import photos as photo_files

    if len(photos) > MAX_PHOTOS:
        errors["photos"] = f"每条记录最多上传 {MAX_PHOTOS} 张照片。"
        return []
    accepted = []
    for upload in photos:
        try:
            accepted.append(photo_files.accept_photo(upload.data, upload.filename, field="photos"))
        except InvalidInput as refused:
            errors.update(refused.errors)
            break
    return accepted


def _store_photos(township_id: int, accepted: list[Any], settings: Settings | None) -> list[dict[str, Any]]:
    from baoxue.platform import photos as photo_files

    files = storage(settings or get_settings())
    stored = []
    for photo in accepted:
        key, small_key = photo_files.save_photo(files, township_id, photo, kind=PHOTO_KIND)
        stored.append({"key": key, "small_key": small_key, "width": photo.width, "height": photo.height})
    return stored


def _fields(values: Mapping[str, Any], errors: dict[str, str], unit_kind: UnitKind) -> dict[str, Any]:
    """The record's own fields, checked (kind against the recording unit)."""
    code = normalise(values.get("meeting_kind"))
    kind = KINDS.get(code)
    if kind is None or code == LEADING_GROUP:
        errors["meeting_kind"] = "请选择会议或宣传活动的类别。"
    elif unit_kind not in kind.units:
        errors["meeting_kind"] = f"“{kind.label}”由学校登记，本单位请选择其他类别。"
    publicity = kind is not None and kind.publicity
    return {
        "kind": code,
        "held_on": _held_on(values.get("held_on"), errors),
        "place": _text(values.get("place"), errors, "place", "地点", required="请填写地点。", limit=120),
        "attendees": _text(values.get("attendees"), errors, "attendees", "参加人员",
                           required="" if publicity else "请填写参加人员（出席名单）。"),
        "agenda": _text(values.get("agenda"), errors, "agenda", "议程"),
        "minutes": _text(values.get("minutes"), errors, "minutes", "会议记录",
                         required="请填写活动情况（宣传内容、范围、受众人数）。" if publicity
                         else "请填写会议记录（讨论了什么、决定了什么）。"),
    }


# --- a unit's records ---------------------------------------------------------------------------

def open_copies(session: Session, actor: Any) -> list[tuple[int, str]]:
    """The unit's task copies still being worked (not submitted, not accepted), as (copy id, task
    title): what a record may be the evidence of."""
    from baoxue.tenants.tasks.flows import WORKING
    from baoxue.tenants.tasks.models import Task, TaskCopy

    m = actor.membership
    if m is None or not actor.can(Permission.TASK_READ):
        return []
    unit_id = TaskCopy.unit_id.is_(None) if m.unit_id is None else TaskCopy.unit_id == m.unit_id
    rows = session.execute(select(TaskCopy.id, Task.title).join(Task, Task.id == TaskCopy.task_id).where(
        TaskCopy.unit_kind == m.unit_kind.value, unit_id, TaskCopy.state.in_([s.value for s in WORKING]),
        (TaskCopy.membership_id.is_(None)) | (TaskCopy.membership_id == m.id)).order_by(Task.deadline, TaskCopy.id))
    return [(i, title) for i, title in rows]


def do_record_meeting(session: Session, actor: Any, *, values: Mapping[str, Any], photos: Sequence[Upload] = (),
                      task_copy_id: int | None = None, settings: Settings | None = None) -> Meeting:
    """A meeting or publicity record of the actor's unit, with its photos; a task's evidence if chosen."""
    _writer_only(actor)
    unit_kind, unit_id = _unit(actor)
    errors: dict[str, str] = {}
    fields = _fields(values, errors, unit_kind)
    if task_copy_id is not None and task_copy_id not in dict(open_copies(session, actor)):
        errors["task_copy_id"] = "请选择本单位正在办理的任务（或不选）。"
    accepted = _photos(photos, errors)
    if errors:
        raise InvalidInput(errors)
    township_id = tenant_of(session).township_id
    meeting = Meeting(township_id=township_id, unit_kind=unit_kind.value, unit_id=unit_id,
                      photos=_store_photos(township_id, accepted, settings), task_copy_id=task_copy_id,
                      recorded_by_user_id=actor.user_id, recorded_by_name=actor.signed_as,
                      recorded_at=clock.now(), **fields)
    session.add(meeting)
    session.flush()
    if task_copy_id is not None:
        _attach(session, actor, meeting, task_copy_id)
    audit.record(session, Event.RECORDED, entity=meeting, changes={
        "kind": meeting.kind, "held_on": meeting.held_on, "photos": len(meeting.photos),
        "task_copy_id": task_copy_id})
    return meeting


def _attach(session: Session, actor: Any, meeting: Meeting, copy_id: int) -> None:
    from baoxue.tenants.tasks.service import do_attach_record

    do_attach_record(session, actor, copy_id, label=f"{KIND_LABELS[meeting.kind]}记录（{meeting.held_on:%Y-%m-%d}）",
                     href=f"/meetings/{meeting.id}")


def do_change_meeting(session: Session, actor: Any, meeting_id: int, *, values: Mapping[str, Any],
                      photos: Sequence[Upload] = (), settings: Settings | None = None) -> Meeting:
    """Correct a record of one's unit (new photos are added to those kept). The leading group's
    meeting keeps its kind and is changed by the leading group only."""
    meeting = access_meeting(session, meeting_id, for_write=True)
    leading = meeting.kind == LEADING_GROUP
    if leading and not actor.can(Permission.LEADING_GROUP):
        raise Forbidden(detail="领导小组会议由领导小组（办公室）记录。")
    if not leading:
        _writer_only(actor)
    errors: dict[str, str] = {}
    given = {**values, "meeting_kind": values.get("meeting_kind") or meeting.kind}
    if leading:
        fields = {"held_on": _held_on(given.get("held_on"), errors),
                  "place": _text(given.get("place"), errors, "place", "地点", required="请填写地点。", limit=120),
                  "attendees": _text(given.get("attendees"), errors, "attendees", "参加人员"),
                  "agenda": meeting.agenda,
                  "minutes": _text(given.get("minutes"), errors, "minutes", "会议记录")}
    else:
        fields = _fields(given, errors, UnitKind(meeting.unit_kind))
    if len(meeting.photos or []) + len(photos) > MAX_PHOTOS:
        errors["photos"] = f"每条记录最多 {MAX_PHOTOS} 张照片。"
    accepted = _photos(photos, errors) if "photos" not in errors else []
    if errors:
        raise InvalidInput(errors)
    before = {k: getattr(meeting, k) for k in fields}
    for name, value in fields.items():
        setattr(meeting, name, value)
    if accepted:
        meeting.photos = [*(meeting.photos or []), *_store_photos(meeting.township_id, accepted, settings)]
    session.flush()
    audit.record(session, Event.CHANGED, entity=meeting, changes={
        **audit.diff(before, fields), **({"photos_added": len(accepted)} if accepted else {})})
    return meeting


def do_delete_meeting(session: Session, actor: Any, meeting_id: int) -> None:
    """Remove a record entered by mistake: not the leading group's meeting (its decisions are
    others' work), nor one given as a task's evidence."""
    meeting = access_meeting(session, meeting_id, for_write=True)
    if meeting.kind == LEADING_GROUP:
        raise Conflict(detail="领导小组会议记录有会议决定和由此下达的任务，不能删除。")
    _writer_only(actor)
    if meeting.task_copy_id is not None:
        raise Conflict(detail="此记录已作为任务的完成材料，不能删除。")
    audit.record(session, Event.DELETED, entity=meeting, changes={
        "kind": meeting.kind, "held_on": meeting.held_on, "unit_kind": meeting.unit_kind,
        "unit_id": meeting.unit_id})
    session.delete(meeting)
    session.flush()


# --- reading records ------------------------------------------------------------------------------

def meetings(session: Session, *, kind: str = "", limit: int = 200) -> list[Meeting]:
    query = select(Meeting)
    if kind in KINDS:
        query = query.where(Meeting.kind == kind)
    return list(session.scalars(query.order_by(Meeting.held_on.desc(), Meeting.id.desc()).limit(limit)))


def unit_names(session: Session, found: Sequence[Meeting]) -> dict[tuple[str, int | None], str]:
    """The recording units' names (three small queries at most)."""
    from baoxue.tenants.tenancy.models import Department, School, Village

    names: dict[tuple[str, int | None], str] = {("township", None): "乡镇"}
    for kind, model in (("school", School), ("village", Village), ("department", Department)):
        ids = sorted({m.unit_id for m in found if m.unit_kind == kind and m.unit_id is not None})
        if ids:
            names.update({(kind, i): n for i, n in session.execute(select(model.id, model.name).where(
                model.id.in_(ids)))})
    return names


def photo_bytes(meeting: Meeting, index: int, *, small: bool = False, settings: Settings | None = None) -> bytes:
    photos = meeting.photos or []
    if not 0 <= index < len(photos):
        raise not_found()
    photo = photos[index]
    return storage(settings or get_settings()).read(meeting.township_id, photo["small_key" if small else "key"])


# --- a school's routine -------------------------------------------------------------------------

@dataclass
class Routine:
    """A school's meetings this semester against the routine."""

    school_id: int
    name: str
    term: str
    team_held: list[str] = field(default_factory=list)  # labels of the team meetings held
    team_due: int = 3
    academic_months: list[int] = field(default_factory=list)  # months so far in the term
    academic_held: list[int] = field(default_factory=list)
    activity_months: list[int] = field(default_factory=list)  # March / September, so far in the term
    activity_held: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return (len(self.team_held) >= self.team_due and set(self.academic_months) <= set(self.academic_held)
                and set(self.activity_months) <= set(self.activity_held))


def _months(start: date, end: date) -> list[tuple[int, int]]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def routine_of(session: Session, school_ids: Sequence[int] | None = None) -> list[Routine]:
    """The current semester's count for each school the reader sees (three queries)."""
    from baoxue.tenants.school_calendar.models import SchoolTerm
    from baoxue.tenants.tenancy.models import School

    today = clock.today()
    term = session.scalars(select(SchoolTerm).where(SchoolTerm.starts_on <= today)
                           .order_by(SchoolTerm.starts_on.desc()).limit(1)).first()
    schools = select(School.id, School.name).order_by(School.id)
    if school_ids is not None:
        schools = schools.where(School.id.in_(sorted(school_ids)))
    names = list(session.execute(schools))
    if term is None:
        return []
    end = min(term.ends_on, today)
    months = _months(term.starts_on, end)
    found = {i: Routine(i, n, term.name, academic_months=[m for _, m in months],
                        activity_months=[m for _, m in months if m in ACTIVITY_MONTHS]) for i, n in names}
    rows = session.execute(select(Meeting.unit_id, Meeting.kind, Meeting.held_on).where(
        Meeting.unit_kind == UnitKind.SCHOOL.value, Meeting.unit_id.in_(sorted(found)),
        Meeting.held_on >= term.starts_on, Meeting.held_on <= end))
    for school_id, kind, held_on in rows:
        r = found[school_id]
        if kind in SCHOOL_TEAM and KIND_LABELS[kind] not in r.team_held:
            r.team_held.append(KIND_LABELS[kind])
        elif kind == "academic_monthly" and held_on.month not in r.academic_held:
            r.academic_held.append(held_on.month)
        elif kind == "activity_month" and held_on.month in ACTIVITY_MONTHS and held_on.month not in r.activity_held:
            r.activity_held.append(held_on.month)
    return list(found.values())


def routine_for(session: Session, actor: Any) -> list[Routine]:
    """A school's own count; the township's every school; nothing for others."""
    m = actor.membership
    if m is None:
        return []
    if m.unit_kind == UnitKind.SCHOOL and m.unit_id is not None:
        return routine_of(session, [m.unit_id])
    return routine_of(session) if m.unit_kind == UnitKind.TOWNSHIP else []


# --- the leading group's meeting ------------------------------------------------------------------

def _leading_only(actor: Any) -> None:
    m = actor.membership
    if m is None or m.unit_kind != UnitKind.TOWNSHIP or not actor.can(Permission.LEADING_GROUP):
        raise Forbidden(detail="领导小组会议由领导小组组长或办公室筹备和记录。")


@dataclass(frozen=True)
class Drawn:
    source_kind: str
    source_id: int | None
    text: str
    href: str


def previous_meeting(session: Session, *, before: Meeting | None = None) -> Meeting | None:
    query = select(Meeting).where(Meeting.kind == LEADING_GROUP)
    if before is not None:
        query = query.where(Meeting.id != before.id, Meeting.held_on <= before.held_on)
    return session.scalars(query.order_by(Meeting.held_on.desc(), Meeting.id.desc()).limit(1)).first()


def items_of(session: Session, meeting_ids: Sequence[int]) -> dict[int, list[AgendaItem]]:
    found: dict[int, list[AgendaItem]] = {}
    if not meeting_ids:
        return found
    for item in session.scalars(select(AgendaItem).where(AgendaItem.meeting_id.in_(sorted(set(meeting_ids))))
                                .order_by(AgendaItem.meeting_id, AgendaItem.number)):
        found.setdefault(item.meeting_id, []).append(item)
    return found


@dataclass(frozen=True)
class FollowUp:
    """Where a decision's follow-ups stand."""

    open: bool
    task: str = ""  # 任务“…”：2/3 个单位已验收
    ticket: str = ""  # 转介单第5号：办理中


def follow_ups(session: Session, items: Sequence[AgendaItem]) -> dict[int, FollowUp]:
    """Each item's follow-ups and whether its decision is still open (a query per kind, and one per
    meeting further back a carried decision goes)."""
    from baoxue.tenants.referrals.flows import State as TicketState
    from baoxue.tenants.referrals.models import Referral

    from baoxue.tenants.tasks.models import Task, TaskCopy

    known: dict[int, AgendaItem] = {i.id: i for i in items}
    with township_facts(session):  # where the follow-ups stand, whoever works them
        wanted = [i for i in items if i.source_kind == "decision" and i.source_id and i.source_id not in known]
        while wanted:
            more = list(session.scalars(select(AgendaItem).where(AgendaItem.id.in_({i.source_id for i in wanted}))))
            known.update({i.id: i for i in more})
            wanted = [i for i in more if i.source_kind == "decision" and i.source_id and i.source_id not in known]
        task_ids = {i.task_id for i in known.values() if i.task_id}
        ticket_ids = {i.referral_id for i in known.values() if i.referral_id}
        copies: dict[int, list[str]] = {}
        titles: dict[int, str] = {}
        if task_ids:
            for task_id, state in session.execute(select(TaskCopy.task_id, TaskCopy.state).where(
                    TaskCopy.task_id.in_(sorted(task_ids)))):
                copies.setdefault(task_id, []).append(state)
            titles = dict(session.execute(select(Task.id, Task.title).where(Task.id.in_(sorted(task_ids)))).all())
        tickets = {i: (n, s) for i, n, s in session.execute(select(Referral.id, Referral.number, Referral.state).where(
            Referral.id.in_(sorted(ticket_ids))))} if ticket_ids else {}

    def own(item: AgendaItem) -> tuple[bool | None, str, str]:
        if not item.task_id and not item.referral_id:
            return None, "", ""
        task_text = ticket_text = ""
        is_open = False
        if item.task_id:
            states = copies.get(item.task_id, [])
            done = sum(1 for s in states if s == ACCEPTED)
            is_open = is_open or done < len(states)
            task_text = f"任务“{titles.get(item.task_id, '')}”：{done}/{len(states)} 个已验收"
        if item.referral_id:
            number, state = tickets.get(item.referral_id, (0, CLOSED))
            is_open = is_open or state != CLOSED
            ticket_text = f"转介单第{number}号：{TicketState(state).label}"
        return is_open, task_text, ticket_text

    def is_open(item: AgendaItem, seen: frozenset[int] = frozenset()) -> bool:
        flag, _, _ = own(item)
        if flag is not None:
            return flag
        origin = known.get(item.source_id or 0) if item.source_kind == "decision" else None
        return origin is not None and origin.id not in seen and is_open(origin, seen | {item.id})

    result = {}
    for item in items:
        _, task_text, ticket_text = own(item)
        decided = bool(item.decision) or item.source_kind == "decision"
        result[item.id] = FollowUp(decided and is_open(item), task_text, ticket_text)
    return result


def draw_agenda(session: Session) -> list[Drawn]:
    """What is stuck now, in the order the meeting takes it (the previous meeting's open decisions
    are added by `do_prepare_meeting`, before these). Read over the whole township."""
    from baoxue.tenants.cases.flows import Stage
    from baoxue.tenants.cases.models import Case
    from baoxue.tenants.circulars.service import behind
    from baoxue.tenants.dashboard.service import dashboard
    from baoxue.tenants.referrals.flows import State as TicketState
    from baoxue.tenants.referrals.models import Referral
    from baoxue.tenants.tenancy.models import Department, School

    today = clock.today()
    drawn: list[Drawn] = []
    with township_facts(session):
        schools = dict(session.execute(select(School.id, School.name)).all())
        for case in session.scalars(select(Case).where(Case.stage == Stage.ENFORCING.value).order_by(Case.id)):
            drawn.append(Drawn("case", case.id, f"{case.student_name}（{schools.get(case.school_id, '')}）已转入依法控辍，"
                                                "请研究送达、调解、处罚或起诉等措施。", f"/cases/{case.id}"))
        late_answer = (Referral.state == TicketState.OPENED.value) & (Referral.respond_by < today)
        late_finish = Referral.state.in_([TicketState.ACCEPTED.value, TicketState.IN_PROGRESS.value]) & (
            Referral.resolve_by < today)
        tickets = list(session.scalars(select(Referral).where(late_answer | late_finish).order_by(Referral.id)))
        departments = dict(session.execute(select(Department.id, Department.name)).all())
        for t in tickets:
            late = (f"逾期未受理（应于{t.respond_by:%m月%d日}前受理）" if t.state == TicketState.OPENED.value
                    else f"逾期未办结（应于{t.resolve_by:%m月%d日}前办结）")
            drawn.append(Drawn("referral", t.id, f"转介单第{t.number}号（{departments.get(t.department_id, '')}）："
                                                 f"{t.subject}，{late}。", f"/referrals/{t.id}"))
        for b in behind(session):
            href = f"/dashboard/overdue?unit_kind={b.kind}&unit_id={b.id}" if b.kind != "department" else "/dashboard"
            drawn.append(Drawn(b.kind, b.id, f"{b.name}：{b.reason}。", href))
        total = dashboard(session).year.total
        if total.over_ceiling:
            drawn.append(Drawn("figures", None, f"全乡镇本学年辍学率 {total.dropout_rate:.2f}% 超过控制线 "
                                                f"{(total.ceiling or 0) / 100:.2f}%。", "/dashboard"))
        if total.under_floor:
            drawn.append(Drawn("figures", None, f"全乡镇巩固率 {total.retention:.2f}% 低于目标 "
                                                f"{(total.floor or 0) / 100:.2f}%。", "/dashboard"))
    return drawn


def do_prepare_meeting(session: Session, actor: Any, *, held_on: Any, place: Any = "", attendees: Any = "") -> Meeting:
    """The leading group's next meeting, its agenda drawn: the last meeting's open decisions first."""
    _leading_only(actor)
    errors: dict[str, str] = {}
    day = _date(held_on, errors, "held_on", "会议日期")
    if day is not None and day < clock.today() - timedelta(days=MAX_PAST_DAYS):
        errors["held_on"] = "会议日期不能早于一年多以前，请检查是否填错。"
    place = _text(place, errors, "place", "地点", limit=120)
    attendees = _text(attendees, errors, "attendees", "参加人员")
    if errors:
        raise InvalidInput(errors)
    last = previous_meeting(session)
    carried: list[Drawn] = []
    if last is not None:
        last_items = items_of(session, [last.id]).get(last.id, [])
        status = follow_ups(session, last_items)
        for item in last_items:
            if status[item.id].open:
                text = item.text if item.source_kind == "decision" and not item.decision else (
                    f"上次会议（{last.held_on:%m月%d日}）决定尚未办结：{item.decision}（议题：{item.text}）")
                carried.append(Drawn("decision", item.id, text[:300], f"/meetings/{last.id}#item-{item.id}"))
    drawn = [*carried, *draw_agenda(session)]
    meeting = Meeting(township_id=tenant_of(session).township_id, kind=LEADING_GROUP, unit_kind="township",
                      unit_id=None, held_on=day, place=place or "乡镇会议室", attendees=attendees,
                      agenda="\n".join(f"{n}. {d.text}" for n, d in enumerate(drawn, start=1)), minutes="",
                      photos=[], previous_id=last.id if last else None, recorded_by_user_id=actor.user_id,
                      recorded_by_name=actor.signed_as, recorded_at=clock.now())
    session.add(meeting)
    session.flush()
    session.add_all(AgendaItem(township_id=meeting.township_id, meeting_id=meeting.id, number=n,
                               source_kind=d.source_kind, source_id=d.source_id, text=d.text[:300], href=d.href)
                    for n, d in enumerate(drawn, start=1))
    session.flush()
    audit.record(session, Event.PREPARED, entity=meeting, changes={
        "held_on": day, "items": len(drawn), "carried": len(carried), "previous_id": meeting.previous_id})
    return meeting


def _prefixed(errors: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {f"{prefix}{k}": v for k, v in errors.items()}


def do_decide_item(session: Session, actor: Any, meeting_id: int, item_id: Any, *, decision: Any,
                   task: Mapping[str, Any] | None = None, ticket: Mapping[str, Any] | None = None) -> AgendaItem:
    """The decision on one item, and in the same step its task and/or its ticket (validated whole:
    a refusal of either leaves nothing written). `task`: title, instructions, deadline, assignees
    ("school:3", ...), evidence; `ticket`: kind, department_id, reason."""
    meeting = access_meeting(session, meeting_id, for_write=True)
    if meeting.kind != LEADING_GROUP:
        raise not_found()
    _leading_only(actor)
    item = next((i for i in items_of(session, [meeting.id]).get(meeting.id, []) if str(i.id) == str(item_id)), None)
    if item is None:
        raise InvalidInput({"item_id": "请选择本次会议的一个议题。"})
    errors: dict[str, str] = {}
    words = _text(decision, errors, "decision", "会议决定", required="请写明会议对此议题的决定。", limit=2000)
    task = task if task and normalise(task.get("title")) else None
    ticket = ticket if ticket and normalise(ticket.get("kind")) else None
    deadline = None
    if task is not None:
        if item.task_id:
            errors["task_title"] = "此议题已下达过任务。"
        deadline = _date(task.get("deadline"), errors, "task_deadline", "任务期限")
        if deadline is not None and deadline < clock.today():
            errors["task_deadline"] = "任务期限不能早于今天。"
        if not [a for a in (task.get("assignees") or []) if str(a).strip()]:
            errors["task_assignees"] = "请选择承办任务的单位。"
    if ticket is not None and item.referral_id:
        errors["ticket_kind"] = "此议题已转介过部门。"
    if errors:
        raise InvalidInput(errors)
    source_label = f"领导小组会议（{meeting.held_on:%Y年%m月%d日}）决定"[:120]
    source_href = f"/meetings/{meeting.id}#item-{item.id}"
    created_task = created_ticket = None
    with session.begin_nested():  # the task and the ticket stand or fall together
        if task is not None:
            from baoxue.tenants.tasks.service import do_assign_task

            try:
                created_task = do_assign_task(
                    session, actor, title=normalise(task.get("title")),
                    instructions=str(task.get("instructions") or words), evidence=list(task.get("evidence") or
                                                                                       ["note"]),
                    count_label=str(task.get("count_label") or ""), deadline=deadline,
                    assignees=[str(a).strip() for a in task.get("assignees") or [] if str(a).strip()],
                    source_label=source_label, source_href=source_href)
            except InvalidInput as refused:
                raise InvalidInput(_prefixed(refused.errors, "task_")) from None
        if ticket is not None:
            created_ticket = _open_ticket(session, actor, item, meeting, ticket, words)
    before = {"decision": item.decision, "task_id": item.task_id, "referral_id": item.referral_id}
    item.decision, item.decided_at, item.decided_by_name = words, clock.now(), actor.signed_as
    if created_task is not None:
        item.task_id = created_task.id
    if created_ticket is not None:
        item.referral_id = created_ticket.id
    session.flush()
    audit.record(session, Event.DECIDED, entity=meeting, changes={
        "item_id": item.id, **audit.diff(before, {"decision": item.decision, "task_id": item.task_id,
                                                  "referral_id": item.referral_id})})
    return item


def _open_ticket(session: Session, actor: Any, item: AgendaItem, meeting: Meeting, ticket: Mapping[str, Any],
                 words: str) -> Any:
    from baoxue.tenants.referrals.models import Referral
    from baoxue.tenants.referrals.service import do_open_referral

    case_id = None
    if item.source_kind == "case":
        case_id = item.source_id
    elif item.source_kind == "referral" and item.source_id:
        with township_facts(session):
            case_id = session.scalar(select(Referral.case_id).where(Referral.id == item.source_id))
    reason = normalise(ticket.get("reason")) or words
    note = f"（领导小组会议 {meeting.held_on:%Y-%m-%d} 决定，见 /meetings/{meeting.id}）"
    try:
        return do_open_referral(session, actor, kind=normalise(ticket.get("kind")),
                                department_id=ticket.get("department_id"), reason=f"{reason}{note}",
                                case_id=case_id, subject="" if case_id else item.text[:100])
    except InvalidInput as refused:
        raise InvalidInput(_prefixed(refused.errors, "ticket_")) from None


def decision_count(session: Session, meeting_id: int) -> int:
    return session.scalar(select(func.count(AgendaItem.id)).where(AgendaItem.meeting_id == meeting_id,
                                                                 AgendaItem.decision != "")) or 0
