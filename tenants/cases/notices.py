"""The enforcement chain, drafted as documents (DOMAIN.md §6 step 8, §13, §14).

A township supports the documents its province's law provides for (`Township.enforcement_documents`,
in `flows.NOTICE_ORDER`): the school's 劝学通知书, the township's 责令限期复学通知书, where a
provincial rule provides for a fine the 行政处罚决定书, and last the application to the county
court for compulsory enforcement. Each is drafted from the case, numbered in the township's series
(义劝通字〔2026〕第7号) and rendered as a PDF with its Chinese font embedded.

* `do_issue_notice`: the next document of the chain. Refused (`InvalidInput` on "kind") for a
  document the township does not use, for one already issued on the case, and for a later one
  while the earlier supported document is not served or its deadline has not yet run out. The
  school (principal or academic office) issues the 劝学通知书, the township office the others
  (`Forbidden` otherwise). The field is `notice_kind` (as `change_kind` in status changes: `kind`
  already names a school's kind across the app). The number is the series' next for the year: a transaction-scoped
  advisory lock on PostgreSQL makes concurrent issues wait their turn, the unique key
  (township, series, year, serial) refuses whatever slips past as a 409, and a number is only
  ever spent by a committed transaction, so the series has no gaps.
* `do_serve_notice`: the service receipt (送达回证), once: who was served, where, how, when, by
  whom. The deadline runs from the day of service (China's calendar day): deadline_on = that day
  + deadline_days ("自送达之日起7日内": the day of service itself is not counted). The receipt is
  rendered as a PDF that states the deadline's date; the notice itself keeps the words it was
  served with ("自送达之日起N日内").
* `notice_dues`: what the chain needs of people now, for the case's worklist: serve an issued
  notice; once a served notice's deadline has passed with the case still open, issue the next
  document. The case's `reconcile_case` asks for them.

Decisions the issue leaves open (documented here, said in the report):
* One document of each kind per case; a mistaken one is not replaced here (a later issue).
* The 行政处罚决定书 needs what the platform cannot know: the provincial rule providing for the
  fine and the amount. The office gives both when it issues one (`penalty_rule`, `fine_yuan`);
  both are then part of the drafted text. Nothing is left as a placeholder in a signed document.
* The receipt is numbered with its notice's number in the 送回字 series (送回字〔2026〕第7号 serves
  义劝通字〔2026〕第7号). Its PDF key is kept in the notice's `content["receipt"]`; `receipt_key`
  is the photographed receipt with the signatures, when one is uploaded.
* Before service, the receipt PDF is a blank form to take along (rendered when asked, not stored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput, not_found
from baoxue.platform.files import storage
from baoxue.platform.labels import Field
from baoxue.platform.pdf import render_pdf
from baoxue.platform.photos import accept_photo
from baoxue.platform.permissions import Role, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.platform.settings import PROJECT_ROOT, Settings, get_settings
from baoxue.platform.text import normalise, text_refusal
from baoxue.tenants.cases.events import Event
from baoxue.tenants.cases.flows import (
    NOTICE_DEADLINE_DAYS,
    NOTICE_LABELS,
    NOTICE_ORDER,
    SERVICE_MANNERS,
    EntryKind,
    NoticeKind,
    Stage,
)
from baoxue.tenants.cases.models import Case, CaseEntry, Notice
from baoxue.tenants.cases.policy import access_case, access_notice
from baoxue.tenants.cases.timeline import CLOSED_CASE, add_entry
from baoxue.tenants.students.models import FamilyMember, Student
from baoxue.tenants.tenancy.models import School, SchoolClass, Township
from baoxue.tenants.worklist.service import Due, Owner

FILE_KIND = "notices"
SERVE_WITHIN_DAYS = 3  # an issued notice is due to be served within this many days
MAX_RECEIPT_BYTES = 10 * 1024 * 1024
RECEIPT_SERIES = "送回字"
FINE_LIMIT = 100_000  # yuan: a bound on typing mistakes, far above any provincial rule's fine
SCHOOL_ISSUERS = (Role.PRINCIPAL, Role.ACADEMIC_OFFICE)

# Where the chain's documents come from: the school issues the first, the township the rest.
SCHOOL_KINDS = frozenset({NoticeKind.PERSUASION})

_SCHOOLS = School.__table__
_CLASSES = SchoolClass.__table__
_NOTICES = Notice.__table__

# --- the law, as cited ------------------------------------------------------------------------

EDU_LAW = "《中华人民共和国义务教育法》"
PENALTY_LAW = "《中华人民共和国行政处罚法》"
COERCION_LAW = "《中华人民共和国行政强制法》"
LITIGATION_LAW = "《中华人民共和国行政诉讼法》"


@dataclass(frozen=True)
class Article:
    law: str
    article: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"law": self.law, "article": self.article, "text": self.text}


ART_5 = Article(EDU_LAW, "第五条第二款", "适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学接受并完成义务教育。")
ART_11 = Article(EDU_LAW, "第十一条第一款", "凡年满六周岁的儿童，其父母或者其他法定监护人应当送其入学接受并完成义务教育；"
                                        "条件不具备的地区的儿童，可以推迟到七周岁。")
ART_58 = Article(EDU_LAW, "第五十八条", "适龄儿童、少年的父母或者其他法定监护人无正当理由未依照本法规定送适龄儿童、少年入学接受义务教育的，"
                                     "由当地乡镇人民政府或者县级人民政府教育行政部门给予批评教育，责令限期改正。")
ART_PAY = Article(PENALTY_LAW, "第六十七条第三款", "当事人应当自收到行政处罚决定书之日起十五日内，到指定的银行或者通过电子支付系统缴纳罚款。")
ART_LATE = Article(PENALTY_LAW, "第七十二条第一款第一项", "到期不缴纳罚款的，每日按罚款数额的百分之三加处罚款，加处罚款的数额不得超出罚款的数额。")
ART_COERCE = Article(COERCION_LAW, "第五十三条", "当事人在法定期限内不申请行政复议或者提起行政诉讼，又不履行行政决定的，"
                                             "没有行政强制执行权的行政机关可以自期限届满之日起三个月内，依照本章规定申请人民法院强制执行。")
ART_REMIND = Article(COERCION_LAW, "第五十四条", "行政机关申请人民法院强制执行前，应当催告当事人履行义务。催告书送达十日后当事人仍未履行义务的，"
                                             "行政机关可以向所在地有管辖权的人民法院申请强制执行。")
ART_ENFORCE = Article(LITIGATION_LAW, "第九十七条", "公民、法人或者其他组织对行政行为在法定期限内不提起诉讼又不履行的，"
                                               "行政机关可以申请人民法院强制执行，或者依法强制执行。")

ARTICLES: dict[NoticeKind, tuple[Article, ...]] = {
    NoticeKind.PERSUASION: (ART_5, ART_11),
    NoticeKind.ORDER: (ART_5, ART_11, ART_58),
    NoticeKind.PENALTY: (ART_5, ART_11, ART_58, ART_PAY, ART_LATE),
    NoticeKind.COURT: (ART_58, ART_COERCE, ART_REMIND, ART_ENFORCE),
}


# --- small helpers ----------------------------------------------------------------------------

def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def cn_moment(moment: datetime) -> str:
    local = moment.astimezone(CHINA)
    return f"{cn_date(local.date())}{local.hour}时{local.minute:02d}分"


def notice_number(series: str, year: int, serial: int) -> str:
    return f"{series}〔{year}〕第{serial}号"


def supported_kinds(township: Township) -> tuple[NoticeKind, ...]:
    """The township's chain: the documents its setting lists, in the law's order."""
    listed = {part.strip() for part in (township.enforcement_documents or "").split(",")}
    return tuple(k for k in NOTICE_ORDER if k.value in listed)


def _kind(value: Any) -> NoticeKind | None:
    try:
        return NoticeKind(normalise(value))
    except ValueError:
        return None


def _township(session: Session, township_id: int) -> Township:
    return session.scalars(select(Township).where(Township.id == township_id)).one()


def issuer_owner(case: Case, kind: NoticeKind) -> Owner:
    """Whose work a document of `kind` is: the school's leaders, or the township office."""
    if kind in SCHOOL_KINDS:
        return Owner(UnitKind.SCHOOL, case.school_id, Role.PRINCIPAL.value)
    return Owner(UnitKind.TOWNSHIP, None, Role.OFFICE_STAFF.value)


