"""The three ledgers (三本台账): who is on which, 销号 only by the case file's closing with its
evidence, each reader's level, the Excel equal to the page, the export audited, the permission.

The service tests work in one `db_session` of 板当镇 rolled back at teardown (census rows, a run's
findings and cases made there); the page tests read the committed demo.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.db import TenantContext, set_tenant
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Scope
from baoxue.tenants.cases import service as cases
from baoxue.tenants.cases.models import Case, CaseEntry
from baoxue.tenants.census import ledgers
from baoxue.tenants.census.crosscheck import ON_A_ROLL
from baoxue.tenants.census.models import CensusChild, CensusFinding, CensusRun
from baoxue.tenants.census.service import reference_day, school_age_births
from baoxue.tenants.students.idnumbers import birth_date_of, gender_of, make_id_number, student_number_for
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Village
from tests.pages import visible_text
from tests.tenants.cases.helpers import caseless_child
from tests.tenants.status_changes.helpers import PDF
from tests.tenants.world import TownshipWorld, refused


@pytest.fixture
def held() -> Iterator[None]:
    clock.freeze(datetime(2026, 11, 2, 9, 0, tzinfo=CHINA))
    yield
    clock.unfreeze()


class World(TownshipWorld):
    """板当镇 with a few children on its lists, a run's findings, and cases on both ledgers."""

    def build(self) -> World:
        s = self.session
        self.teacher = self.actor("bd_mid_teacher")
        self.as_township()
        # A village of its own, so that the demo's census does not mix in; and another village.
        village = Village(township_id=self.township_id, name="台账测试村")
        s.add(village)
        s.flush()
        self.v1 = village.id
        self.v2 = s.scalars(select(Village.id).where(Village.id != self.v1).order_by(Village.id)).first()
        # Two children of the teacher's class, living in the village: a suspected case and a dropout.
        taken: set[int] = set()
        self.a = caseless_child(self.settings, self.teacher.membership.class_ids[0], taken=taken)
        taken.add(self.a)
        self.b = caseless_child(self.settings, self.teacher.membership.class_ids[0], taken=taken)
        for sid in (self.a, self.b):
            s.get(Student, sid).residence_village_id = self.v1
        s.flush()
        self.case_a = cases.do_open_case(s, self.act(self.teacher), self.a, note="今天未到校。")
        self.case_b = cases.do_open_case(s, self.act(self.teacher), self.b, note="今天未到校。",
                                         first_absent_on="2026-10-20")
        cases.do_record_entry(s, self.teacher, self.case_b.id, "dropout_report", reason_code="poverty",
                              whereabouts="随父母在广东东莞务工", first_absent_on="2026-10-20")
        # The lists: a child in school here (census), one on both lists found elsewhere, one found
        # nowhere with the census's case, one on the register only, living away, one too old, one of
        # another village.
        self.as_township()
        earliest, latest = school_age_births(reference_day())
        self.here = s.scalars(select(Student).where(
            Student.school_id == self.schools["mid"], Student.status == "01", Student.id_number.is_not(None),
            Student.birth_date.between(earliest, latest), Student.id.not_in((self.a, self.b))).order_by(Student.id)
        ).first()
        self.here.residence_village_id = self.v1
        # The demo's census may list the child already: the row moves to the test's village.
        listed = s.scalars(select(CensusChild).where(CensusChild.source == "census",
                                                     CensusChild.id_number == self.here.id_number)).first()
        if listed is not None:
            listed.village_id, listed.village_group, listed.name = self.v1, "一组", self.here.name
        s.flush()
        self.elsewhere = make_id_number("520422", date(2014, 5, 6), 611)
        self.nowhere = make_id_number("520422", date(2015, 3, 9), 621)
        self.away = make_id_number("520422", date(2013, 7, 1), 631)
        self.old = make_id_number("520422", date(2008, 1, 1), 641)
        self.other = make_id_number("520422", date(2016, 2, 2), 651)
        lost = Student(township_id=self.township_id, school_id=self.schools["cps"], class_id=None,
                       residence_village_id=self.v1, name="龙小满", gender=gender_of(self.nowhere),
                       birth_date=birth_date_of(self.nowhere), id_type="1", id_number=self.nowhere,
                       student_number=student_number_for(self.nowhere), status="99")
        s.add(lost)
        s.flush()
        self.case_c = cases.open_from_census(s, self.teacher, lost.id, note="文化户口比对：未在任何学校就读。")
        self.case_c.reason_code = "poverty"
        rows = [("census", self.here.id_number, self.here.name, "一组", self.v1)] if listed is None else []
        rows += [("census", self.elsewhere, "吴小英", "二组", self.v1),
                 ("register", self.elsewhere, "吴小英", "", None),
                 ("census", self.nowhere, "龙小满", "二组", self.v1),
                 ("register", self.away, "石小明", "三组", self.v1),
                 ("census", self.old, "罗大山", "一组", self.v1),
                 ("census", self.other, "杨小梅", "一组", self.v2)]
        for source, number, name, group, village_id in rows:
            s.add(CensusChild(township_id=self.township_id, source=source, village_id=village_id,
                              village_group=group, name=name, id_number=number, birth_date=birth_date_of(number),
                              gender=gender_of(number), guardian_name=f"{name[0]}家长",
                              entered_by=self.teacher.user_id, lives_here=number != self.away))
        run = CensusRun(township_id=self.township_id, job_key=f"test-ledgers-{self.case_c.id}",
                        reference_day=reference_day(), counts={})
        s.add(run)
        s.flush()
        for kind, number, name, more in (("elsewhere", self.elsewhere, "吴小英", {"poverty": "脱贫户"}),
                                         ("nowhere", self.nowhere, "龙小满", {"case_id": self.case_c.id,
                                                                           "student_id": lost.id,
                                                                           "school_id": self.schools["cps"]}),
                                         ("away", self.away, "石小明", {})):
            s.add(CensusFinding(township_id=self.township_id, run_id=run.id, kind=kind, id_number=number, name=name,
                                birth_date=birth_date_of(number), village_id=self.v1, **more))
        s.flush()
        return self

    def as_village(self) -> None:
        """A cadre of the test's village, as their request would read."""
        set_tenant(self.session, TenantContext(scope=Scope(township_id=self.township_id,
                                                           unit_kind=UnitKind.VILLAGE, unit_id=self.v1)))


