"""The home-visit register counts each teacher's visits; what looks filled in by rote is flagged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.db import set_tenant
from baoxue.tenants.cases import registers, service
from tests.tenants.cases.helpers import caseless_child
from tests.tenants.status_changes.helpers import login_actor


def test_semesters() -> None:
    assert registers.semester_on(datetime(2026, 11, 2).date()).label == "2026—2027学年第一学期"
    assert registers.semester_on(datetime(2027, 2, 10).date()).code == "2026-1"
    assert registers.semester_on(datetime(2027, 3, 1).date()).code == "2026-2"
    assert registers.semester_of("2025-2").starts.isoformat() == "2026-03-01"


def test_the_register_counts_visits_per_teacher_and_flags_rote(db_session: Any, demo: Any,
                                                                townships: dict[str, int]) -> None:
    session = db_session(townships["DEMO-BD"])
    teacher = login_actor(demo, "bd_mid_teacher")
    principal = login_actor(demo, "bd_mid_principal")
    semester = registers.semester_on(clock.today())
    set_tenant(session, principal.context())
    before = {r.membership_id: r.visits for r in registers.visit_register(session, semester).teachers}
    assert teacher.membership_id in before  # every class teacher is listed, visited or not
    start = max(clock.now() - timedelta(days=2), datetime.combine(semester.starts, datetime.min.time(), CHINA))
    clock.freeze(start)
    try:
        taken: set[int] = set()
        for n in range(5):  # five visits of one day, logged one after another, the same words
            child = caseless_child(demo, teacher.membership.class_ids[0], taken=taken)
            taken.add(child)
            set_tenant(session, teacher.context())
            service.do_record_visit(session, teacher, child, visited_at=start - timedelta(hours=5), mode="home",
                                    met="家长", found="家长很重视， 孩子表现良好。", settings=demo)
            clock.advance(timedelta(minutes=4))
        set_tenant(session, principal.context())
        register = registers.visit_register(session, semester)
        after = {r.membership_id: r for r in register.teachers}
        assert after[teacher.membership_id].visits == before[teacher.membership_id] + 5
        assert after[teacher.membership_id].target == 20
        flags = registers.rote_flags(session, semester, visits=register.visits)
        kinds = {f.kind for f in flags if len(f.visit_ids) >= 5}
        assert kinds == {"batch", "same_text"}
        # Flagged, not hidden: the visits stay counted; the teacher's scope sees only their classes.
        set_tenant(session, teacher.context())
        mine = registers.visit_register(session, semester)
        rows = {r.membership_id: r for r in mine.teachers if r.target}
        assert rows[teacher.membership_id].visits == after[teacher.membership_id].visits
        # Colleagues are listed (every class teacher is), but only the visits the teacher may read count.
        assert all(r.visits == 0 for m, r in rows.items() if m != teacher.membership_id)
    finally:
        clock.unfreeze()
        session.rollback()


@pytest.mark.parametrize("username", ["bd_mid_principal", "bd_office", "bd_village1"])
def test_every_reader_gets_the_registers(signed_in: Any, username: str) -> None:
    page = signed_in(username)
    assert page.get("/cases/registers").status_code == 200
    assert page.get("/cases/registers/visits.xlsx").status_code == 200