def issuer_words(kind: NoticeKind) -> str:
    return "学生所在学校（校长或教导处）" if kind in SCHOOL_KINDS else "乡镇（领导小组办公室）"


def may_issue(actor: Any, case: Case, kind: NoticeKind) -> bool:
    """Whether the actor's membership is the unit that issues (and serves) `kind` on this case."""
    m = getattr(actor, "membership", None)
    if m is None:
        return False
    if kind in SCHOOL_KINDS:
        return m.unit_kind == UnitKind.SCHOOL and m.unit_id == case.school_id and m.role in SCHOOL_ISSUERS
    return m.unit_kind == UnitKind.TOWNSHIP and m.role == Role.OFFICE_STAFF


def _reconcile(session: Session, case: Case) -> None:
    """The case's worklist, through the case service once it offers `reconcile_case`."""
    try:
        from baoxue.tenants.cases import service as case_service
    except ModuleNotFoundError as missing:
        if missing.name != "baoxue.tenants.cases.service":
            raise
        return
    reconcile_case = getattr(case_service, "reconcile_case", None)
    if reconcile_case is not None:
        reconcile_case(session, case)


def _case_notices(session: Session, case_id: int) -> list[Notice]:
    """The case's notices in the chain's order (one of each kind at most)."""
    found = list(session.scalars(select(Notice).where(Notice.case_id == case_id).order_by(Notice.issued_at,
                                                                                          Notice.id)))
    return sorted(found, key=lambda n: (NOTICE_ORDER.index(NoticeKind(n.kind)), n.id))