@pytest.fixture
def world(db_session: Any, demo: Any, townships: dict[str, int], held: None) -> World:
    bd = townships["DEMO-BD"]
    return World(db_session(bd), demo, bd).build()


def _filters(world: World, **values: Any) -> ledgers.LedgerFilters:
    return ledgers.filters_for(world.session, **values)


def _case_ids(ledger: ledgers.CaseLedger) -> set[int]:
    return {r.case.id for r in ledger.rows}


# --- what each ledger lists -------------------------------------------------------------------

def test_each_ledger_lists_exactly_its_children(world: World) -> None:
    world.as_township()
    filters = _filters(world, village_id=world.v1)
    children = ledgers.children_ledger(world.session, filters)
    by_name = {r.name: r for r in children.rows}
    assert set(by_name) == {world.here.name, "吴小英", "龙小满", "石小明"}  # not the 18-year-old, not V2's
    here = by_name[world.here.name]
    assert (here.state, here.status) == ("in_school", "在读") and here.sources.startswith("文化户口")
    assert here.school and here.class_name and here.where.startswith(here.school)
    elsewhere = by_name["吴小英"]
    assert (elsewhere.where, elsewhere.sources, elsewhere.school, elsewhere.poverty) == (
        "已在外乡镇就读", "文化户口、户籍", "", "脱贫户")
    out = by_name["龙小满"]
    assert (out.state, out.case_id, out.stage, out.reason_code) == ("out", world.case_c.id, "疑似辍学", "poverty")
    assert by_name["石小明"].state == "out" and "户在人不在" in by_name["石小明"].note
    total = children.total
    assert (total.due, total.accepted, total.accepted_poor, total.out, total.out_poverty) == (4, 2, 1, 2, 1)
    assert total.rate == "50.00"
    assert [line.group for line in children.lines] == ["台账测试村一组", "台账测试村二组", "台账测试村三组"]
    assert sum(line.due for line in children.lines) == total.due
    # The whole township sees the other village's child too.
    everyone = {r.name for r in ledgers.children_ledger(world.session, _filters(world)).rows}
    assert "杨小梅" in everyone and "罗大山" not in everyone

    suspected = ledgers.case_ledger(world.session, "suspected", _filters(world))
    dropouts = ledgers.case_ledger(world.session, "dropouts", _filters(world))
    assert {world.case_a.id, world.case_c.id} <= _case_ids(suspected)
    assert world.case_b.id not in _case_ids(suspected)
    assert world.case_b.id in _case_ids(dropouts) and not {world.case_a.id, world.case_c.id} & _case_ids(dropouts)
    row_b = next(r for r in dropouts.rows if r.case.id == world.case_b.id)
    assert row_b.reported_on == date(2026, 11, 2) and row_b.is_open and "家庭经济困难" in row_b.reason
    # Every suspected entry has no 流失报告, every dropout one.
    reported = set(world.session.scalars(select(CaseEntry.case_id).where(CaseEntry.kind == "dropout_report")))
    assert not _case_ids(suspected) & reported and _case_ids(dropouts) <= reported
    # An earlier school year has none of this year's cases.
    earlier = ledgers.case_ledger(world.session, "suspected", _filters(world, year=2025))
    assert world.case_a.id not in _case_ids(earlier)


