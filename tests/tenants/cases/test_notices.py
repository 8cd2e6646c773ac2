"""The enforcement chain's documents on a real database, a real WeasyPrint and poppler's pdftotext.

Each service test works in one `db_session` of 板当镇, rolled back at teardown, on a held
clock, switching between the demo logins as requests would. The HTTP tests read a notice the
module commits once (the run shares its database, like the demo's own notices).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.db import TenantContext, new_session, set_tenant
from baoxue.platform.errors import Conflict, InvalidInput
from baoxue.platform.files import storage
from baoxue.platform.identity import Actor
from baoxue.platform.permissions import Role
from baoxue.platform.scoping import Scope
from baoxue.tenants.cases import notices
from baoxue.tenants.cases.models import Case, CaseEntry, Notice
from baoxue.tenants.cases.policy import access_notice
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Township
from baoxue.tenants.worklist import service as worklist
from baoxue.tenants.worklist.models import WorkItem
from tests.tenants.cases.notice_helpers import open_case, pdf_fonts, pdf_text
from tests.tenants.status_changes.helpers import login_actor

START = datetime(2026, 11, 2, 9, 30, tzinfo=CHINA)  # a Monday of the 2026–2027 school year


class World:
    """One rolled-back transaction of 板当镇 on a held clock, acting as one login after another."""

    def __init__(self, session: Any, settings: Any, township_id: int) -> None:
        self.session, self.settings, self.township_id = session, settings, township_id
        self._actors: dict[str, Actor] = {}
        self.taken: set[int] = set()

    def actor(self, username: str, role: Role | None = None) -> Actor:
        key = f"{username}:{role}"
        if key not in self._actors:
            self._actors[key] = login_actor(self.settings, username, role)
        return self._actors[key]

    def act(self, username: str, role: Role | None = None) -> Actor:
        actor = self.actor(username, role)
        set_tenant(self.session, actor.context())
        return actor

    def as_township(self) -> None:
        set_tenant(self.session, TenantContext(scope=Scope.township(self.township_id)))

    def case(self, **values: Any) -> Case:
        case = open_case(self.session, self.settings, self.township_id, taken=self.taken, **values)
        self.taken.add(case.student_id)
        return case

    def issue(self, username: str, case: Case, kind: str, role: Role | None = None, **values: Any) -> Notice:
        return notices.do_issue_notice(self.session, self.act(username, role), case.id, kind, settings=self.settings,
                                       **values)

    def serve(self, username: str, notice: Notice, at: datetime | None = None, **values: Any) -> Notice:
        fields = {"served_to": "监护人本人", "place": "板当村三组家中", "manner": "直接送达", "server_names": "王老师、李主任",
                  **values}
        return notices.do_serve_notice(self.session, self.act(username), notice.id, at or clock.now(),
                                       fields.pop("served_to"), fields.pop("place"), fields.pop("manner"),
                                       fields.pop("server_names"), settings=self.settings, **fields)

    def reconcile(self, case: Case) -> None:
        """What every case action does at its end (`reconcile_case`), asked again on a later day."""
        from baoxue.tenants.cases.service import reconcile_case

        reconcile_case(self.session, case)

    def items(self, username: str, case: Case) -> list[WorkItem]:
        """The login's open items about the case that show today."""
        mine = worklist.items_for(self.session, self.act(username))
        return [i for i in (*mine.overdue, *mine.today, *mine.this_week, *mine.later)
                if i.subject_type == "cases" and i.subject_id == case.id and i.kind.startswith("cases:notice:")]

    def read(self, key: str) -> bytes:
        return storage(self.settings).read(self.township_id, key)


@pytest.fixture
def world(db_session: Any, demo: Any, townships: dict[str, int]) -> Iterator[World]:
    clock.freeze(START)
    bd = townships["DEMO-BD"]
    try:
        yield World(db_session(bd), demo, bd)
    finally:
        clock.unfreeze()