# --- the chain's rule -------------------------------------------------------------------------

def chain_refusal(case: Case, notices: list[Notice], supported: tuple[NoticeKind, ...], kind: NoticeKind,
                  today: date) -> str | None:
    """Why `kind` cannot be issued on the case now (in Chinese), or None."""
    label = kind.label
    if kind not in supported:
        return f"本乡镇未启用“{label}”（所在省的法规未作规定），不能制发。如需调整，请联系系统管理员。"
    have = {NoticeKind(n.kind): n for n in notices}
    if kind in have:
        existing = have[kind]
        return f"本案已制发{label}（{notice_number(existing.series, existing.year, existing.serial)}），不能重复制发。"
    later = [k for k in have if NOTICE_ORDER.index(k) > NOTICE_ORDER.index(kind)]
    if later:
        return f"本案已制发{later[0].label}，不能再制发{label}。"
    position = supported.index(kind)
    if position == 0:
        return None
    previous = supported[position - 1]
    before = have.get(previous)
    if before is None:
        return f"须先制发并送达{previous.label}，期限届满仍未返校的，方可制发{label}。"
    if before.served_at is None or before.deadline_on is None:
        return f"{previous.label}（{notice_number(before.series, before.year, before.serial)}）尚未送达：" \
               f"请先登记送达回证，期限届满仍未返校的，方可制发{label}。"
    if today <= before.deadline_on:
        return f"{previous.label}的期限至{cn_date(before.deadline_on)}止，尚未届满；" \
               f"{cn_date(before.deadline_on + timedelta(days=1))}起仍未返校的，方可制发{label}。"
    return None


def next_kind(notices: list[Notice], supported: tuple[NoticeKind, ...]) -> NoticeKind | None:
    """The chain's next document for the case: the first supported kind not yet issued."""
    issued = {n.kind for n in notices}
    if any(k.value in issued for k in supported):
        last = max(NOTICE_ORDER.index(NoticeKind(k)) for k in issued)
        remaining = [k for k in supported if NOTICE_ORDER.index(k) > last]
    else:
        remaining = list(supported)
    return remaining[0] if remaining else None


# --- drafting ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Particulars:
    """What a document says about the child and the family, read once."""

    student_name: str
    gender: str
    birth_date: date | None
    guardian: FamilyMember
    address: str
    school: str
    class_name: str
    township: str
    county: str


def _particulars(session: Session, case: Case) -> Particulars:
    # The actor may act on the case; drafting from its child's record is a consequence of that
    # (a township office reads every child anyway; a school its own).
    with consequences(session):
        student = session.scalars(select(Student).where(Student.id == case.student_id)).first()
    school = session.scalar(select(_SCHOOLS.c.name).where(
        _SCHOOLS.c.township_id == case.township_id, _SCHOOLS.c.id == case.school_id)) or ""
    class_name = session.scalar(select(_CLASSES.c.name).where(
        _CLASSES.c.township_id == case.township_id, _CLASSES.c.id == case.class_id)) if case.class_id else ""
    township = _township(session, case.township_id)
    guardian = student.guardian if student is not None else FamilyMember()
    address = (student.address if student is not None else "") or guardian.address
    return Particulars(
        student_name=case.student_name, gender=student.gender if student is not None else "",
        birth_date=student.birth_date if student is not None else None, guardian=guardian, address=address,
        school=school, class_name=class_name or "", township=township.name, county=township.county)


def _addressee(p: Particulars) -> str:
    if not p.guardian.name:
        return f"{p.student_name}的监护人"
    relation = p.guardian.relation or "监护人"
    return f"{p.guardian.name}（{p.student_name}的{relation}）"


def _the_child(p: Particulars) -> str:
    """你（们）的被监护人张三（男，2012年3月5日出生），系板当中学七年级（1）班学生"""
    about = "，".join(x for x in (p.gender, f"{cn_date(p.birth_date)}出生" if p.birth_date else "") if x)
    return f"{p.student_name}{f'（{about}）' if about else ''}，系{p.school}{p.class_name}学生"


def _since(case: Case) -> str:
    return f"自{cn_date(case.first_absent_on)}起" if case.first_absent_on else "近期"


def _history(earlier: list[Notice]) -> list[dict[str, str]]:
    return [{"title": NoticeKind(n.kind).label, "number": notice_number(n.series, n.year, n.serial),
             "issuer": str((n.content or {}).get("issuer", "")),
             "served_on": cn_date(china_day(n.served_at)) if n.served_at else "",
             "deadline_on": cn_date(n.deadline_on)} for n in earlier]


def _history_sentence(history: list[dict[str, str]]) -> str:
    """2026年11月3日，板当中学向你（们）送达《劝学通知书》（…），限期至2026年11月10日；…"""
    said = [f"{h['served_on']}，{h['issuer']}向你（们）送达《{h['title']}》（{h['number']}），限期至{h['deadline_on']}"
            for h in history if h["served_on"]]
    return "；".join(said) + "。你（们）在期限内未送被监护人返校，亦无正当理由。" if said else ""