# --- 销号 only with the closing's evidence ------------------------------------------------------

def test_an_entry_closes_only_with_its_evidence(world: World) -> None:
    s, teacher = world.session, world.teacher

    def entry(kind: str, case: Case) -> ledgers.CaseRow:
        world.as_township()
        return next(r for r in ledgers.case_ledger(s, kind, _filters(world)).rows if r.case.id == case.id)

    # A transfer without the receiving school's proof, a return without its date and class: refused.
    errors = refused(lambda: cases.do_close_case(s, world.act(teacher), world.case_a.id, "transferred"))
    assert set(errors) == {"closing_evidence", "document"} and "接收证明" in errors["document"]
    errors = refused(lambda: cases.do_close_case(s, world.act(teacher), world.case_a.id, "transferred",
                                                 closing_evidence="转入县一中。"))
    assert set(errors) == {"document"}
    errors = refused(lambda: cases.do_close_case(s, world.act(teacher), world.case_b.id, "returned"))
    assert set(errors) == {"return_date", "return_class_id"}
    assert entry("suspected", world.case_a).is_open and entry("dropouts", world.case_b).is_open

    # With its evidence the entry shows closed: the kind, the date, the evidence, who closed it.
    cases.do_close_case(s, world.act(teacher), world.case_a.id, "transferred", closing_evidence="转入县一中，已收到接收证明。",
                        document=cases.Upload(PDF, "接收证明.pdf"), settings=world.settings)
    klass = s.get(Student, world.b).class_id
    cases.do_close_case(s, world.act(teacher), world.case_b.id, "returned", return_date="2026-11-02",
                        return_class_id=klass)
    for kind, case, closing in (("suspected", world.case_a, "依法转学"), ("dropouts", world.case_b, "已返校复学")):
        row = entry(kind, case)
        signed = s.scalars(select(CaseEntry.actor_name).where(CaseEntry.case_id == case.id,
                                                              CaseEntry.kind == "closed")).one()
        assert (row.is_open, row.closing_label, row.closed_on, row.closed_by) == (False, closing, date(2026, 11, 2),
                                                                                  signed)
        assert teacher.display_name in row.closed_by
    assert "转入县一中" in entry("suspected", world.case_a).evidence
    assert "附转学手续" in entry("suspected", world.case_a).evidence and entry("suspected", world.case_a).has_document
    assert entry("dropouts", world.case_b).evidence.startswith("2026-11-02返校，编入")
    dropouts = ledgers.case_ledger(s, "dropouts", _filters(world))
    assert "已销号" in dropouts.summary and dropouts.closed >= 1


