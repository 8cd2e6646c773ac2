"""Each demo village's census, the police station's register, the poverty list, and a comparison.

Every village lists the school-age children living there (the children on the rolls, by their
records), plus what a real census turns up: in each township two children enrolled nowhere (one
never enrolled, one who left a school here and is home), a child registered here but working
away with their parents (户在人不在), and a child who lives in the first township but studies in
the second (已在外乡镇就读). One pupil of the first township has a second record in the other
township (重复学籍), and one pupil's village never listed them (空挂). The first township's police
station has imported its register; the finance office the poverty list, on which some open
cases' families are. Then each township's comparison runs, as the nightly job would.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from baoxue.platform.clock import utcnow
from baoxue.platform.demo import DemoContext, as_township
from baoxue.platform.permissions import Role
from baoxue.tenants.cases.models import Case
from baoxue.tenants.census import reconcile
from baoxue.tenants.census.models import CensusChild, PovertyHousehold
from baoxue.tenants.census.service import age_on, reference_day
from baoxue.tenants.students.idnumbers import make_id_number, student_number_for
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.demo import MEN, SURNAMES, adult_name, phone
from baoxue.tenants.tenancy.models import Membership

GROUPS = tuple(f"{n}组" for n in "一二三四五六七八")
_FOUND = (  # (given name, male, age, on a roll here before, lives here)
    ("小军", True, 13, False, True),  # never enrolled: kept home to herd cattle
    ("春燕", False, 14, True, True),  # left the middle school, at home
    ("志勇", True, 15, False, False),  # registered here, working in Guangdong with his parents
)


def seed(demo: DemoContext) -> None:
    townships = list(demo.state["tenancy"].values())
    day = reference_day()
    for index, seeded in enumerate(townships):
        other = townships[1 - index] if len(townships) > 1 else None
        _seed_township(demo, seeded, other, day, first=index == 0)
    for seeded in townships:
        office = demo.session.scalar(select(Membership.user_id).where(
            Membership.township_id == seeded.township.id, Membership.role == Role.OFFICE_STAFF.value).limit(1))
        with as_township(demo.session, seeded.township.id):
            reconcile.run(demo.session, "census:demo", ran_by=office)


def _seed_township(demo: DemoContext, seeded: Any, other: Any, day: date, *, first: bool) -> None:
    session, rng, tid = demo.session, demo.rng, seeded.township.id
    entered_by = session.scalar(select(Membership.user_id).where(
        Membership.township_id == tid, Membership.role == Role.VILLAGE_CADRE.value).limit(1)) or 0
    pupils = session.execute(select(Student).where(Student.township_id == tid, Student.id_number.is_not(None),
                                                   Student.residence_village_id.is_not(None))
                             .order_by(Student.id)).scalars().all()
    pupils = [p for p in pupils if 6 <= age_on(p.birth_date, day) <= 15]
    ghost = pupils[len(pupils) // 3] if first else None
    rows, register, poverty = [], [], []
    guardian_ids: dict[str, str] = {}
    now = utcnow()
    for p in pupils:
        if p is ghost:
            continue
        guardian = p.guardian
        guardian_ids[p.id_number] = gid = _adult_id(rng, p.id_number[:6], p.birth_date)
        row = {"township_id": tid, "source": "census", "village_id": p.residence_village_id,
               "village_group": rng.choice(GROUPS), "name": p.name, "id_number": p.id_number,
               "birth_date": p.birth_date, "gender": p.gender, "hukou_place": p.hukou_place,
               "guardian_name": guardian.name, "guardian_id_number": gid, "guardian_phone": guardian.phone,
               "lives_here": True, "note": "", "entered_by": entered_by, "entered_at": now}
        rows.append(row)
        if first and rng.random() < 0.9:
            register.append({**row, "source": "register", "note": "户籍"})
        if rng.random() < 0.06:
            poverty.append(_household(tid, gid, guardian.name, rng, p.residence_village_id, entered_by, now))
    villages = seeded.villages
    for n, (given, male, age, was_here, lives_here) in enumerate(_FOUND):
        village = villages[(n * 3 + (0 if first else 1)) % len(villages)]
        surname = rng.choice(SURNAMES)
        birth = date(day.year - age - 1, rng.randint(9, 12), rng.randint(1, 28))
        number = make_id_number(seeded.plan.region, birth, 800 + n * 2 + (1 if male else 0) + (0 if first else 40))
        parent = surname + rng.choice(MEN)
        gid = _adult_id(rng, seeded.plan.region, birth)
        rows.append({"township_id": tid, "source": "census", "village_id": village.id, "village_group": GROUPS[n],
                     "name": surname + given, "id_number": number, "birth_date": birth, "gender": "男" if male else "女",
                     "hukou_place": f"{seeded.plan.county}{seeded.township.name}{village.name}", "guardian_name": parent,
                     "guardian_id_number": gid, "guardian_phone": phone(rng), "lives_here": lives_here,
                     "note": "" if lives_here else "随父母在广东打工", "entered_by": entered_by, "entered_at": now})
        poverty.append(_household(tid, gid, parent, rng, village.id, entered_by, now, kind="低保户"))
        if was_here:
            _left_school(session, seeded, surname + given, number, birth, male, village.id, parent)
    if other is not None:
        rows.append(_studies_elsewhere(session, seeded, other, entered_by, now))
    for case_student in session.scalars(select(Student.id_number).join(Case, Case.student_id == Student.id).where(
            Case.township_id == tid, Case.stage != "closed").limit(3)):
        if case_student in guardian_ids:
            poverty.append(_household(tid, guardian_ids[case_student], adult_name(rng, True), rng, None, entered_by,
                                      now, kind="脱贫户"))
    session.execute(insert(CensusChild.__table__), rows + register)
    unique = {h["guardian_id_number"]: h for h in poverty}
    session.execute(insert(PovertyHousehold.__table__), list(unique.values()))
    if first and other is not None:
        _second_record(session, seeded, other, pupils)


def _adult_id(rng: Any, region: str, child_birth: date) -> str:
    born = date(child_birth.year - rng.randint(24, 36), rng.randint(1, 12), rng.randint(1, 28))
    return make_id_number(region if region.isdigit() else "522731", born, rng.randrange(900))


def _household(tid: int, gid: str, name: str, rng: Any, village_id: int | None, by: int, now: datetime,
               kind: str = "") -> dict[str, Any]:
    return {"township_id": tid, "guardian_id_number": gid, "householder": name,
            "kind": kind or rng.choice(("脱贫户", "低保户", "脱贫户", "监测户")), "village_id": village_id,
            "entered_by": by, "entered_at": now}


def _left_school(session: Any, seeded: Any, name: str, number: str, birth: date, male: bool, village_id: int,
                 parent: str) -> None:
    """A girl who left the middle school last spring (流失) and is home: her record stays, not on the roll."""
    key = next(iter(seeded.schools))
    school, klass = seeded.schools[key], seeded.classes[key][-1]  # her last class
    session.execute(insert(Student.__table__), [{
        "township_id": seeded.township.id, "school_id": school.id, "class_id": klass.id, "residence_village_id": village_id,
        "name": name, "gender": "男" if male else "女", "birth_date": birth, "id_type": "1", "id_number": number,
        "student_number": student_number_for(number), "status": "06", "entry_month": f"{birth.year + 12}09",
        "family1_name": parent, "family1_relation": "父亲", "family1_is_guardian": True,
        "created_at": utcnow() - timedelta(days=400), "updated_at": utcnow() - timedelta(days=200)}])


def _studies_elsewhere(session: Any, seeded: Any, other: Any, by: int, now: datetime) -> dict[str, Any]:
    """A child of the other township's roll, living with grandparents in this one's first village."""
    pupil = session.scalars(select(Student).where(Student.township_id == other.township.id,
                                                  Student.status == "01", Student.id_number.is_not(None))
                            .order_by(Student.id.desc()).limit(1)).one()
    return {"township_id": seeded.township.id, "source": "census", "village_id": seeded.villages[0].id,
            "village_group": GROUPS[5], "name": pupil.name, "id_number": pupil.id_number,
            "birth_date": pupil.birth_date, "gender": pupil.gender, "hukou_place": pupil.hukou_place,
            "guardian_name": pupil.guardian.name, "guardian_id_number": "", "guardian_phone": pupil.guardian.phone,
            "lives_here": True, "note": "随祖父母居住，在外乡镇上学", "entered_by": by, "entered_at": now}


def _second_record(session: Any, seeded: Any, other: Any, pupils: list[Student]) -> None:
    """One pupil of this township also on a roll of the other (a transfer never closed there): 重复学籍."""
    twin = pupils[len(pupils) // 2]
    school = next(iter(other.schools.values()))
    klass = other.classes[next(iter(other.schools))][0]
    session.execute(insert(Student.__table__), [{
        "township_id": other.township.id, "school_id": school.id, "class_id": klass.id,
        "residence_village_id": other.villages[0].id, "name": twin.name, "gender": twin.gender,
        "birth_date": twin.birth_date, "id_type": "1", "id_number": twin.id_number,
        "student_number": twin.student_number, "status": "01", "entry_month": twin.entry_month,
        "family1_name": twin.family1.name, "family1_relation": twin.family1.relation,
        "family1_is_guardian": True, "created_at": utcnow(), "updated_at": utcnow()}])