def draft(case: Case, kind: NoticeKind, p: Particulars, earlier: list[Notice], *, number: str, issued_on: date,
          deadline_days: int, supported: tuple[NoticeKind, ...], penalty_rule: str = "",
          fine_yuan: int | None = None) -> dict[str, Any]:
    """What the document says, as drafted from the case: stored on the notice, rendered to its PDF."""
    government = f"{p.township}人民政府"
    issuer = p.school if kind in SCHOOL_KINDS else government
    deadline_text = f"自送达之日起{deadline_days}日内"
    history = _history(earlier)
    child = _the_child(p)
    since = _since(case)
    paragraphs: list[str]
    title = kind.label
    if kind == NoticeKind.PERSUASION:
        paragraphs = [
            f"你（们）的被监护人{child}，{since}未到校上学。经学校多次联系、家访劝返，至今仍未返校。",
            f"依照{EDU_LAW}第五条第二款、第十一条第一款的规定，送适龄子女入学接受并完成义务教育，"
            "是父母或者其他法定监护人的法定义务。",
            f"请你（们）{deadline_text}送被监护人{p.student_name}到{p.school}返校复学。",
            f"逾期仍不送被监护人返校的，学校将报告{government}，由{government}依照{EDU_LAW}第五十八条的规定"
            "给予批评教育，责令限期改正。",
        ]
    elif kind == NoticeKind.ORDER:
        further = "依法给予行政处罚，并申请人民法院强制执行" if NoticeKind.PENALTY in supported else "依法申请人民法院强制执行"
        paragraphs = [
            f"你（们）的被监护人{child}，{since}未到校上学。{_history_sentence(history)}",
            f"你（们）的上述行为违反了{EDU_LAW}第五条第二款、第十一条第一款的规定。依照{EDU_LAW}第五十八条的规定，"
            f"本机关对你（们）给予批评教育，并责令你（们）{deadline_text}送被监护人{p.student_name}到{p.school}复学。",
            f"逾期仍不送被监护人返校的，本机关将{further}。",
        ]
    elif kind == NoticeKind.PENALTY:
        paragraphs = [
            f"经查：你（们）的被监护人{child}，{since}未到校上学。{_history_sentence(history)}",
            f"以上事实有{'、'.join('《' + h['title'] + '》' for h in history) or '相关通知书'}及其送达回证、家访劝返记录等证据证实。",
            f"你（们）的上述行为违反了{EDU_LAW}第五条第二款、第十一条第一款的规定。依照{EDU_LAW}第五十八条和"
            f"{penalty_rule}的规定，本机关决定：",
            f"一、责令你（们）{deadline_text}送被监护人{p.student_name}到{p.school}复学；",
            f"二、处罚款人民币{fine_yuan}元。",
            f"罚款自收到本决定书之日起十五日内缴纳，缴款方式由本机关另行告知。到期不缴纳罚款的，依照{PENALTY_LAW}"
            "第七十二条第一款第一项的规定，每日按罚款数额的百分之三加处罚款。",
            f"如不服本决定，可以自收到本决定书之日起六十日内向{p.county}人民政府申请行政复议，或者自收到本决定书之日起"
            f"六个月内直接向{p.county}人民法院提起行政诉讼。逾期不申请行政复议、不提起行政诉讼又不履行本决定的，"
            "本机关将依法申请人民法院强制执行。",
        ]
    else:  # the application to the court
        decided = history[-1] if history else {"title": "责令限期复学通知书", "number": ""}
        paragraphs = [
            f"申请人：{government}。",
            f"被申请人：{_addressee(p)}{f'，住{p.address}' if p.address else ''}。",
            f"申请事项：请求依法强制执行申请人作出的《{decided['title']}》（{decided['number']}）。",
            f"事实与理由：被申请人的被监护人{child}，{since}未到校上学。{_history_sentence(history)}",
            f"被申请人在法定期限内未申请行政复议，也未提起行政诉讼，又不履行上述决定。依照{COERCION_LAW}第五十三条、"
            f"第五十四条和{LITIGATION_LAW}第九十七条的规定，特向贵院申请强制执行。",
        ]
    articles = [a.as_dict() for a in ARTICLES[kind]]
    if kind == NoticeKind.PENALTY:
        articles.insert(3, {"law": "", "article": penalty_rule, "text": "（省级法规关于罚款的规定，由乡镇制发时写明。）"})
    return {
        "kind": kind.value, "title": title, "number": number, "issuer": issuer,
        "addressee": f"{p.county}人民法院" if kind == NoticeKind.COURT else _addressee(p),
        "closing": "此致" if kind == NoticeKind.COURT else "",
        "student_name": p.student_name, "gender": p.gender, "birth_date": cn_date(p.birth_date),
        "guardian_name": p.guardian.name, "guardian_relation": p.guardian.relation, "address": p.address,
        "school": p.school, "class_name": p.class_name, "township": p.township, "county": p.county,
        "first_absent_on": cn_date(case.first_absent_on), "issued_on": cn_date(issued_on),
        "deadline_days": deadline_days, "deadline_text": deadline_text, "paragraphs": paragraphs,
        "articles": articles, "history": history, "penalty_rule": penalty_rule, "fine_yuan": fine_yuan,
    }


