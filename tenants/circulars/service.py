"""Circulars (通报): what is behind, a draft from it, its edits, its issue and its download.

* `behind`: the units behind now, each with what it is behind on, from the reads the dashboard
  and the worklist already make (`dashboard.service.dashboard` for the monthly report past its
  cut-off and the rates against their targets; `worklist.service.overdue_by_unit_and_kind` for
  the overdue items, by kind): "2 项任务逾期、1 张转介单逾期". Read over the whole township
  (`township_facts`): the party-government office names units it cannot otherwise read.
* `do_draft_circular`: a draft, prefilled from `behind` (title, body, every unit behind named).
* `do_change_circular`: the issuer edits title and body and picks the units named (any school,
  village or department of the township; a unit the draft found keeps its reason).
* `do_issue_circular`: the next number of the township's series for the year (a transaction
  lock on PostgreSQL, the unique key (township, year, serial) refusing whatever slips past as a
  409), the PDF rendered and stored, the named units told (notifications). Issued, it never
  changes: every change is refused with a 409 in Chinese.
* `do_download_circular`: its PDF, audited.

Who may draft and issue (`may_issue`): the township's office (CIRCULAR_ISSUE at the township) and,
among departments, only the party-government office (党政办), whose duty this is (DOMAIN.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput, not_found
from baoxue.platform.files import storage
from baoxue.platform.pdf import render_pdf
from baoxue.platform.permissions import DutyCode, Permission, Role, UnitKind
from baoxue.platform.scoping import consequences, township_facts
from baoxue.platform.settings import PROJECT_ROOT, Settings, get_settings
from baoxue.tenants.circulars.events import Event
from baoxue.tenants.circulars.models import Circular, CircularUnit
from baoxue.tenants.circulars.policy import ISSUED, access_circular
from baoxue.tenants.tenancy.models import Department, School, Township, Village

DRAFT = "draft"
FILE_KIND = "circulars"
MAX_TITLE = 120
MAX_BODY = 5000
RECENT_DAYS = 30  # a named unit's first screen reminds it of a circular this many days
DEFAULT_TITLE = "关于控辍保学工作进度滞后单位的通报"
UNIT_LABELS = {"school": "学校", "village": "村", "department": "部门"}
# What an overdue item is, by its concept (the first part of its kind): "2 项任务逾期".
OVERDUE_WORDS = {"tasks": "项任务", "referrals": "张转介单", "cases": "项控辍个案工作", "attendance": "项考勤跟进",
                 "status_changes": "项学籍变动", "census": "项入户核查"}
OTHER_WORK = "项工作"


# --- the series -----------------------------------------------------------------------------

def series_of(township: Township) -> str:
    """The township's series: its own setting, or its name's short form + 府通 (板当镇 → 板当府通)."""
    own = (getattr(township, "circular_series", "") or "").strip()
    if own:
        return own
    name = township.name
    for suffix in ("人民政府", "镇", "乡", "街道"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return f"{name}府通"


def circular_number(series: str, year: int, serial: int) -> str:
    return f"{series}〔{year}〕{serial}号"


def issuer_of(township: Township) -> str:
    return f"{township.name}人民政府"


# --- who may issue --------------------------------------------------------------------------

def may_issue(actor: Any) -> bool:
    """The township's office, or the party-government office among departments."""
    m = getattr(actor, "membership", None)
    if m is None or not actor.can(Permission.CIRCULAR_ISSUE):
        return False
    if m.unit_kind == UnitKind.TOWNSHIP:
        return True
    return m.unit_kind == UnitKind.DEPARTMENT and m.duty == DutyCode.PARTY_OFFICE.value


def _issuer_only(actor: Any) -> None:
    if not may_issue(actor):
        raise Forbidden(detail="通报由领导小组办公室或党政办起草和印发，其他部门不能起草或印发通报。")


# --- what is behind -------------------------------------------------------------------------

@dataclass
class Behind:
    """A unit behind now, and on what."""

    kind: str  # school | village | department
    id: int
    name: str
    reasons: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def reason(self) -> str:
        return "、".join(self.reasons)


def overdue_words(by_kind: dict[str, int]) -> list[str]:
    """{"tasks:do": 2, "referrals:respond": 1} → ["2 项任务逾期", "1 张转介单逾期"] (the concepts' order)."""
    counts: dict[str, int] = {}
    for kind, n in by_kind.items():
        concept = kind.split(":", 1)[0]
        counts[concept] = counts.get(concept, 0) + n
    order = list(OVERDUE_WORDS)
    return [f"{n} {OVERDUE_WORDS.get(c, OTHER_WORK)}逾期"
            for c, n in sorted(counts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0]))]


