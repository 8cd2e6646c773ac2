"""四查三比对 on a planted census: exactly the planted findings, and what each one sets going."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from baoxue.platform.db import TenantContext, set_tenant
from baoxue.platform.scoping import Scope
from baoxue.tenants.cases.models import Case
from baoxue.tenants.census import reconcile
from baoxue.tenants.census.models import CensusChild, CensusFinding, CensusRun, PovertyHousehold
from baoxue.tenants.census.service import age_on, reference_day
from baoxue.tenants.students.idnumbers import make_id_number, student_number_for
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import School, Village
from baoxue.tenants.worklist.models import WorkItem

ON_A_ROLL = ("01", "02", "05")


class Planted:
    """One village of the first demo township, its census replaced by a planted one."""

    def __init__(self, session: Any, a: int, b: int) -> None:
        self.session, self.a, self.b = session, a, b
        self.as_(a)
        for model in (CensusFinding, CensusRun, CensusChild, PovertyHousehold):
            session.execute(delete(model))
        self.village = session.scalars(select(Village).order_by(Village.id)).first()
        pupils = list(session.scalars(select(Student).where(Student.residence_village_id == self.village.id,
                                                            Student.status.in_(ON_A_ROLL),
                                                            Student.id_number.is_not(None)).order_by(Student.id)))
        assert len(pupils) > 4
        self.ghost, self.twin, *self.listed = pupils
        self.listed.append(self.twin)
        self.day = reference_day()
        # Another township's pupil living here with grandparents; a child who never enrolled.
        self.as_(b)
        self.away_pupil = session.scalars(select(Student).where(Student.status == "01", Student.id_number.is_not(None))
                                          .order_by(Student.id).limit(1)).one()
        # The twin's second record, on a roll of the other township.
        school = session.scalars(select(School).order_by(School.id)).first()
        session.add(Student(township_id=b, school_id=school.id, class_id=None, residence_village_id=None,
                            name=self.twin.name, gender=self.twin.gender, birth_date=self.twin.birth_date,
                            id_number=self.twin.id_number, student_number=self.twin.student_number, status="01"))
        session.flush()
        self.as_(a)
        self.never = make_id_number("522731", date(self.day.year - 12, 3, 4), 777)
        self.add(self.never, "王小军", "census", guardian="522731198001010013")
        self.add(self.away_pupil.id_number, self.away_pupil.name, "census")
        for p in self.listed:
            self.add(p.id_number, p.name, "census")
        session.add(PovertyHousehold(township_id=a, guardian_id_number="522731198001010013", householder="王大山",
                                     kind="低保户", village_id=self.village.id, entered_by=0))
        session.flush()

    def as_(self, township_id: int) -> None:
        set_tenant(self.session, TenantContext(scope=Scope.township(township_id)))

    def add(self, number: str, name: str, source: str, guardian: str = "") -> None:
        from baoxue.tenants.students.idnumbers import birth_date_of, gender_of

        self.session.add(CensusChild(township_id=self.a, source=source, village_id=self.village.id, name=name,
                                     id_number=number, birth_date=birth_date_of(number), gender=gender_of(number),
                                     guardian_id_number=guardian, entered_by=0))

    def school_age(self, pupils: list[Student]) -> list[Student]:
        return [p for p in pupils if 6 <= age_on(p.birth_date, self.day) <= 15]


@pytest.fixture
def planted(db_session: Any, townships: dict[str, int]) -> Planted:
    a, b = townships["DEMO-BD"], townships["DEMO-LG"]
    return Planted(db_session(a), a, b)


def _findings(session: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in session.scalars(select(CensusFinding)):
        found.setdefault(f.kind, set()).add(f.id_number)
    return found


def test_a_planted_census_reconciles_to_exactly_its_findings(planted: Planted) -> None:
    s = planted.session
    run = reconcile.run(s, "test:1")
    assert _findings(s) == {"nowhere": {planted.never}, "elsewhere": {planted.away_pupil.id_number},
                            "twice": {planted.twin.id_number}, "ghost": {planted.ghost.id_number}}
    here = planted.school_age([p for p in planted.listed if p is not planted.twin])
    assert run.counts["here"] == len(here)
    assert run.counts["listed"] == len(planted.school_age(planted.listed)) + 2
    assert run.counts["cases_opened"] == 1


def test_a_child_enrolled_nowhere_gets_a_record_at_the_central_school_and_a_case(planted: Planted) -> None:
    s = planted.session
    reconcile.run(s, "test:1")
    record = s.scalars(select(Student).where(Student.id_number == planted.never)).one()
    central = s.scalars(select(School).where(School.kind == "central_primary")).one()
    assert (record.school_id, record.status, record.class_id) == (central.id, "99", None)
    assert record.student_number == student_number_for(planted.never)
    assert record.residence_village_id == planted.village.id
    case = s.scalars(select(Case).where(Case.student_id == record.id)).one()
    assert (case.opened_via, case.stage, case.village_id) == ("census", "identified", planted.village.id)
    # The third check: the family is on the poverty list, and the case says so.
    assert case.priority_household == "低保户"
    finding = s.scalars(select(CensusFinding).where(CensusFinding.kind == "nowhere")).one()
    assert (finding.case_id, finding.poverty) == (case.id, "低保户")


def test_each_record_on_two_rolls_or_none_is_on_its_school_list_until_it_is_sorted(planted: Planted) -> None:
    s = planted.session
    reconcile.run(s, "test:1")
    items = {(i.kind, i.subject_id) for i in s.scalars(select(WorkItem).where(
        WorkItem.subject_type == reconcile.SUBJECT, WorkItem.closed_at.is_(None)))}
    assert items == {("census:twice", planted.twin.id), ("census:ghost", planted.ghost.id)}
    # The ghost's village lists them after all; the twin's other record is closed there.
    planted.add(planted.ghost.id_number, planted.ghost.name, "census")
    s.flush()
    planted.as_(planted.b)
    s.execute(delete(Student).where(Student.id_number == planted.twin.id_number))
    planted.as_(planted.a)
    s.flush()
    reconcile.run(s, "test:2")
    assert "ghost" not in _findings(s) and "twice" not in _findings(s)
    assert not s.scalar(select(func.count(WorkItem.id)).where(WorkItem.subject_type == reconcile.SUBJECT,
                                                              WorkItem.closed_at.is_(None)))


def test_a_run_is_once_per_key_and_a_second_run_opens_no_second_case(planted: Planted) -> None:
    s = planted.session
    first = reconcile.run(s, "test:1")
    cases = s.scalar(select(func.count(Case.id)))
    assert reconcile.run(s, "test:1").id == first.id
    second = reconcile.run(s, "test:2")
    assert second.id != first.id and second.counts["cases_opened"] == 0
    assert s.scalar(select(func.count(Case.id))) == cases
    assert _findings(s)["nowhere"] == {planted.never}
    assert s.scalar(select(func.count(CensusFinding.id)).where(CensusFinding.run_id == first.id)) == 0


def test_a_child_away_with_their_parents_or_lawfully_gone_opens_no_case(planted: Planted) -> None:
    s = planted.session
    away = make_id_number("522731", date(planted.day.year - 14, 5, 6), 555)
    gone = planted.school_age(planted.listed)[0]
    planted.add(away, "李志勇", "register")
    s.flush()
    s.execute(CensusChild.__table__.update().where(CensusChild.id_number == away).values(lives_here=False))
    gone.status = "10"  # transferred out with complete papers
    s.flush()
    run = reconcile.run(s, "test:1")
    found = _findings(s)
    assert found["away"] == {away} and gone.id_number not in set().union(*found.values())
    assert run.counts["accounted"] == 1
    assert not s.scalar(select(func.count(Case.id)).where(Case.opened_via == "census",
                                                          Case.student_id == gone.id))


def test_an_untouched_township_judges_no_record_a_ghost(db_session: Any, townships: dict[str, int]) -> None:
    """Without a list to judge by (no register, the child's village has no census), nothing is a ghost."""
    s = db_session(townships["DEMO-LG"])
    s.execute(delete(CensusFinding))
    s.execute(delete(CensusChild))
    s.flush()
    run = reconcile.run(s, "test:empty")
    assert run.counts.get("ghost", 0) == 0 and run.counts["listed"] == 0
