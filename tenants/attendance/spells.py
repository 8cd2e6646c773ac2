"""A spell's page and the records that fulfil its steps before a case carries them.

* `do_record_contact`: a call or a visit to the family, recorded as the case file's visit (one
  register of visits), then the class's escalation runs so the step it fulfils closes at once.
* `do_file_absence_report`: the class teacher's 旷课报告单 to the school (day 3).
* `do_say_quit`: the child or the family says the child will not come back: visits are due at
  once (DOMAIN.md §6 step 3), whatever day of the run it is.
* `do_check_sick`: the class teacher confirms a long sick leave is real illness.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock, start_of
from baoxue.platform.errors import Conflict, InvalidInput
from baoxue.platform.text import field_text, normalise
from baoxue.tenants.attendance import escalation
from baoxue.tenants.attendance.events import Event
from baoxue.tenants.attendance.flows import ABSENCE_LABELS, AbsenceKind, SpellKind
from baoxue.tenants.attendance.models import AbsenceSpell, Absence
from baoxue.tenants.attendance.policy import access_spell
from baoxue.tenants.cases.flows import REASONS
from baoxue.tenants.cases.models import HomeVisit
from baoxue.tenants.worklist import service as worklist
from baoxue.tenants.worklist.models import WorkItem

MAX_TEXT = 1000


@dataclass(frozen=True)
class SpellDetail:
    spell: AbsenceSpell
    days: list[tuple[date, str, str]]  # day, kind label, note
    visits: list[HomeVisit]
    items: list[WorkItem]


def list_spells(session: Session, *, open_only: bool = True, limit: int = 200) -> list[AbsenceSpell]:
    query = select(AbsenceSpell)
    if open_only:
        query = query.where(AbsenceSpell.ended_at.is_(None))
    return list(session.scalars(query.order_by(AbsenceSpell.days.desc(), AbsenceSpell.first_day,
                                               AbsenceSpell.id).limit(limit)))


def spells_of_student(session: Session, student_id: int) -> list[AbsenceSpell]:
    return list(session.scalars(select(AbsenceSpell).where(AbsenceSpell.student_id == student_id)
                                .order_by(AbsenceSpell.first_day.desc(), AbsenceSpell.id.desc())))


def get_spell(session: Session, spell_id: int) -> SpellDetail:
    spell = access_spell(session, spell_id)
    end = spell.ended_on or clock.today()
    days = [(a.day, ABSENCE_LABELS[AbsenceKind(a.kind)], a.note) for a in session.scalars(
        select(Absence).where(Absence.student_id == spell.student_id, Absence.day >= spell.first_day,
                              Absence.day <= end).order_by(Absence.day))]
    visits = list(session.scalars(select(HomeVisit).where(
        HomeVisit.student_id == spell.student_id,
        HomeVisit.visited_at >= start_of(spell.first_day), HomeVisit.visited_at <= clock.now())
        .order_by(HomeVisit.visited_at)))
    return SpellDetail(spell, days, visits, worklist.items_about(session, escalation.SUBJECT, spell.id))


def _open(session: Session, spell_id: int, kind: str | None = None) -> AbsenceSpell:
    spell = access_spell(session, spell_id, for_write=True)
    if spell.ended_at is not None:
        raise Conflict(detail="这条缺课预警已经结束，不需要再登记。")
    if kind is not None and spell.kind != kind:
        raise Conflict(detail="这条缺课预警不需要这项记录。")
    return spell


def _note(value: Any, label: str, key: str, errors: dict[str, str], *, max_length: int = MAX_TEXT) -> str:
    return field_text(value, errors, key, label=label, max_length=max_length, multiline=True)


def _recheck(session: Session, spell: AbsenceSpell) -> None:
    escalation.check(session, class_ids=[spell.class_id] if spell.class_id is not None else [])


def do_record_contact(session: Session, actor: Any, spell_id: int, **visit: Any) -> HomeVisit:
    """A call or a visit about the spell's child (the case file's visit record)."""
    from baoxue.tenants.cases.service import do_record_visit

    spell = _open(session, spell_id)
    return do_record_visit(session, actor, spell.student_id, **visit)  # its hook closes the step


def do_file_absence_report(session: Session, actor: Any, spell_id: int, *, reason_code: str = "",
                           text: str = "") -> AbsenceSpell:
    """The 旷课报告单: the class teacher reports the run to the school, with what is known."""
    spell = _open(session, spell_id, SpellKind.RUN)
    if spell.report_filed_at is not None:
        raise Conflict(detail="旷课报告单已经提交过了。")
    errors: dict[str, str] = {}
    code = normalise(reason_code or "")
    if code and code not in REASONS:
        errors["reason_code"] = "请从列表中选择缺课原因。"
    body = _note(text, "报告内容（已联系家长的情况、了解到的原因）", "text", errors)
    if errors:
        raise InvalidInput(errors)
    spell.report_filed_at, spell.report_by = clock.now(), actor.user_id
    spell.report_reason_code, spell.report_text = code, body
    session.flush()
    audit.record(session, Event.ABSENCE_REPORT_FILED, entity=spell, changes={
        "student_id": spell.student_id, "days": spell.days, "reason_code": code})
    _recheck(session, spell)
    return spell


def do_say_quit(session: Session, actor: Any, spell_id: int, *, note: str = "") -> AbsenceSpell:
    """The child or the family said the child will quit: home visits are due today."""
    spell = _open(session, spell_id, SpellKind.RUN)
    errors: dict[str, str] = {}
    text = _note(note, "情况（谁说的、怎么说的）", "note", errors)
    if errors:
        raise InvalidInput(errors)
    if spell.quit_said_on is None:
        spell.quit_said_on = clock.today()
        session.flush()
        audit.record(session, Event.QUIT_SAID, entity=spell, changes={"student_id": spell.student_id, "note": text})
    _recheck(session, spell)
    return spell


def do_check_sick(session: Session, actor: Any, spell_id: int, *, note: str = "") -> AbsenceSpell:
    """The class teacher has checked a long sick leave (seen the certificate, called the doctor)."""
    spell = _open(session, spell_id, SpellKind.SICK)
    errors: dict[str, str] = {}
    text = _note(note, "核实情况（如：已见医院诊断证明）", "note", errors, max_length=200)
    if errors:
        raise InvalidInput(errors)
    spell.checked_at, spell.check_note = clock.now(), text
    session.flush()
    audit.record(session, Event.SICK_CHECKED, entity=spell, changes={"student_id": spell.student_id})
    _recheck(session, spell)
    return spell