def behind(session: Session) -> list[Behind]:
    """The township's units behind now, the most behind first (the dashboard's order for schools
    and villages, then departments). About twenty queries, whatever the township's size."""
    from baoxue.tenants.dashboard.service import dashboard
    from baoxue.tenants.worklist.service import overdue_by_unit_and_kind

    with township_facts(session):
        board = dashboard(session)
        overdue = overdue_by_unit_and_kind(session)
        departments = list(session.execute(select(Department.id, Department.name).order_by(Department.id)))
    found: list[Behind] = []
    for row in board.units:
        reasons = overdue_words(overdue.get((row.kind, row.id), {}))
        if row.report_missing:
            reasons.append(f"{board.report_month.label}月报逾期未报送")
        if row.line is not None and row.line.over_ceiling:
            reasons.append(f"辍学率 {row.line.dropout_rate:.2f}% 超过控制线 {row.line.ceiling / 100:.2f}%")
        if row.line is not None and row.line.under_floor:
            reasons.append(f"巩固率 {row.line.retention:.2f}% 低于目标 {row.line.floor / 100:.2f}%")
        if reasons:
            found.append(Behind(row.kind, row.id, row.name, reasons))
    for department_id, name in departments:
        reasons = overdue_words(overdue.get((UnitKind.DEPARTMENT.value, department_id), {}))
        if reasons:
            found.append(Behind(UnitKind.DEPARTMENT.value, department_id, name, reasons))
    return found


def all_units(session: Session) -> list[Behind]:
    """Every school, village and department of the township (what an issuer may name), three queries."""
    units = [Behind("school", i, n) for i, n in session.execute(select(School.id, School.name).order_by(School.id))]
    units += [Behind("village", i, n) for i, n in session.execute(select(Village.id, Village.name).order_by(Village.id))]
    units += [Behind("department", i, n)
              for i, n in session.execute(select(Department.id, Department.name).order_by(Department.id))]
    return units


def draft_body(found: Sequence[Behind], today: date) -> str:
    """The body a draft starts from: what was found, unit by unit, and what is asked of them."""
    day = f"{today.year}年{today.month}月{today.day}日"
    if not found:
        return (f"截至{day}，全乡镇各单位控辍保学工作均按期推进，未发现逾期事项。请各单位继续落实控辍保学责任，"
                "确保适龄儿童少年“一个都不能少”。")
    lines = [f"截至{day}，经领导小组办公室督查，以下单位控辍保学工作进度滞后，现予通报：",
             *[f"{n}. {b.name}：{b.reason}。" for n, b in enumerate(found, start=1)],
             "请被通报单位高度重视，主要负责人亲自过问，逐项查找原因，于5个工作日内完成整改，"
             "并将整改情况书面报领导小组办公室。领导小组办公室将跟踪督办，对整改不力的单位，"
             "提请纪委启动问责程序。"]
    return "\n".join(lines)


# --- draft, change ----------------------------------------------------------------------------

def _drafter(actor: Any) -> tuple[str, int | None]:
    m = actor.membership
    return m.unit_kind.value, m.unit_id


def do_draft_circular(session: Session, actor: Any, *, title: str = "", body: str = "") -> Circular:
    """A draft prefilled from what is behind now: every unit behind named with its reasons."""
    _issuer_only(actor)
    errors: dict[str, str] = {}
    title = _text(title, errors, "title", "标题", MAX_TITLE)
    body = _text(body, errors, "body", "正文", MAX_BODY)
    if errors:
        raise InvalidInput(errors)
    found = behind(session)
    kind, unit_id = _drafter(actor)
    circular = Circular(township_id=tenant_of(session).township_id, state=DRAFT, title=title or DEFAULT_TITLE,
                        body=body or draft_body(found, clock.today()), drafted_by_unit_kind=kind,
                        drafted_by_unit_id=unit_id, drafted_by_user_id=actor.user_id,
                        drafted_by_name=actor.signed_as, drafted_at=clock.now())
    session.add(circular)
    session.flush()
    session.add_all(CircularUnit(township_id=circular.township_id, circular_id=circular.id, unit_kind=b.kind,
                                 unit_id=b.id, name=b.name, reason=b.reason[:300]) for b in found)
    session.flush()
    audit.record(session, Event.DRAFTED, entity=circular, changes={
        "title": circular.title, "units": [b.key for b in found]})
    return circular