# --- each reader's level ----------------------------------------------------------------------

def test_a_village_reads_its_residents_and_a_school_its_own(world: World) -> None:
    s = world.session
    world.as_village()
    mine = ledgers.filters_for(s, village_id=None, school_id=world.schools["cps"])
    assert (mine.village_id, mine.school_id) == (None, None)  # a village's filters are its own unit
    children = ledgers.children_ledger(s, mine)
    assert {r.name for r in children.rows} == {world.here.name, "吴小英", "龙小满", "石小明"}
    assert next(r for r in children.rows if r.name == world.here.name).state == "in_school"
    for kind in ("suspected", "dropouts"):
        rows = ledgers.case_ledger(s, kind, mine).rows
        assert rows and all(r.case.village_id == world.v1 for r in rows)
    assert {world.case_a.id, world.case_c.id} <= _case_ids(ledgers.case_ledger(s, "suspected", mine))

    principal = world.actor("bd_mid_principal")
    world.act(principal)
    theirs = ledgers.filters_for(s)
    suspected = ledgers.case_ledger(s, "suspected", theirs)
    assert all(r.case.school_id == world.schools["mid"] for r in suspected.rows)
    assert world.case_a.id in _case_ids(suspected) and world.case_c.id not in _case_ids(suspected)
    roll = ledgers.children_ledger(s, theirs)
    assert roll.school_level and roll.rows and {r.school for r in roll.rows} == {roll.rows[0].school}
    earliest, latest = school_age_births(reference_day())
    world.as_township()
    expected = set(s.scalars(select(Student.name).where(
        Student.school_id == world.schools["mid"], Student.status.in_(ON_A_ROLL),
        Student.birth_date.between(earliest, latest))))
    assert {r.name for r in roll.rows} == expected
    # The township choosing the school reads the same roll.
    chosen = ledgers.children_ledger(s, _filters(world, school_id=world.schools["mid"]))
    assert len(chosen.rows) == len(roll.rows)


# --- Excel ------------------------------------------------------------------------------------

def _sheet_rows(data: bytes, title: str) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(data))[title]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(n for n, r in enumerate(rows) if r and r[0] == "序号")
    body = []
    for r in rows[header + 1:]:
        if all(v in (None, "") for v in r):
            break
        body.append(r)
    assert "填报单位（盖章）" in str(rows[1][0]) and any("审核人" in str(r[0]) for r in rows if r)
    return body


def test_the_excel_equals_the_page_and_is_audited(world: World) -> None:
    s = world.session
    world.as_township()
    filters = _filters(world, village_id=world.v1)
    children = ledgers.children_ledger(s, filters)
    world.as_village()  # read as the village
    data = ledgers.do_export_ledger(s, "children", filters)
    stats = load_workbook(io.BytesIO(data))["统计表"]
    assert "统计表" in stats["A1"].value and "学年" in stats["A1"].value
    table = [list(r) for r in stats.iter_rows(values_only=True)]
    total = next(r for r in table if r[1] == "合计")
    assert total[2:8] == [4, 2, 1, 2, 1, "50.00"]
    listed = _sheet_rows(data, "适龄儿童少年台账")
    assert [r[2] for r in listed] == [r.name for r in children.rows]
    assert all("*" in str(r[5]) for r in listed)  # ID numbers masked
    out = _sheet_rows(data, "未接受名单")
    assert {r[2] for r in out} == {"龙小满", "石小明"}
    event = s.scalars(select(AuditEvent).where(AuditEvent.event == "census:ledger:exported")
                      .order_by(AuditEvent.id.desc())).first()
    assert event.changes["ledger"] == "适龄儿童少年台账" and event.changes["rows"] == len(children.rows)

    world.as_township()
    dropouts = ledgers.case_ledger(s, "dropouts", _filters(world))
    data = ledgers.do_export_ledger(s, "dropouts", _filters(world))
    rows = _sheet_rows(data, "辍学台账")
    assert [r[1] for r in rows] == [r.case.student_name for r in dropouts.rows]
    ws = load_workbook(io.BytesIO(data))["辍学台账"]
    assert dropouts.summary in [c.value for c in ws["A"]]
    event = s.scalars(select(AuditEvent).where(AuditEvent.event == "census:ledger:exported")
                      .order_by(AuditEvent.id.desc())).first()
    assert (event.changes["ledger"], event.changes["rows"]) == ("辍学台账", len(dropouts.rows))