# --- rendering --------------------------------------------------------------------------------

def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader

    return Environment(loader=FileSystemLoader(PROJECT_ROOT / "templates"), autoescape=True)


def render_notice(content: dict[str, Any]) -> bytes:
    return render_pdf(_environment().get_template("documents/notices/notice.html").render(c=content))


def receipt_content(notice: Notice, served: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the receipt says: blank where it is filled in by hand before the service is recorded."""
    number = notice_number(notice.series, notice.year, notice.serial)
    content = notice.content or {}
    blank = {"served_to": "", "place": "", "manner": "", "served_at": "", "server_names": "", "witnesses": "",
             "remark": "", "deadline_on": "", "deadline_note": ""}
    return {
        "number": notice_number(RECEIPT_SERIES, notice.year, notice.serial),
        "document": f"{NoticeKind(notice.kind).label}（{number}）",
        "issuer": content.get("issuer", ""), "addressee": content.get("addressee", ""),
        "issued_on": content.get("issued_on", ""), "manners": list(SERVICE_MANNERS),
        **blank, **(served or {}),
    }


def render_receipt(receipt: dict[str, Any]) -> bytes:
    return render_pdf(_environment().get_template("documents/notices/receipt.html").render(r=receipt))


# --- issue ------------------------------------------------------------------------------------

def _penalty_fields(penalty_rule: Any, fine_yuan: Any, errors: dict[str, str]) -> tuple[str, int | None]:
    rule = normalise(penalty_rule)
    if problem := text_refusal(rule, label="罚款依据（省级法规名称及条款）", max_length=200):
        errors["penalty_rule"] = problem
    fine = fine_yuan
    if isinstance(fine, str) and fine.strip().isdigit():
        fine = int(fine.strip())
    if not isinstance(fine, int) or isinstance(fine, bool) or not 1 <= fine <= FINE_LIMIT:
        errors["fine_yuan"] = f"请填写罚款金额（元），1 至 {FINE_LIMIT} 之间的整数。"
        fine = None
    return rule, fine


def do_issue_notice(session: Session, actor: Any, case_id: int, kind: Any, *, penalty_rule: str = "",
                    fine_yuan: Any = None, settings: Settings | None = None) -> Notice:
    """Issue the chain's next document on the case: numbered, drafted, rendered, on the timeline."""
    case = access_case(session, case_id, for_write=True)
    if case.stage == Stage.CLOSED:
        raise Conflict(detail=CLOSED_CASE)
    parsed = _kind(kind)
    if parsed is None:
        raise InvalidInput({"notice_kind": "请选择要制发的文书：" + "、".join(NOTICE_LABELS.values()) + "。"})
    township = _township(session, case.township_id)
    supported = supported_kinds(township)
    if parsed in supported and not may_issue(actor, case, parsed):
        raise Forbidden(detail=f"{parsed.label}由{issuer_words(parsed)}制发，您当前的身份不能制发。")
    notices = _case_notices(session, case.id)
    now = clock.now()
    errors: dict[str, str] = {}
    if refusal := chain_refusal(case, notices, supported, parsed, china_day(now)):
        errors["notice_kind"] = refusal
    rule, fine = ("", None)
    if parsed == NoticeKind.PENALTY:
        rule, fine = _penalty_fields(penalty_rule, fine_yuan, errors)
    if errors:
        raise InvalidInput(errors)

    year = china_day(now).year
    series = township.notice_series or "义劝通字"
    _one_at_a_time(session, f"notice-series:{case.township_id}:{series}:{year}")
    serial = (session.scalar(select(func.max(_NOTICES.c.serial)).where(
        _NOTICES.c.township_id == case.township_id, _NOTICES.c.series == series, _NOTICES.c.year == year)) or 0) + 1
    number = notice_number(series, year, serial)
    deadline_days = NOTICE_DEADLINE_DAYS[parsed]
    earlier = [n for n in notices if n.served_at is not None]
    content = draft(case, parsed, _particulars(session, case), earlier, number=number, issued_on=china_day(now),
                    deadline_days=deadline_days, supported=supported, penalty_rule=rule, fine_yuan=fine)
    notice = Notice(township_id=case.township_id, case_id=case.id, kind=parsed.value, series=series, year=year,
                    serial=serial, issued_at=now, issued_by=actor.user_id, deadline_days=deadline_days,
                    content=content)
    try:
        # A savepoint: the unique number refuses a second issue that slipped past the lock (SQLite).
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:
        raise Conflict(detail="文书编号刚刚已被占用（有人同时制发了文书），请刷新页面后重试。") from None
    notice.pdf_key = storage(settings or get_settings()).save(case.township_id, FILE_KIND, render_notice(content),
                                                              ".pdf")
    session.flush()
    add_entry(session, case, EntryKind.NOTICE_ISSUED, actor, occurred_at=now, notice_id=notice.id,
              summary=f"制发{parsed.label}（{number}），限{content['deadline_text']}。",
              details={"kind": parsed.value, "number": number, "deadline_days": deadline_days})
    audit.record(session, Event.NOTICE_ISSUED, entity=notice, changes={
        "case_id": case.id, "kind": parsed.value, "number": number, "deadline_days": deadline_days,
        **({"penalty_rule": rule, "fine_yuan": fine} if parsed == NoticeKind.PENALTY else {})})
    _reconcile(session, case)
    return notice


def _one_at_a_time(session: Session, name: str) -> None:
    from baoxue.platform.imports import one_at_a_time

    one_at_a_time(session, name)


# --- serve ------------------------------------------------------------------------------------

def _served_moment(value: Any) -> datetime | None:
    """A moment from the API (aware or naive) or a form's datetime-local ("2026-11-03T15:20"); naive is China's."""
    if isinstance(value, str):
        text = value.strip().replace(" ", "T")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?", text):
            return None
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=CHINA) if value.tzinfo is None else value


