"""The case service on a real database: a case walked from identified to returned and watched,
each step's worklist items appearing and closing themselves; the refusals; photos.

Each test works in one `db_session` rolled back at teardown, switching between the demo logins as
a request would (`act`), on a held clock that the test moves on.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.exceptions import HTTPException
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.errors import Conflict
from baoxue.platform.files import storage
from baoxue.platform.identity import Actor
from baoxue.tenants.cases import service, timeline
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit, Photo, VisitVisitor
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Township, Village
from baoxue.tenants.worklist.models import WorkItem
from tests.tenants.cases.helpers import caseless_child, jpeg
from tests.tenants.status_changes.helpers import PDF, class_id
from tests.tenants.world import TownshipWorld, refused


class World(TownshipWorld):
    """One rolled-back transaction of 板当镇, acting as one login after another."""

    def open(self, who: Actor, student_id: int, **values: Any) -> Case:
        return service.do_open_case(self.session, self.act(who), student_id, **{"note": "今天未到校。", **values})

    def visit(self, who: Actor, case: Case | None, student_id: int | None = None, **values: Any) -> HomeVisit:
        return service.do_record_visit(self.session, self.act(who), student_id or case.student_id,  # type: ignore[union-attr]
                                       case_id=case.id if case else None, settings=self.settings,
                                       **{"met": "父亲", "found": "孩子在家。", "reason_code": "weary", **values})

    def items(self, case: Case) -> dict[str, WorkItem]:
        self.as_township()
        return {i.kind: i for i in self.session.scalars(select(WorkItem).where(
            WorkItem.subject_type == "cases", WorkItem.subject_id == case.id, WorkItem.closed_at.is_(None)))}

    def events(self, entity_type: str, entity_id: int) -> list[str]:
        return list(self.session.scalars(select(AuditEvent.event).where(
            AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.id)))


@pytest.fixture
def world(db_session: Any, demo: Any, townships: dict[str, int]) -> World:
    bd = townships["DEMO-BD"]
    return World(db_session(bd), demo, bd)


@pytest.fixture
def held() -> Iterator[None]:
    clock.freeze(datetime(2026, 11, 2, 9, 0, tzinfo=CHINA))
    yield
    clock.unfreeze()


_refused = refused


def _teacher_child(world: World) -> tuple[Actor, int]:
    teacher = world.actor("bd_mid_teacher")
    return teacher, caseless_child(world.settings, teacher.membership.class_ids[0])


# --- the walk ---------------------------------------------------------------------------------

def test_a_case_walks_from_identified_to_returned_and_is_watched(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    principal = world.actor("bd_mid_principal")

    case = world.open(teacher, child, first_absent_on="2026-11-02")
    assert (case.stage, case.opened_via, case.previous_case_id) == ("identified", "manual", None)
    # Both lines named: the class teacher and principal, the village cadre (if any), and the township
    # cadre who takes the child's village (包村).
    assert case.class_teacher_membership_id == teacher.membership_id
    assert case.principal_membership_id is not None
    village = world.session.get(Village, world.session.get(Student, child).residence_village_id)
    assert village.liaison_membership_id is not None
    assert case.township_cadre_membership_id == village.liaison_membership_id
    items = world.items(case)
    # Each step on its school day counted from the first day away (no calendar entered: weekdays).
    assert set(items) == {"cases:contact", "cases:confirm"}
    assert (items["cases:contact"].owner_membership_id, items["cases:contact"].due_on.isoformat()) == (
        teacher.membership_id, "2026-11-02")
    confirm = items["cases:confirm"]  # day 15: the dropout confirmation, the principal's, not shown before
    assert (confirm.owner_role, confirm.due_on.isoformat(), confirm.shows_from) == (
        "principal", "2026-11-20", confirm.due_on)

    # Day 1: the call home closes "contact"; the absence report is due on day 3.
    clock.advance(timedelta(hours=3))
    service.do_record_entry(world.session, world.act(teacher), case.id, "phone_call", "家长说孩子不肯来。")
    assert set(world.items(case)) == {"cases:report", "cases:confirm"}
    assert world.items(case)["cases:report"].due_on.isoformat() == "2026-11-04"

    clock.advance(timedelta(days=2))
    service.do_move_stage(world.session, world.act(teacher), case.id, "reported", report="absence_report",
                          reason_code="weary")
    items = world.items(case)
    assert "cases:report" not in items and items["cases:visit"].title.startswith("第1次劝返")
    assert ("cases:village" in items) == (case.village_id is not None)  # the village line joins

    service.do_move_stage(world.session, world.act(teacher), case.id, "persuading")
    photo = service.Upload(jpeg(), "IMG_0001.jpg")
    for n in (1, 2, 3):
        clock.advance(timedelta(days=2))
        visit = world.visit(teacher, case, photos=[photo] if n == 1 else [],
                            next_visit_on=(clock.today() + timedelta(days=3)).isoformat())
        assert visit.attempt == n
        items = world.items(case)
        if n < 3:
            assert items["cases:visit"].title.startswith(f"第{n + 1}次劝返")
            assert items["cases:visit"].due_on == visit.next_visit_on
    # Three attempts: no more "visit"; the principal's final visit waits for day 10.
    final = items["cases:final_visit"]
    assert "cases:visit" not in items and final.owner_role == "principal"
    assert (final.due_on.isoformat(), final.shows_from) == ("2026-11-13", final.due_on)

    # The child comes back: the school confirms the class the platform proposes (same grade).
    clock.advance(timedelta(days=3))
    world.as_township()
    proposal = service.placement(world.session, case, world.session.get(Student, child), clock.today())
    klass = next(k for k in proposal.classes if k.grade == proposal.proposed)
    service.do_close_case(world.session, world.act(principal), case.id, "returned",
                          return_date=clock.today().isoformat(), return_class_id=klass.id)
    assert (case.stage, case.closing, case.return_date) == ("closed", "returned", clock.today())
    assert case.watch_until == clock.today() + timedelta(weeks=8)
    assert child in service.returner_ids(world.session, [child])
    items = world.items(case)
    assert set(items) == {"cases:follow_up"}
    assert items["cases:follow_up"].due_on == clock.today() + timedelta(days=14)
    assert world.session.get(Student, child).class_id == klass.id

    # A closed case is read-only: no entry, no stage, no second closing.
    with pytest.raises(Conflict):
        service.do_record_entry(world.session, world.act(teacher), case.id, "note", "补充。")
    with pytest.raises(Conflict):
        service.do_move_stage(world.session, world.act(teacher), case.id, "enforcing")
    with pytest.raises(Conflict):
        service.do_close_case(world.session, world.act(principal), case.id, "died", closing_evidence="x")

    # The watch: each follow-up visit moves the item on; past the watch, nothing is due.
    for weeks in (2, 4, 6):
        clock.freeze(datetime.combine(case.return_date + timedelta(weeks=weeks), datetime.min.time(), CHINA)
                     + timedelta(hours=10))
        visit = world.visit(teacher, case, reason_code="", found="按时到校。")
        assert visit.attempt is None and visit.case_id == case.id
        due = world.items(case).get("cases:follow_up")
        assert due is not None and due.due_on == clock.today() + timedelta(days=14)
    clock.freeze(datetime.combine(case.return_date + timedelta(weeks=8), datetime.min.time(), CHINA))
    world.visit(teacher, None, student_id=child, reason_code="", found="第八周回访，情况稳定。")  # found by itself
    assert world.items(case) == {}

    world.as_township()
    kinds = [e.kind for e in timeline.entries_of(world.session, case.id)]
    assert kinds[:5] == ["opened", "phone_call", "absence_report", "stage", "stage"]
    assert kinds[5:8] == ["home_visit"] * 3 and kinds[8:10] == ["returned", "closed"]
    assert kinds[10:] == ["follow_up"] * 4
    assert world.events("cases", case.id)[:3] == ["cases:case:opened", "cases:entry:recorded",
                                                 "cases:case:stage_moved"]
    assert "cases:case:closed" in world.events("cases", case.id)
    photos = list(world.session.scalars(select(Photo).where(Photo.case_id == case.id)))
    assert len(photos) == 1 and photos[0].small_key != photos[0].key
    assert {v.membership_id for v in world.session.scalars(select(VisitVisitor))
            .all() if v.visit_id == photos[0].visit_id} == {teacher.membership_id}


def test_enforcement_needs_three_attempts_and_a_reason(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    case = world.open(teacher, child)
    errors = _refused(lambda: service.do_move_stage(world.session, world.act(teacher), case.id, "persuading"))
    assert "下一阶段只能是“已报告”" in errors["stage"]
    errors = _refused(lambda: service.do_move_stage(world.session, world.act(teacher), case.id, "reported",
                                                    report="dropout_report", reason_code="other"))
    assert set(errors) == {"first_absent_on", "reason_text", "whereabouts"}
    service.do_move_stage(world.session, world.act(teacher), case.id, "reported", report="dropout_report",
                          first_absent_on="2026-10-20", reason_code="working", whereabouts="在广东东莞打工。")
    assert (case.reason_code, case.whereabouts) == ("working", "在广东东莞打工。")
    service.do_move_stage(world.session, world.act(teacher), case.id, "persuading")
    world.visit(teacher, case)
    errors = _refused(lambda: service.do_move_stage(world.session, world.act(teacher), case.id, "enforcing",
                                                    note="不返校。"))
    assert "已劝返 1 次" in errors["stage"]
    world.visit(teacher, case)
    world.visit(teacher, case)
    assert "note" in _refused(lambda: service.do_move_stage(world.session, world.act(teacher), case.id,
                                                            "enforcing"))
    service.do_move_stage(world.session, world.act(teacher), case.id, "enforcing", note="三次劝返未果。")
    assert case.stage == "enforcing"


# --- refusals ---------------------------------------------------------------------------------

def test_one_open_case_per_child_and_a_relapse_links_the_last(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    first = world.open(teacher, child)
    with pytest.raises(Conflict) as info:
        world.open(teacher, child)
    assert info.value.status_code == 409 and f"#{first.id}" in info.value.detail
    service.do_close_case(world.session, world.act(teacher), first.id, "died", closing_evidence="意外身故。",
                          document=service.Upload(PDF, "死亡证明.pdf"), settings=world.settings)
    second = world.open(teacher, child)
    assert second.previous_case_id == first.id
    world.as_township()
    assert [v.case.id for v in service.cases_of_student(world.session, child)] == [second.id, first.id]


def test_the_unique_index_refuses_a_second_open_case_too(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    first = world.open(teacher, child)
    world.as_township()
    with pytest.raises(Exception):  # IntegrityError: the partial unique index
        with world.session.begin_nested():
            world.session.add(Case(township_id=world.township_id, student_id=child, student_name="x",
                                   school_id=first.school_id, stage="reported", opened_by=1))
            world.session.flush()


def test_closing_demands_its_evidence(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    case = world.open(teacher, child)
    close = service.do_close_case
    assert "没有“其他”" in _refused(lambda: close(world.session, world.act(teacher), case.id, "other"))["closing"]
    errors = _refused(lambda: close(world.session, world.act(teacher), case.id, "home_teaching"))
    assert set(errors) == {"closing_evidence", "document"} and "送教上门计划" in errors["document"]
    errors = _refused(lambda: close(world.session, world.act(teacher), case.id, "transferred",
                                    closing_evidence="转入某校。", document=service.Upload(b"MZ\x90", "证明.pdf")))
    assert "不是 PDF" in errors["document"]
    errors = _refused(lambda: close(world.session, world.act(teacher), case.id, "returned"))
    assert set(errors) == {"return_date", "return_class_id"}
    # Another grade than proposed needs the school's reason.
    other = class_id(world.settings, world.schools["mid"], 8, 1)  # the child is in grade 7, away a day
    errors = _refused(lambda: close(world.session, world.act(teacher), case.id, "returned",
                                    return_date=clock.today(), return_class_id=other))
    assert "应编入七年级" in errors["closing_evidence"]
    # A village cadre may not confirm a return (the school does); the case is unchanged.
    village = world.actor("bd_village1")
    if case.village_id is not None and village.membership.unit_id == case.village_id:
        with pytest.raises(HTTPException):
            close(world.session, world.act(village), case.id, "returned", return_date=clock.today(),
                  return_class_id=other)
    assert case.stage == "identified"


def test_a_correction_names_the_entry_it_corrects(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    case = world.open(teacher, child)
    assert "corrects_entry_id" in _refused(lambda: service.do_record_entry(
        world.session, world.act(teacher), case.id, "correction", "日期写错了。"))
    first = timeline.entries_of(world.session, case.id)[0]
    entry = service.do_record_entry(world.session, world.act(teacher), case.id, "correction", "首次缺课应为 11 月 1 日。",
                                    corrects_entry_id=first.id)
    assert entry.corrects_entry_id == first.id and entry.summary.startswith("更正第1条")
    assert first.summary == "今天未到校。"  # the corrected entry is unchanged


def test_a_visit_reason_of_other_needs_its_text(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    case = world.open(teacher, child)
    errors = _refused(lambda: world.visit(teacher, case, reason_code="other", met="", found=""))
    assert set(errors) == {"reason_text", "met", "found"}
    assert "reason_code" in _refused(lambda: world.visit(teacher, case, reason_code=""))
    assert "visitor_ids" in _refused(lambda: world.visit(teacher, case, visitor_ids=[-5]))


# --- photos -----------------------------------------------------------------------------------

def test_a_pdf_named_jpg_is_refused(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    world.as_township()
    before = world.session.scalars(select(HomeVisit.id).where(HomeVisit.student_id == child)).all()
    errors = _refused(lambda: world.visit(teacher, None, student_id=child, reason_code="",
                                          photos=[service.Upload(PDF, "家访.jpg")]))
    assert "PDF" in errors["photos"]
    world.as_township()
    assert world.session.scalars(select(HomeVisit.id).where(HomeVisit.student_id == child)).all() == before


def test_the_stored_photo_has_no_exif_position(world: World, held: None) -> None:
    from PIL import Image

    original = jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)  # the phone's GPS is there
    teacher, child = _teacher_child(world)
    visit = world.visit(teacher, None, student_id=child, reason_code="",
                        photos=[service.Upload(original, "IMG_0002.jpg")])
    assert visit.case_id is None and visit.attempt is None  # a routine visit
    world.as_township()
    photo = world.session.scalars(select(Photo).where(Photo.visit_id == visit.id)).one()
    files = storage(world.settings)
    for key in (photo.key, photo.small_key):
        data = files.read(world.township_id, key)
        assert not Image.open(io.BytesIO(data)).getexif()
        assert b"Exif" not in data and b"TestPhone" not in data


@pytest.mark.postgres_only  # the grant is PostgreSQL's
def test_entries_cannot_be_updated(world: World, held: None) -> None:
    """No action edits an entry, and on PostgreSQL the runtime role cannot either."""
    teacher, child = _teacher_child(world)
    case = world.open(teacher, child)
    world.as_township()
    entry = world.session.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id)).one()
    entry.summary = "改写"
    with pytest.raises(ProgrammingError, match="permission denied"):
        with world.session.begin_nested():
            world.session.flush()


def test_township_settings_set_the_watch(world: World, held: None) -> None:
    teacher, child = _teacher_child(world)
    world.as_township()
    township = world.session.get(Township, world.township_id)
    township.return_watch_weeks, township.return_visit_days = 4, 7
    world.session.flush()
    case = world.open(teacher, child)
    world.as_township()
    klass = world.session.get(Student, child).class_id
    service.do_close_case(world.session, world.act(teacher), case.id, "returned", return_date=clock.today(),
                          return_class_id=klass)
    assert case.watch_until == clock.today() + timedelta(weeks=4)
    assert world.items(case)["cases:follow_up"].due_on == clock.today() + timedelta(days=7)