# --- the pages --------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["bd_office", "bd_village1", "bd_mid_principal", "bd_cps_teacher"])
def test_the_pages_and_their_excel_agree(signed_in: Any, demo: Any, username: str) -> None:
    from baoxue.platform.db import cross_township_session

    client = signed_in(username)
    home = client.get("/ledgers")
    assert home.status_code == 200 and "三本台账" in visible_text(home.text)
    for kind, title in ledgers.LEDGERS.items():
        page = client.get(f"/ledgers/{kind}")
        assert page.status_code == 200, page.text
        shown = page.text.count('class="ledger-row')
        download = client.get(f"/ledgers/{kind}.xlsx")
        assert download.status_code == 200
        sheet = "适龄儿童少年台账" if kind == "children" else title
        rows = len(_sheet_rows(download.content, sheet))
        assert shown == min(rows, ledgers.ROWS_SHOWN)  # a long list is cut on the page, never in the Excel
        assert (f"含全部 {rows} 人" in page.text) == (rows > ledgers.ROWS_SHOWN)
        if kind != "children":
            summary = re.search(r'id="ledger-summary">([^<]+)<', page.text).group(1).strip()
            ws = load_workbook(io.BytesIO(download.content))[sheet]
            assert summary in [c.value for c in ws["A"]]
        with cross_township_session("tests: the export's audit row", demo) as s:
            event = s.scalars(select(AuditEvent).where(AuditEvent.event == "census:ledger:exported")
                              .order_by(AuditEvent.id.desc())).first()
            assert (event.changes["ledger"], event.changes["rows"]) == (title, rows)
        fragment = client.get(f"/ledgers/{kind}", headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="ledger-rows"' in fragment.text


@pytest.mark.parametrize("username", ["bd_police", "bd_mid_subject", "bd_county"])
def test_who_may_not_read_the_ledgers(signed_in: Any, username: str) -> None:
    client = signed_in(username)
    for path in ("/ledgers", "/ledgers/children", "/ledgers/dropouts", "/ledgers/suspected.xlsx"):
        assert client.get(path, follow_redirects=False).status_code in (403, 404), path


def test_a_ledger_page_is_a_fixed_number_of_queries(signed_in: Any, demo: Any) -> None:
    """Never one per row: the whole township's pages cost what a village's few rows cost (the
    township's filters add two: the villages and the schools to choose from)."""
    from tests.platform.test_query_counts import count_queries

    counts: dict[str, dict[str, int]] = {}
    for username in ("bd_office", "bd_village1"):
        client = signed_in(username)
        for path in ("/ledgers", "/ledgers/children", "/ledgers/suspected", "/ledgers/dropouts"):
            client.get(path)
            with count_queries(demo) as q:
                assert client.get(path).status_code == 200
            counts.setdefault(path, {})[username] = len(q)
    for path, found in counts.items():
        assert found["bd_office"] <= found["bd_village1"] + 2 and found["bd_office"] <= 40, (path, found)