def do_serve_notice(session: Session, actor: Any, notice_id: int, served_at: Any, served_to: Any, place: Any,
                    manner: Any, server_names: Any, receipt_photo: bytes | None = None, *, witnesses: Any = "",
                    remark: Any = "", settings: Settings | None = None) -> Notice:
    """Record the service receipt (送达回证) once; the deadline runs from the day of service."""
    notice = access_notice(session, notice_id, for_write=True)
    case = access_case(session, notice.case_id, for_write=True)
    kind = NoticeKind(notice.kind)
    if case.stage == Stage.CLOSED:
        raise Conflict(detail=CLOSED_CASE)
    if notice.served_at is not None:
        raise Conflict(detail=f"该文书已于{cn_moment(notice.served_at)}登记送达，送达回证不能重复登记。")
    if not may_issue(actor, case, kind):
        raise Forbidden(detail=f"{kind.label}的送达由{issuer_words(kind)}登记，您当前的身份不能登记。")

    errors: dict[str, str] = {}
    moment = _served_moment(served_at)
    now = clock.now()
    if moment is None:
        errors["served_at"] = "请填写送达时间（日期和时刻）。"
    elif moment < notice.issued_at.replace(second=0, microsecond=0):
        errors["served_at"] = f"送达时间不能早于文书制发时间（{cn_moment(notice.issued_at)}）。"
    elif moment > now + timedelta(minutes=1):
        errors["served_at"] = "送达时间不能晚于现在。"
    texts = {}
    for name, value, label, limit, required in (
            ("served_to", served_to, "受送达人", 64, True), ("place", place, "送达地点", 200, True),
            ("server_names", server_names, "送达人", 200, True), ("witnesses", witnesses, "见证人", 200, False),
            ("remark", remark, "备注", 500, False)):
        texts[name] = normalise(value)
        if problem := text_refusal(texts[name], label=label, max_length=limit, required=required,
                                   multiline=name == "remark"):
            errors[name] = problem
    manner_text = normalise(manner)
    if manner_text not in SERVICE_MANNERS:
        errors["manner"] = "请选择送达方式：" + "、".join(SERVICE_MANNERS) + "。"
    elif manner_text == "留置送达" and not texts["witnesses"] and "witnesses" not in errors:
        errors["witnesses"] = "留置送达须写明到场见证人（如村委会干部）的姓名。"
    photo: tuple[bytes, str] | None = None
    if receipt_photo is not None:
        try:
            photo = _receipt_file(receipt_photo)
        except InvalidInput as refused:
            errors.update(refused.errors)
    if errors:
        raise InvalidInput(errors)
    assert moment is not None

    store = storage(settings or get_settings())
    served_day = china_day(moment)
    notice.served_at = moment
    notice.served_to, notice.served_place = texts["served_to"], texts["place"]
    notice.served_manner, notice.server_names = manner_text, texts["server_names"]
    notice.deadline_on = served_day + timedelta(days=notice.deadline_days)
    if photo is not None:
        notice.receipt_key = store.save(case.township_id, FILE_KIND, *photo)
    receipt = receipt_content(notice, {
        "served_to": notice.served_to, "place": notice.served_place, "manner": notice.served_manner,
        "served_at": cn_moment(moment), "server_names": notice.server_names, "witnesses": texts["witnesses"],
        "remark": texts["remark"], "deadline_on": cn_date(notice.deadline_on),
        "deadline_note": f"{notice.content.get('deadline_text', '')}，即至{cn_date(notice.deadline_on)}止"})
    receipt["pdf_key"] = store.save(case.township_id, FILE_KIND, render_receipt(receipt), ".pdf")
    notice.content = {**notice.content, "receipt": receipt}
    session.flush()
    number = notice_number(notice.series, notice.year, notice.serial)
    add_entry(session, case, EntryKind.NOTICE_SERVED, actor, occurred_at=moment, notice_id=notice.id,
              summary=f"{kind.label}（{number}）{manner_text}给{notice.served_to}，"
                      f"期限至{cn_date(notice.deadline_on)}止。",
              details={"kind": kind.value, "number": number, "manner": manner_text,
                       "deadline_on": notice.deadline_on.isoformat()})
    audit.record(session, Event.NOTICE_SERVED, entity=notice, changes={
        "case_id": case.id, "number": number, "served_at": moment, "served_to": notice.served_to,
        "manner": manner_text, "deadline_on": notice.deadline_on, "receipt_photo": bool(notice.receipt_key)})
    _reconcile(session, case)
    return notice