def _text(value: Any, errors: dict[str, str], name: str, label: str, limit: int, *, required: bool = False) -> str:
    text = str(value or "").strip().replace("\r\n", "\n")
    if required and not text:
        errors[name] = f"请填写通报的{label}。"
    elif len(text) > limit:
        errors[name] = f"通报的{label}不能超过 {limit} 字。"
    return text


def _unit_keys(values: Any, errors: dict[str, str], choices: dict[str, Behind]) -> list[str]:
    if isinstance(values, str):
        values = [v for v in values.split(",")]
    keys = list(dict.fromkeys(str(v).strip() for v in (values or []) if str(v).strip()))
    if not keys:
        errors["units"] = "请至少选择一个被通报的单位。"
    elif any(k not in choices for k in keys):
        errors["units"] = "被通报单位只能是本乡镇的学校、村或部门。"
    return keys


def _refuse_issued(circular: Circular) -> None:
    if circular.state == ISSUED:
        raise Conflict(detail=f"通报{circular.number}已经印发，不能再修改。如需更正，请另行起草并印发新的通报。")


def do_change_circular(session: Session, actor: Any, circular_id: int, *, title: Any, body: Any,
                       units: Iterable[str] | str) -> Circular:
    """The issuer's edit of a draft: title, body and the units named (validated whole first)."""
    circular = access_circular(session, circular_id, for_write=True)
    _issuer_only(actor)
    _refuse_issued(circular)
    errors: dict[str, str] = {}
    title = _text(title, errors, "title", "标题", MAX_TITLE, required=True)
    body = _text(body, errors, "body", "正文", MAX_BODY, required=True)
    choices = {u.key: u for u in all_units(session)}
    keys = _unit_keys(units, errors, choices)
    if errors:
        raise InvalidInput(errors)
    current = {f"{u.unit_kind}:{u.unit_id}": u for u in units_of(session, [circular.id]).get(circular.id, [])}
    reasons = {b.key: b.reason for b in behind(session)} if set(keys) - set(current) else {}
    before = {"title": circular.title, "body": circular.body, "units": sorted(current)}
    circular.title, circular.body = title, body
    for key, unit in current.items():
        if key not in keys:
            session.delete(unit)
    for key in keys:
        kind, _, unit_id = key.partition(":")
        if key in current:
            continue
        session.add(CircularUnit(township_id=circular.township_id, circular_id=circular.id, unit_kind=kind,
                                 unit_id=int(unit_id), name=choices[key].name,
                                 reason=reasons.get(key, "")[:300]))
    session.flush()
    audit.record(session, Event.CHANGED, entity=circular, changes=audit.diff(
        before, {"title": title, "body": body, "units": sorted(keys)}))
    return circular


# --- issue ------------------------------------------------------------------------------------

def _one_at_a_time(session: Session, name: str) -> None:
    from baoxue.platform.imports import one_at_a_time

    one_at_a_time(session, name)


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def content_of(circular: Circular, units: Sequence[CircularUnit]) -> dict[str, Any]:
    """What the PDF prints: the stored circular, nothing recomputed."""
    issued = circular.issued_at.astimezone(CHINA).date() if circular.issued_at else clock.today()
    return {"issuer": circular.issuer, "title": circular.title, "number": circular.number,
            "paragraphs": [p for p in circular.body.split("\n") if p.strip()],
            "units": [{"name": u.name, "kind": UNIT_LABELS.get(u.unit_kind, ""), "reason": u.reason} for u in units],
            "issued_on": cn_date(issued)}


def render_circular(content: dict[str, Any]) -> bytes:
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(PROJECT_ROOT / "templates"), autoescape=True)
    return render_pdf(env.get_template("documents/circulars/circular.html").render(c=content))


