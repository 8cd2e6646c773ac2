"""四查三比对: the township's lists against every roll of the deployment, by ID number.

1. The census and the household register (the children aged 6–15 on the reference day, by the
   ID's birth date) against the rolls: on a roll here (counted), elsewhere in the deployment
   (`elsewhere`: the village is told only "已在外乡镇就读"), on a roll here and in another
   township (`twice`: the school here checks), on none (`nowhere`: a case opens for the village
   and the school; a child registered here but living away is `away`, to be verified, not a
   case). A child whose record here says they left lawfully (graduated, transferred out, died)
   is accounted for.
2. The rolls against the lists: a record here that no list of the deployment knows is a 空挂
   ("ghost") record for its school to verify; judged only where a list exists to judge by (the
   register, or the child's village's census).
3. The cases (suspected and confirmed dropouts, and those just opened) against the poverty list:
   the families to aid first are marked on their cases.

Only the exceptions are stored (`CensusFinding`, replaced by each run); the counts are on the
run. Another township's rolls are reached only through `crosscheck.enrolment_check`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock, utcnow
from baoxue.platform.db import tenant_of
from baoxue.platform.identity import JobActor
from baoxue.platform.permissions import Role, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.tenants.cases import service as cases
from baoxue.tenants.cases.models import Case
from baoxue.tenants.census.crosscheck import ON_A_ROLL, enrolment_check, listed_exceptions
from baoxue.tenants.census.events import Event
from baoxue.tenants.census.models import FINDINGS, CensusChild, CensusFinding, CensusRun, PovertyHousehold
from baoxue.tenants.census.service import reference_day, school_age_births
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.idnumbers import gender_of, student_number_for
from baoxue.tenants.students.models import FamilyMember, Student
from baoxue.tenants.tenancy.models import School, Village
from baoxue.tenants.worklist import service as worklist
from baoxue.tenants.worklist.models import WorkItem

ACCOUNTED = frozenset({"07", "08", "10", "11", "13"})  # 毕业, 结业, 转出, 死亡, 公派出国: lawfully elsewhere
NOT_ENROLLED = "99"  # 其他: a child the census found who never had a record; the central school enrols them
SUBJECT = "census"  # worklist subject: a record of a roll (students.id) the comparison asks about
COUNTED = ("listed", "here", "accounted", "cases_opened", *FINDINGS)  # what a run counts, zeros included
CHECK_DAYS = 5  # school days a school has to verify a record on two rolls or a ghost


SIGNED_AS = "系统（文化户口比对）"  # the run, for the person who ran it or whoever listed the child


@dataclass
class _Listed:
    id_number: str
    name: str
    birth_date: date
    village_id: int | None
    village_group: str
    guardian_name: str
    guardian_id_number: str
    lives_here: bool
    entered_by: int
    sources: set[str]


def run(session: Session, key: str, *, ran_by: int | None = None, day: date | None = None) -> CensusRun:
    """Compare once per key (a repeat answers the first run); the caller has authorized it."""
    done = session.scalar(select(CensusRun).where(CensusRun.job_key == key))
    if done is not None:
        return done
    with consequences(session):
        return _run(session, key, ran_by, day or reference_day())


def _run(session: Session, key: str, ran_by: int | None, day: date) -> CensusRun:
    township_id = tenant_of(session).township_id
    earliest, latest = school_age_births(day)
    # The bulk (children where they should be) is only counted; the exceptions are read in full.
    total, listed_answers = listed_exceptions(session, earliest, latest)
    exceptions = {number: answer.enrolled for number, answer in listed_answers.items()}
    counts: Counter[str] = Counter(listed=total, here=total - len(exceptions))
    unlisted = _unlisted_pupils(session)
    roll_answers = enrolment_check(session, [r.id_number for r in unlisted])
    children = _listed(session, list(exceptions), earliest, latest)
    twins = dict(session.execute(select(Student.id_number, Student).where(
        Student.id_number.in_([n for n, e in exceptions.items() if e == "both"]),
        Student.status.in_(ON_A_ROLL))).all()) if "both" in exceptions.values() else {}
    found: list[dict[str, Any]] = []
    nowhere: list[_Listed] = []
    for number, enrolled in exceptions.items():
        child = children[number]
        if enrolled == "both":
            mine = twins[number]
            found.append(_finding("twice", child, school_id=mine.school_id, student_id=mine.id))
        elif enrolled == "elsewhere":
            found.append(_finding("elsewhere", child))
        else:
            nowhere.append(child)
    found += _nowhere(session, nowhere, counts, ran_by)
    found += _ghosts(session, unlisted, roll_answers)
    _mark_priority(session, found)
    counts.update(f["kind"] for f in found)
    session.execute(delete(CensusFinding))
    run = CensusRun(township_id=township_id, job_key=key, reference_day=day, ran_by=ran_by, ran_at=utcnow(),
                    counts={key: counts[key] for key in COUNTED})
    session.add(run)
    session.flush()
    session.add_all(CensusFinding(township_id=township_id, run_id=run.id, **f) for f in found)
    _worklist(session, found)
    audit.record(session, Event.RECONCILED, entity=run, changes={"reference_day": day, **counts})
    session.flush()
    return run


def _unlisted_pupils(session: Session) -> list[Any]:
    """Pupils on a roll here whom no list of the township names, at any age (possible 空挂 records)."""
    listed = select(CensusChild.id).where(CensusChild.id_number == Student.id_number)
    return session.execute(select(Student.id, Student.id_number, Student.school_id, Student.name,
                                  Student.birth_date, Student.residence_village_id)
                           .where(Student.status.in_(ON_A_ROLL), Student.id_number.is_not(None),
                                  ~listed.exists())).all()


def _listed(session: Session, numbers: list[str], earliest: date, latest: date) -> dict[str, _Listed]:
    """These school-age children as the lists name them, one each (the census's row first)."""
    listed: dict[str, _Listed] = {}
    for start in range(0, len(numbers), 5_000):
        rows = session.execute(select(
            CensusChild.source, CensusChild.id_number, CensusChild.name, CensusChild.birth_date,
            CensusChild.village_id, CensusChild.village_group, CensusChild.guardian_name,
            CensusChild.guardian_id_number, CensusChild.lives_here, CensusChild.entered_by)
            .where(CensusChild.id_number.in_(numbers[start:start + 5_000]),
                   CensusChild.birth_date.between(earliest, latest))
            .order_by(CensusChild.source))  # "census" before "register"
        for source, number, name, born, village_id, group, guardian, guardian_id, lives_here, by in rows:
            child = listed.get(number)
            if child is None:
                listed[number] = _Listed(number, name, born, village_id, group, guardian, guardian_id, lives_here,
                                         by, {source})
            else:
                child.sources.add(source)
                child.village_id = child.village_id or village_id
                child.guardian_id_number = child.guardian_id_number or guardian_id
    return listed


def _finding(kind: str, child: _Listed, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "id_number": child.id_number, "name": child.name, "birth_date": child.birth_date,
            "village_id": child.village_id, "village_group": child.village_group,
            "guardian_name": child.guardian_name, "sources": ",".join(sorted(child.sources)),
            "school_id": None, "student_id": None, "case_id": None, **more}


def _nowhere(session: Session, children: list[_Listed], counts: Counter[str], ran_by: int | None) -> list[dict[str, Any]]:
    """Children on no roll: accounted for, away, or a case (the child's record here, or a new one)."""
    records = {s.id_number: s for s in session.scalars(select(Student).where(
        Student.id_number.in_([c.id_number for c in children])))} if children else {}
    open_cases = dict(session.execute(select(Case.student_id, Case.id).where(
        Case.student_id.in_([s.id for s in records.values()]), Case.stage != "closed")).all()) if records else {}
    central = _central_school(session)
    villages = dict(session.execute(select(Village.id, Village.name)).all())
    found = []
    for child in children:
        record = records.get(child.id_number)
        if record is not None and record.status in ACCOUNTED:
            counts["accounted"] += 1
            continue
        if not child.lives_here:
            found.append(_finding("away", child, school_id=record.school_id if record else None,
                                  student_id=record.id if record else None))
            continue
        if record is None:
            if central is None:
                found.append(_finding("nowhere", child))
                continue
            record = _enrol_found(session, child, central)
        case_id = open_cases.get(record.id)
        if case_id is None:
            place = f"{villages.get(child.village_id, '')}{child.village_group}"
            never = "从未入学" if record.status == NOT_ENROLLED else "学籍状态为已离校"
            note = (f"文化户口比对：{place}的适龄儿童{child.name}（{child.birth_date:%Y年%m月}生）"
                    f"未在任何学校就读（{never}），认定为疑似辍学，由村委会与学校共同劝返。")
            case_id = cases.open_from_census(session, JobActor(ran_by or child.entered_by, SIGNED_AS), record.id, note=note).id
            counts["cases_opened"] += 1
        found.append(_finding("nowhere", child, school_id=record.school_id, student_id=record.id, case_id=case_id))
    return found


def _central_school(session: Session) -> School | None:
    """Where a child found on no roll is placed: the central school (中心校), else the first school."""
    schools = list(session.scalars(select(School).order_by(School.id)))
    return next((s for s in schools if s.kind == "central_primary"), schools[0] if schools else None)


def _enrol_found(session: Session, child: _Listed, school: School) -> Student:
    """A record for a child who never had one, on the central school's roll with no class yet:
    the case and the school's enrolment start from it (status 其他 until they are placed)."""
    guardian = FamilyMember(name=child.guardian_name, relation="监护人", is_guardian=bool(child.guardian_name),
                            id_type="1" if child.guardian_id_number else "", id_number=child.guardian_id_number)
    student = Student(township_id=tenant_of(session).township_id, school_id=school.id, class_id=None,
                      residence_village_id=child.village_id, name=child.name, gender=gender_of(child.id_number),
                      birth_date=child.birth_date, id_type="1", id_number=child.id_number,
                      student_number=student_number_for(child.id_number), status=NOT_ENROLLED, family1=guardian)
    session.add(student)
    session.flush()
    return student


def _ghosts(session: Session, unlisted: list[Any], answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Pupils no list of the deployment knows, where a list exists to judge by (the register, or
    the child's village's census)."""
    with_census = set(session.scalars(select(CensusChild.village_id).where(CensusChild.source == "census").distinct()))
    register = session.scalar(select(CensusChild.id).where(CensusChild.source == "register").limit(1)) is not None
    found = []
    for r in unlisted:
        answer = answers.get(r.id_number)
        if answer is not None and answer.listed_elsewhere:
            continue
        if not register and r.residence_village_id not in with_census:
            continue
        found.append({"kind": "ghost", "id_number": r.id_number, "name": r.name, "birth_date": r.birth_date,
                      "village_id": r.residence_village_id, "village_group": "", "guardian_name": "", "sources": "",
                      "school_id": r.school_id, "student_id": r.id, "case_id": None})
    return found


def _mark_priority(session: Session, found: list[dict[str, Any]]) -> None:
    """The third check: every open case, and each child found, against the poverty list by the
    guardian's ID number (the record's family members', or the census's 户主)."""
    poor = dict(session.execute(select(PovertyHousehold.guardian_id_number, PovertyHousehold.kind)).all())
    if not poor:
        return
    guardians = dict(session.execute(select(CensusChild.id_number, CensusChild.guardian_id_number)
                                     .where(CensusChild.guardian_id_number != "")).all())
    open_cases = session.execute(select(Case, Student).join(Student, Student.id == Case.student_id)
                                 .where(Case.stage != "closed")).all()
    for case, student in open_cases:
        kind = next((poor[g] for g in (student.family1.id_number, student.family2.id_number,
                                       guardians.get(student.id_number or "", "")) if g and g in poor), "")
        if kind and case.priority_household != kind:
            case.priority_household = kind
            student.is_poor_household = True
    by_student = {case.student_id: case.priority_household for case, _ in open_cases}
    for f in found:
        f["poverty"] = by_student.get(f["student_id"]) or poor.get(guardians.get(f["id_number"], ""), "")


def _worklist(session: Session, found: list[dict[str, Any]]) -> None:
    """A school verifies each record of its roll the run questions; items close when a run no longer does."""
    today = clock.today()
    calendar = Calendar.load(session)
    wanted: dict[int, list[worklist.Due]] = {item: [] for item in session.scalars(
        select(WorkItem.subject_id).where(WorkItem.subject_type == SUBJECT, WorkItem.closed_at.is_(None)))}
    for f in found:
        if f["kind"] not in ("twice", "ghost") or f["student_id"] is None:
            continue
        title = (f"重复学籍：{f['name']}在外乡镇也有学籍，请核实在哪里就读并办理转学或注销" if f["kind"] == "twice"
                 else f"核实空挂学籍：{f['name']}（文化户口、户籍均无此人），确认是否在校")
        owner = worklist.Owner(UnitKind.SCHOOL, f["school_id"], Role.ACADEMIC_OFFICE.value)
        wanted[f["student_id"]] = [worklist.Due(f"census:{f['kind']}", title, f"/students/{f['student_id']}", owner,
                                                calendar.after(f["school_id"], today, CHECK_DAYS))]
    worklist.reconcile_many(session, SUBJECT, wanted)

