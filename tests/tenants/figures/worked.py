"""A small school year, built by hand in a township of its own, whose figures the tests compute
by hand (tests/tenants/figures/test_worked_example.py): two schools, three classes, two villages.

    primary 三年级 (village 1 unless said):
      a1, a2 (village 2)   在读 all year
      a3   transferred out of the township, 10-10
      a4   transferred in from outside, 10-20 (not on the roll before)
      a5   died, 11-05
      a6   休学 from 10-15
      a7   休学 since 2026-06-01 (before the year began)
      a8   dropped out last year (流失报告 2026-05-10), back on 10-05
    middle 七年级 (village 1):
      b1, b2   在读
      b3   case opened 10-08, 流失报告 10-25, not back: a dropout
      b4   case opened 11-02, 流失报告 11-10, back on 12-01: not a dropout
    middle 八年级 (village 2):
      c1, c3   在读
      c2   case opened 09-20, 流失报告 09-28, not back: a dropout
      c4   借读 elsewhere from 09-15

The clock stands at 2027-01-15 (the school year is under way).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select

from baoxue.platform.clock import CHINA
from baoxue.platform.db import TenantContext, new_session
from baoxue.platform.scoping import Scope

TODAY = date(2027, 1, 15)
NOW = datetime.combine(TODAY, time(10), tzinfo=CHINA)


def at(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=CHINA)


@dataclass
class Small:
    session: Any
    township_id: int
    user_id: int
    primary: int
    middle: int
    v1: int
    v2: int
    classes: dict[str, int]
    kids: dict[str, int]


def build(settings: Any) -> Small:
    """A new township (committed: a township is made in its own transaction), its year in a
    session the caller rolls back."""
    from baoxue.tenants.cases.models import Case, CaseEntry
    from baoxue.tenants.status_changes.models import StatusChange
    from baoxue.tenants.students.models import Student
    from baoxue.tenants.tenancy.models import Membership, School, SchoolClass, Village
    from baoxue.tenants.tenancy.townships import do_create_township

    tag = secrets.token_hex(3)
    township_id = do_create_township(name=f"例镇{tag}", code=f"FIG-{tag}", county="例县", admin_username=f"fig_{tag}",
                                     admin_name="例", admin_password="Figures2026x", settings=settings)
    s = new_session(TenantContext(scope=Scope.township(township_id)), settings)
    user_id = s.scalar(select(Membership.user_id).where(Membership.township_id == township_id))
    v1, v2 = Village(township_id=township_id, name="一村"), Village(township_id=township_id, name="二村")
    s.add_all([v1, v2])
    s.flush()
    primary = School(township_id=township_id, name="例小学", kind="primary", village_id=v1.id)
    middle = School(township_id=township_id, name="例中学", kind="middle", village_id=v2.id)
    s.add_all([primary, middle])
    s.flush()
    a = SchoolClass(township_id=township_id, school_id=primary.id, grade=3, name="三年级（1）班", entry_year=2024)
    b = SchoolClass(township_id=township_id, school_id=middle.id, grade=7, name="七年级（1）班", entry_year=2026)
    c = SchoolClass(township_id=township_id, school_id=middle.id, grade=8, name="八年级（1）班", entry_year=2025)
    s.add_all([a, b, c])
    s.flush()
    plan = {  # name: (class, village, status now)
        "a1": (a, v1, "01"), "a2": (a, v2, "01"), "a3": (a, v1, "10"), "a4": (a, v1, "01"), "a5": (a, v1, "11"),
        "a6": (a, v1, "02"), "a7": (a, v1, "02"), "a8": (a, v1, "01"),
        "b1": (b, v1, "01"), "b2": (b, v1, "01"), "b3": (b, v1, "01"), "b4": (b, v1, "01"),
        "c1": (c, v2, "01"), "c2": (c, v2, "01"), "c3": (c, v2, "01"), "c4": (c, v2, "01"),
    }
    kids: dict[str, Any] = {}
    for n, (name, (klass, village, status)) in enumerate(plan.items()):
        kids[name] = Student(township_id=township_id, school_id=klass.school_id, class_id=klass.id,
                             residence_village_id=village.id, name=f"例{name}", gender="男" if n % 2 else "女",
                             birth_date=date(2014, 1, 1), student_number=f"G{tag}{n:04d}", id_number=None,
                             id_type="Z", status=status)
    s.add_all(kids.values())
    s.flush()

    def change(name: str, kind: str, day: date, **extra: Any) -> None:
        kid = kids[name]
        s.add(StatusChange(township_id=township_id, kind=kind, student_id=kid.id, student_name=kid.name,
                           school_id=kid.school_id, class_id=kid.class_id, state="completed", next_step="",
                           effective_on=day, requested_by=user_id, requested_at=at(day), finished_at=at(day), **extra))

    change("a3", "transfer_out", date(2026, 10, 10), destination="外省某小学")
    change("a4", "transfer_in", date(2026, 10, 20), destination="外县某小学")
    change("a5", "death", date(2026, 11, 5))
    change("a6", "suspension", date(2026, 10, 15))
    change("a7", "suspension", date(2026, 6, 1))
    change("c4", "elsewhere", date(2026, 9, 15), destination="县城某小学")

    def case(name: str, opened: date, reported: date | None, returned: date | None = None) -> None:
        kid = kids[name]
        found = Case(township_id=township_id, student_id=kid.id, student_name=kid.name, school_id=kid.school_id,
                     class_id=kid.class_id, village_id=kid.residence_village_id,
                     stage="closed" if returned else "reported", opened_via="manual", opened_by=user_id,
                     opened_at=at(opened), closing="returned" if returned else "", return_date=returned,
                     return_class_id=kid.class_id if returned else None, closed_at=at(returned) if returned else None)
        s.add(found)
        s.flush()
        entries = [("opened", opened)] + ([("dropout_report", reported)] if reported else [])
        entries += [("returned", returned)] if returned else []
        for number, (kind, day) in enumerate(entries, start=1):
            s.add(CaseEntry(township_id=township_id, case_id=found.id, number=number, kind=kind, occurred_at=at(day),
                            summary=kind, details={}, recorded_by=user_id, actor_name="例", recorded_at=at(day)))

    case("a8", date(2026, 5, 1), date(2026, 5, 10), returned=date(2026, 10, 5))
    case("b3", date(2026, 10, 8), date(2026, 10, 25))
    case("b4", date(2026, 11, 2), date(2026, 11, 10), returned=date(2026, 12, 1))
    case("c2", date(2026, 9, 20), date(2026, 9, 28))
    s.flush()
    return Small(s, township_id, user_id, primary.id, middle.id, v1.id, v2.id,
                 {"a": a.id, "b": b.id, "c": c.id}, {k: v.id for k, v in kids.items()})