def _refused(call: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        call()
    return info.value.errors


def _serial_now(world: World) -> int:
    """The series' last number this year in the township, as the next issue will see it."""
    from sqlalchemy import func

    t = Notice.__table__
    return world.session.scalar(select(func.max(t.c.serial)).where(
        t.c.township_id == world.township_id, t.c.series == "义劝通字", t.c.year == 2026)) or 0


# --- the walk to legal enforcement --------------------------------------------------------------

def test_a_case_walks_the_chain_deadlines_counted_from_service(world: World) -> None:
    from datetime import date

    case = world.case(first_absent_on=date(2026, 10, 12))
    student = world.session.scalars(select(Student).where(Student.id == case.student_id)).one()
    guardian = student.guardian
    first_serial = _serial_now(world) + 1

    # The school issues the 劝学通知书: numbered in the township's series, on the timeline, to serve.
    persuasion = world.issue("bd_mid_academic", case, "persuasion")
    assert (persuasion.series, persuasion.year, persuasion.serial) == ("义劝通字", 2026, first_serial)
    assert notices.NoticeView(persuasion).number == f"义劝通字〔2026〕第{first_serial}号"
    assert persuasion.deadline_days == 7 and persuasion.deadline_on is None
    text = pdf_text(world.read(persuasion.pdf_key))
    for expected in (case.student_name, guardian.name, "劝学通知书", f"义劝通字〔2026〕第{first_serial}号",
                     "第五条第二款", "第十一条第一款", "自送达之日起7日内", "2026年10月12日", "板当中学"):
        assert expected in text, expected
    assert [i.kind for i in world.items("bd_mid_principal", case)] == ["cases:notice:serve"]

    # The township may not skip ahead: the 劝学通知书 is not served.
    errors = _refused(lambda: world.issue("bd_office", case, "order"))
    assert "尚未送达" in errors["notice_kind"]

    # Served the next afternoon (the school records it): the deadline runs from that day.
    clock.freeze(START + timedelta(days=1, hours=6))  # 2026-11-03 15:30
    served_at = datetime(2026, 11, 3, 15, 20, tzinfo=CHINA)
    world.serve("bd_mid_academic", persuasion, served_at, served_to=f"{guardian.name}（{guardian.relation}）")
    assert persuasion.served_at == served_at
    assert persuasion.deadline_on == date(2026, 11, 10)  # 3 November + 7 days
    receipt = persuasion.content["receipt"]
    receipt_text = pdf_text(world.read(receipt["pdf_key"]))
    for expected in ("送达回证", f"送回字〔2026〕第{first_serial}号", f"义劝通字〔2026〕第{first_serial}号", guardian.name,
                     "直接送达", "2026年11月3日15时20分", "王老师、李主任", "2026年11月10日"):
        assert expected in receipt_text, expected
    assert world.items("bd_mid_principal", case) == []  # served: the school's item closed itself
    with pytest.raises(Conflict):
        world.serve("bd_mid_academic", persuasion)  # served once

    # Within the deadline, and on its last day, the order is refused; nothing is due yet.
    for day in (date(2026, 11, 5), date(2026, 11, 10)):
        clock.freeze(datetime(day.year, day.month, day.day, 17, tzinfo=CHINA))
        world.reconcile(case)
        errors = _refused(lambda: world.issue("bd_office", case, "order"))
        assert "尚未届满" in errors["notice_kind"] and "2026年11月10日" in errors["notice_kind"]
        assert world.items("bd_office", case) == []

    # The day after the deadline, still away: the office has its item for the next step.
    clock.freeze(datetime(2026, 11, 11, 8, tzinfo=CHINA))
    world.reconcile(case)
    [item] = world.items("bd_office", case)
    assert item.kind == "cases:notice:next" and "责令限期复学通知书" in item.title
    assert item.due_on == date(2026, 11, 11) and item.shows_from == date(2026, 11, 11)

    # The school may not issue the township's document; the office does, and the item closes.
    with pytest.raises(PermissionDeniedException):
        world.issue("bd_mid_principal", case, "order")
    order = world.issue("bd_office", case, "order")
    assert order.serial == first_serial + 1  # consecutive in the series
    assert [i.kind for i in world.items("bd_office", case)] == ["cases:notice:serve"]
    order_text = pdf_text(world.read(order.pdf_key))
    for expected in ("责令限期复学通知书", "板当镇人民政府", case.student_name, guardian.name, "第五十八条",
                     "批评教育", "责令限期改正", "自送达之日起10日内", f"义劝通字〔2026〕第{first_serial}号",
                     "2026年11月10日"):
        assert expected in order_text, expected

    world.serve("bd_office", order)  # the same day, 11 November
    assert order.deadline_on == date(2026, 11, 21)
    assert world.items("bd_office", case) == []  # the next item shows from 22 November
    clock.freeze(datetime(2026, 11, 22, 9, tzinfo=CHINA))
    world.reconcile(case)
    [court] = world.items("bd_office", case)
    assert "强制执行申请书" in court.title  # 板当镇 has no provincial fine: the court comes next

    # Every step is on the timeline and in the audit trail.
    world.as_township()
    kinds = list(world.session.scalars(select(CaseEntry.kind).where(CaseEntry.case_id == case.id)
                                       .order_by(CaseEntry.number)))
    assert kinds[-4:] == ["notice_issued", "notice_served", "notice_issued", "notice_served"]
    events = list(world.session.scalars(select(AuditEvent.event).where(
        AuditEvent.entity_type == "notices", AuditEvent.entity_id.in_([str(persuasion.id), str(order.id)]))
        .order_by(AuditEvent.id)))
    assert events == ["cases:notice:issued", "cases:notice:served"] * 2


def test_fonts_are_embedded(world: World) -> None:
    case = world.case()
    notice = world.issue("bd_mid_principal", case, "persuasion")
    rows = pdf_fonts(world.read(notice.pdf_key))
    assert rows and all("CJK" in row[0] for row in rows)
    assert all(row[-5] == "yes" for row in rows), rows  # the emb column: every font embedded


def test_a_township_without_a_provincial_fine_cannot_issue_a_penalty(world: World) -> None:
    case = world.case()
    errors = _refused(lambda: world.issue("bd_office", case, "penalty", penalty_rule="某条例", fine_yuan=500))
    assert "未启用" in errors["notice_kind"]

    # Where the province provides for one, it comes after the order, with its rule and amount.
    world.as_township()
    world.session.get(Township, world.township_id).enforcement_documents = "persuasion,order,penalty,court"
    world.session.flush()
    errors = _refused(lambda: world.issue("bd_office", case, "penalty", penalty_rule="某条例", fine_yuan=500))
    assert "须先制发并送达责令限期复学通知书" in errors["notice_kind"]
    persuasion = world.issue("bd_mid_academic", case, "persuasion")
    world.serve("bd_mid_academic", persuasion)
    clock.freeze(START + timedelta(days=8))
    order = world.issue("bd_office", case, "order")
    assert "依法给予行政处罚" in order.content["paragraphs"][-1]
    world.serve("bd_office", order)
    clock.freeze(START + timedelta(days=19))
    errors = _refused(lambda: world.issue("bd_office", case, "penalty"))
    assert set(errors) == {"penalty_rule", "fine_yuan"}
    penalty = world.issue("bd_office", case, "penalty", penalty_rule="《某省义务教育条例》第四十条", fine_yuan=1000)
    text = pdf_text(world.read(penalty.pdf_key))
    for expected in ("行政处罚决定书", "《某省义务教育条例》第四十条", "罚款人民币1000元", "百分之三", "六十日内", "六个月内"):
        assert expected in text, expected


def test_who_issues_and_what_is_refused(world: World) -> None:
    case = world.case()
    # The class teacher and the office are not the school's leaders: the school issues the first.
    with pytest.raises(PermissionDeniedException):
        world.issue("bd_office", case, "persuasion")
    # Another school's principal does not reach the case at all.
    with pytest.raises(NotFoundException):
        world.issue("bd_cps_principal", case, "persuasion", role=Role.PRINCIPAL)
    assert "请选择要制发的文书" in _refused(lambda: world.issue("bd_mid_academic", case, "fine"))["notice_kind"]
    notice = world.issue("bd_mid_academic", case, "persuasion")
    assert "不能重复制发" in _refused(lambda: world.issue("bd_mid_principal", case, "persuasion"))["notice_kind"]
    # A receipt that says nothing, or a 留置送达 without a witness, is refused by field.
    errors = _refused(lambda: world.serve("bd_mid_academic", notice, clock.now() + timedelta(days=1), served_to="",
                                          manner="放在门口"))
    assert set(errors) == {"served_at", "served_to", "manner"}
    errors = _refused(lambda: world.serve("bd_mid_academic", notice, manner="留置送达"))
    assert set(errors) == {"witnesses"}
    assert "早于" in _refused(lambda: world.serve("bd_mid_academic", notice, START - timedelta(hours=2)))["served_at"]
    # The office may not record the school's service.
    with pytest.raises(PermissionDeniedException):
        world.serve("bd_office", notice)
    # A closed case takes no document.
    world.as_township()
    case.stage = "closed"
    world.session.flush()
    with pytest.raises(Conflict):
        world.issue("bd_office", case, "order")
    with pytest.raises(Conflict):
        world.serve("bd_mid_academic", notice)


def test_a_receipt_photo_loses_its_position(world: World) -> None:
    from io import BytesIO

    from PIL import Image

    image = Image.new("RGB", (64, 48), "white")
    exif = Image.Exif()
    exif[0x8825] = {2: (26.0, 35.0, 0.0), 4: (106.0, 42.0, 0.0)}  # GPSInfo: a family's home
    out = BytesIO()
    image.save(out, format="JPEG", exif=exif)
    case = world.case()
    notice = world.issue("bd_mid_academic", case, "persuasion")
    assert "receipt_photo" in _refused(lambda: world.serve("bd_mid_academic", notice, receipt_photo=b"GIF89a" + b"0" * 40))
    world.serve("bd_mid_academic", notice, receipt_photo=out.getvalue())
    stored = world.read(notice.receipt_key)
    assert stored.startswith(b"\xff\xd8\xff") and b"Exif" not in stored
    data, name = notices.do_download_notice(world.session, notice, "photo", world.settings)
    assert data == stored and name.endswith(".jpg")


def test_another_townships_notice_is_not_found(world: World, townships: dict[str, int]) -> None:
    case = world.case()
    notice = world.issue("bd_mid_academic", case, "persuasion")
    # In the same transaction (the row exists), as 龙场乡's office: the wall answers 404.
    set_tenant(world.session, login_actor(world.settings, "lg_office").context())
    with pytest.raises(NotFoundException):
        access_notice(world.session, notice.id)
    assert notices.notices_of(world.session, case.id) == []


@pytest.mark.postgres_only  # SQLite writes one transaction at a time: nothing to wait for
def test_numbers_wait_their_turn_and_leave_no_gap(world: World, demo: Any) -> None:
    """Two offices issuing at the same moment: the second waits for the first's transaction (PostgreSQL's
    advisory lock) and then takes the number after whatever the first committed; a rolled-back first
    leaves its number to the second, so the series has no gap."""
    first_case = world.case()
    world.issue("bd_mid_academic", first_case, "persuasion")
    taken = _serial_now(world)
    other = new_session(TenantContext(scope=Scope.township(world.township_id)), demo)
    done: dict[str, Any] = {}
    try:
        second_case = open_case(other, demo, world.township_id, taken=world.taken | {first_case.student_id})

        def issue_second() -> None:
            try:
                done["notice"] = notices.do_issue_notice(other, login_actor(demo, "bd_mid_academic"), second_case.id,
                                                         "persuasion", settings=demo)
            except Exception as exc:  # noqa: BLE001 — reported below
                done["error"] = exc

        thread = threading.Thread(target=issue_second)
        thread.start()
        time.sleep(1.5)
        assert thread.is_alive(), done  # waiting for the first transaction's lock
        world.session.rollback()  # the first gives its number back
        thread.join(30)
        assert "error" not in done, done.get("error")
        assert done["notice"].serial == taken  # the number the rolled-back issue held: no gap
    finally:
        other.rollback()
        other.close()


def test_the_first_document_is_due_when_the_case_turns_to_enforcement(world: World) -> None:
    case = world.case()
    world.as_township()
    case.stage = "enforcing"
    world.session.flush()
    [due] = notices.notice_dues(world.session, case)
    assert due.kind == "cases:notice:next" and "劝学通知书" in due.title
    assert due.owner.unit_id == case.school_id and due.owner.role == "principal"


# --- the routes ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed_notice(demo: Any, townships: dict[str, int]) -> tuple[int, int]:
    """(notice id, case id): a 劝学通知书 of 板当镇, committed (the HTTP tests read it through the app)."""
    from baoxue.platform.db import tenant_session

    bd = townships["DEMO-BD"]
    with tenant_session(TenantContext(scope=Scope.township(bd)), demo) as session:
        case = open_case(session, demo, bd, grade=9)
        notice = notices.do_issue_notice(session, login_actor(demo, "bd_mid_academic"), case.id, "persuasion",
                                         settings=demo)
        return notice.id, case.id


def test_the_pdf_through_the_api_and_the_pages(committed_notice: tuple[int, int], persona: Any,
                                               signed_in: Any) -> None:
    notice_id, case_id = committed_notice
    mine = persona("bd_mid_principal").get(f"/api/notices/{notice_id}/pdf")
    assert mine.status_code == 200, mine.text
    assert mine.headers["content-type"].startswith("application/pdf") and mine.content.startswith(b"%PDF")
    blank = signed_in("bd_office").get(f"/notices/{notice_id}/receipt.pdf")
    assert blank.status_code == 200 and "送达回证" in pdf_text(blank.content)
    listed = persona("bd_office").get(f"/api/cases/{case_id}/notices").json()
    assert [n["id"] for n in listed] == [notice_id]


@pytest.mark.parametrize("username", ["lg_office", "lg_mid_principal", "lg_leader"])
def test_another_townships_pdf_is_a_404(committed_notice: tuple[int, int], persona: Any, signed_in: Any,
                                        username: str) -> None:
    notice_id, case_id = committed_notice
    for path in (f"/api/notices/{notice_id}/pdf", f"/api/notices/{notice_id}/receipt.pdf",
                 f"/api/cases/{case_id}/notices"):
        assert persona(username).get(path).status_code == 404, path
    for path in (f"/notices/{notice_id}/pdf", f"/notices/{notice_id}/receipt.pdf"):
        assert signed_in(username).get(path).status_code == 404, path
    # A sibling school of the same township reaches it no more than another township.
    assert persona("bd_cps_principal").get(f"/api/notices/{notice_id}/pdf").status_code == 404


def _token(client: Any) -> str:
    import re

    found = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/").text)
    assert found
    return found.group(1)


def test_refused_forms_answer_the_notices_section_with_their_errors(committed_notice: tuple[int, int],
                                                                     signed_in: Any, persona: Any) -> None:
    notice_id, case_id = committed_notice
    office = signed_in("bd_office")
    r = office.post(f"/cases/{case_id}/notices", data={"notice_kind": "order", "_csrf_token": _token(office)},
                    follow_redirects=False)
    assert r.status_code == 400 and "尚未送达" in r.text and "依法控辍文书" in r.text
    school = signed_in("bd_mid_academic")
    r = school.post(f"/notices/{notice_id}/service", data={
        "served_at": "2026-11-03T15:20", "served_to": "", "place": "家中", "manner": "留置送达", "server_names": "王老师",
        "_csrf_token": _token(school)}, follow_redirects=False)
    assert r.status_code == 400 and "受送达人不能为空" in r.text and "见证人" in r.text
    # The API names the refused field in Chinese.
    problem = persona("bd_office").post(f"/api/cases/{case_id}/notices", json={"notice_kind": "order"}).json()
    assert problem["status"] == 400 and problem["errors"][0]["field"] == "notice_kind"
    assert persona("bd_mid_teacher").post(f"/api/cases/{case_id}/notices",
                                          json={"notice_kind": "persuasion"}).status_code == 403