def _receipt_file(data: bytes) -> tuple[bytes, str]:
    """The photographed (or scanned) signed receipt: a PDF as sent, a picture cleaned by
    platform/photos.py (taken at the family's home: its EXIF and GPS position go)."""
    if data.startswith(b"%PDF-"):
        if len(data) > MAX_RECEIPT_BYTES:
            raise InvalidInput({"receipt_photo": f"送达回证扫描件不能超过 {MAX_RECEIPT_BYTES // (1024 * 1024)} MB。"})
        return data, ".pdf"
    accepted = accept_photo(data, field="receipt_photo", max_bytes=MAX_RECEIPT_BYTES)
    return accepted.data, accepted.suffix


# --- downloads --------------------------------------------------------------------------------

def do_download_notice(session: Session, notice: Notice, which: str = "notice",
                       settings: Settings | None = None) -> tuple[bytes, str]:
    """A notice's PDF, its receipt's (blank before service), or the photographed receipt: (bytes, file name).

    A family's names and address are in them: every download is on the record.
    """
    number = notice_number(notice.series, notice.year, notice.serial)
    store = storage(settings or get_settings())
    title = NoticeKind(notice.kind).label
    if which == "notice":
        if not notice.pdf_key:
            raise not_found()
        data, name = store.read(notice.township_id, notice.pdf_key), f"{title}{number}.pdf"
    elif which == "receipt":
        key = (notice.content or {}).get("receipt", {}).get("pdf_key", "")
        data = store.read(notice.township_id, key) if key else render_receipt(receipt_content(notice))
        name = f"送达回证{notice_number(RECEIPT_SERIES, notice.year, notice.serial)}.pdf"
    elif which == "photo":
        if not notice.receipt_key:
            raise not_found()
        suffix = "." + notice.receipt_key.rsplit(".", 1)[-1]
        data, name = store.read(notice.township_id, notice.receipt_key), f"送达回证（签收）{number}{suffix}"
    else:
        raise not_found()
    audit.record(session, Event.NOTICE_DOWNLOADED, entity=notice,
                 changes={"case_id": notice.case_id, "number": number, "file": which})
    return data, name


# --- the worklist -----------------------------------------------------------------------------

def notice_dues(session: Session, case: Case, notices: list[Notice] | None = None) -> list[Due]:
    """What the chain needs of people now (for `reconcile_case`): one query, none if `notices` given.

    * the latest notice issued and not served: serve it (its issuing unit), due in SERVE_WITHIN_DAYS;
    * the latest served notice whose deadline has passed, the case still open: issue the next
      supported document (the township office; the school for a 劝学通知书), shown and due the day
      after the deadline. Issuing it closes the item (the notice is no longer the latest);
    * a case in legal enforcement (依法控辍) with no document yet: issue the chain's first.
    """
    if case.stage == Stage.CLOSED:
        return []
    found = _case_notices(session, case.id) if notices is None else notices
    if not found:
        return _first_due(session, case)
    latest = found[-1]
    kind = NoticeKind(latest.kind)
    number = notice_number(latest.series, latest.year, latest.serial)
    href = f"/cases/{case.id}#notices"
    if latest.served_at is None:
        issued_on = china_day(latest.issued_at)
        return [Due(kind="cases:notice:serve", title=f"送达{kind.label}（{case.student_name}，{number}）", href=href,
                    owner=issuer_owner(case, kind), due_on=issued_on + timedelta(days=SERVE_WITHIN_DAYS),
                    shows_from=issued_on)]
    township = _township(session, case.township_id)
    following = next_kind(found, supported_kinds(township))
    if following is None or latest.deadline_on is None:
        return []
    day_after = latest.deadline_on + timedelta(days=1)
    return [Due(kind="cases:notice:next",
                title=f"{case.student_name}：{kind.label}期限已过仍未返校，请制发{following.label}", href=href,
                owner=issuer_owner(case, following), due_on=day_after, shows_from=day_after)]