def do_issue_circular(session: Session, actor: Any, circular_id: int, *,
                      settings: Settings | None = None) -> Circular:
    """Number it in the township's series, render and store its PDF, tell the units named."""
    circular = access_circular(session, circular_id, for_write=True)
    _issuer_only(actor)
    _refuse_issued(circular)
    units = units_of(session, [circular.id]).get(circular.id, [])
    errors: dict[str, str] = {}
    _text(circular.title, errors, "title", "标题", MAX_TITLE, required=True)
    _text(circular.body, errors, "body", "正文", MAX_BODY, required=True)
    if not units:
        errors["units"] = "请至少选择一个被通报的单位，再印发。"
    if errors:
        raise InvalidInput(errors)
    township = session.scalars(select(Township).where(Township.id == circular.township_id)).one()
    now = clock.now()
    year = now.astimezone(CHINA).year
    _one_at_a_time(session, f"circular-series:{circular.township_id}:{year}")
    with township_facts(session):  # the series counts every issued circular of the township
        serial = (session.scalar(select(func.max(Circular.serial)).where(Circular.year == year)) or 0) + 1
    circular.state, circular.year, circular.serial = ISSUED, year, serial
    circular.number = circular_number(series_of(township), year, serial)
    circular.issuer = issuer_of(township)
    circular.issued_at, circular.issued_by_user_id, circular.issued_by_name = now, actor.user_id, actor.signed_as
    try:
        with session.begin_nested():  # the unique number refuses a second issue that slipped past the lock
            session.flush()
    except IntegrityError:
        raise Conflict(detail="通报编号刚刚已被占用（有人同时印发了通报），请刷新页面后重试。") from None
    circular.pdf_key = storage(settings or get_settings()).save(
        circular.township_id, FILE_KIND, render_circular(content_of(circular, units)), ".pdf")
    session.flush()
    audit.record(session, Event.ISSUED, entity=circular, changes={
        "number": circular.number, "title": circular.title,
        "units": [f"{u.unit_kind}:{u.unit_id}" for u in units]})
    _tell_the_units(session, circular, units)
    return circular


SCHOOL_LEADERS = (Role.PRINCIPAL.value, Role.ACADEMIC_OFFICE.value)


def _tell_the_units(session: Session, circular: Circular, units: Sequence[CircularUnit]) -> None:
    """Each unit named is told, in its notifications (once per circular, by its key)."""
    from baoxue.tenants.notifications.service import send
    from baoxue.tenants.worklist.service import Owner

    # A school answers through its leaders (its teachers are not named); a village or a department as a whole.
    owners = [Owner(UnitKind(u.unit_kind), u.unit_id, role) for u in units
              for role in (SCHOOL_LEADERS if u.unit_kind == UnitKind.SCHOOL.value else ("",))]
    with consequences(session):  # the units' notifications are theirs, not the issuer's
        send(session, key=f"circular:{circular.id}", to=owners, kind="circular",
             text=f"乡镇通报第{circular.serial}号（{circular.number}）点名了本单位，请查看并整改。",
             href=f"/circulars/{circular.id}")


# --- download ---------------------------------------------------------------------------------

def do_download_circular(session: Session, circular: Circular, settings: Settings | None = None) -> tuple[bytes, str]:
    """The issued circular's PDF and its file name; every download is on the record."""
    if circular.state != ISSUED or not circular.pdf_key:
        raise not_found()
    data = storage(settings or get_settings()).read(circular.township_id, circular.pdf_key)
    audit.record(session, Event.DOWNLOADED, entity=circular, changes={"number": circular.number})
    return data, f"{circular.title}（{circular.number}）.pdf"


# --- reading ----------------------------------------------------------------------------------

def circulars(session: Session, *, limit: int = 200) -> list[Circular]:
    """The reader's circulars: drafts first (an issuer's own), then the issued, newest first."""
    return list(session.scalars(select(Circular).order_by((Circular.state == DRAFT).desc(),
                                                          Circular.issued_at.desc(), Circular.id.desc())
                                .limit(limit)))


def units_of(session: Session, circular_ids: Sequence[int]) -> dict[int, list[CircularUnit]]:
    """The units each circular names (one query)."""
    found: dict[int, list[CircularUnit]] = {}
    if not circular_ids:
        return found
    for unit in session.scalars(select(CircularUnit).where(CircularUnit.circular_id.in_(sorted(set(circular_ids))))
                                .order_by(CircularUnit.id)):
        found.setdefault(unit.circular_id, []).append(unit)
    return found


@dataclass(frozen=True)
class Naming:
    circular: Circular
    unit: CircularUnit


def naming_unit(session: Session, unit_kind: str, unit_id: int | None, *,
                since: datetime | None = None) -> list[Naming]:
    """Issued circulars naming this unit (since a moment), newest first (one query)."""
    query = (select(Circular, CircularUnit).join(CircularUnit, CircularUnit.circular_id == Circular.id)
             .where(Circular.state == ISSUED, CircularUnit.unit_kind == unit_kind, CircularUnit.unit_id == unit_id))
    if since is not None:
        query = query.where(Circular.issued_at >= since)
    return [Naming(c, u) for c, u in session.execute(query.order_by(Circular.issued_at.desc()))]


def recent_since() -> datetime:
    return clock.now() - timedelta(days=RECENT_DAYS)