def _first_due(session: Session, case: Case) -> list[Due]:
    """A case moved to legal enforcement (依法控辍) without a document yet: issue the chain's first."""
    if case.stage != Stage.ENFORCING:
        return []
    chain = supported_kinds(_township(session, case.township_id))
    if not chain:
        return []
    moved = session.scalar(select(func.max(CaseEntry.occurred_at)).where(
        CaseEntry.case_id == case.id, CaseEntry.kind == EntryKind.STAGE.value)) or case.opened_at
    since = china_day(moved)
    return [Due(kind="cases:notice:next", title=f"{case.student_name}：依法控辍，请制发{chain[0].label}",
                href=f"/cases/{case.id}#notices", owner=issuer_owner(case, chain[0]),
                due_on=since + timedelta(days=SERVE_WITHIN_DAYS), shows_from=since)]


# --- reads for the case page ------------------------------------------------------------------

@dataclass(frozen=True)
class NoticeView:
    notice: Notice

    @property
    def id(self) -> int:
        return self.notice.id

    @property
    def kind_label(self) -> str:
        return NoticeKind(self.notice.kind).label

    @property
    def number(self) -> str:
        return notice_number(self.notice.series, self.notice.year, self.notice.serial)

    @property
    def receipt_number(self) -> str:
        return notice_number(RECEIPT_SERIES, self.notice.year, self.notice.serial)

    @property
    def served(self) -> bool:
        return self.notice.served_at is not None

    @property
    def deadline_text(self) -> str:
        return str((self.notice.content or {}).get("deadline_text", ""))

    @property
    def overdue(self) -> bool:
        """The deadline has passed (the case being open is the caller's to know)."""
        return self.notice.deadline_on is not None and self.notice.deadline_on < clock.today()


def notices_of(session: Session, case_id: int) -> list[NoticeView]:
    """The case's notices in the chain's order (one query)."""
    return [NoticeView(n) for n in _case_notices(session, case_id)]


@dataclass(frozen=True)
class NoticePanel:
    """What the case page's notices section shows (templates/cases/_notices.html)."""

    case: Case
    rows: list[NoticeView]
    chain: tuple[NoticeKind, ...]  # the township's supported documents, in order
    next_kind: NoticeKind | None
    can_issue: bool  # the actor may issue the next document now
    blocked: str  # why the next document cannot be issued yet ("" when it can, or there is none)
    may_serve: frozenset[int]  # ids of unserved notices the actor may record the service of
    manners: tuple[str, ...] = SERVICE_MANNERS
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    form_notice_id: int | None = None  # the notice whose service form the errors belong to

    @property
    def chain_labels(self) -> str:
        return " → ".join(k.label for k in self.chain)

    @property
    def open(self) -> bool:
        return self.case.stage != Stage.CLOSED


def notice_panel(session: Session, actor: Any, case: Case, *, errors: dict[str, str] | None = None,
                 values: dict[str, Any] | None = None, form_notice_id: int | None = None) -> NoticePanel:
    """The notices section of a case's page for this actor: two queries."""
    notices = _case_notices(session, case.id)
    chain = supported_kinds(_township(session, case.township_id))
    following = next_kind(notices, chain)
    blocked, can_issue = "", False
    if following is not None and case.stage != Stage.CLOSED:
        blocked = chain_refusal(case, notices, chain, following, clock.today()) or ""
        can_issue = not blocked and may_issue(actor, case, following)
        if not blocked and not can_issue:
            blocked = f"{following.label}由{issuer_words(following)}制发。"
    may_serve = frozenset(n.id for n in notices if n.served_at is None and case.stage != Stage.CLOSED
                          and may_issue(actor, case, NoticeKind(n.kind)))
    return NoticePanel(case=case, rows=[NoticeView(n) for n in notices], chain=chain, next_kind=following,
                       can_issue=can_issue, blocked=blocked, may_serve=may_serve, errors=errors or {},
                       values=values or {}, form_notice_id=form_notice_id)


# The Chinese names of the fields these actions read and audit (merged by the case concept's
# schemas.FIELDS: `FIELDS = {..., **notices.FIELDS}`).
FIELDS: dict[str, Field | str] = {
    "notice_id": "文书",
    "notice_kind": Field("文书种类", values={str(k): v for k, v in NOTICE_LABELS.items()}),
    "notices.kind": Field("文书种类", values={str(k): v for k, v in NOTICE_LABELS.items()}),
    "notices.number": "文书编号",
    "notices.file": Field("文件", values={"notice": "文书", "receipt": "送达回证", "photo": "送达回证（签收）照片"}),
    "penalty_rule": "罚款依据（省级法规名称及条款）",
    "fine_yuan": "罚款金额（元）",
    "deadline_days": "期限（日，自送达之日起）",
    "served_at": "送达时间",
    "served_to": "受送达人",
    "place": "送达地点",
    "manner": "送达方式",
    "server_names": "送达人",
    "witnesses": "见证人",
    "remark": "备注",
    "receipt_photo": "送达回证（签收）照片",
    "deadline_on": "期限届满日",
}
