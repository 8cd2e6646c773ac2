"""The case files of the demo townships, made by the service's own actions.

Every demo school gets a case in every stage: a child just identified (疑似辍学, the class
teacher asked to call home), one reported with its 旷课报告单, one being persuaded (two visits,
the third due), one under legal enforcement after three visits, and closed ones: the middle
and central schools each have a child back in school and watched (辍返生, a follow-up visit
done, the next due), the central school a case closed as 送教上门 with its plan, the primary
schools a lawful transfer. The class teachers also log routine home visits for the register:
the middle school's reaches the semester's 20; the central school's logged six visits of one
day in one sitting with the same words, which the register flags for the principal.

Schools with demo logins act as their teachers and academic office; the primary schools (no
logins) have the township office act, with the village cadres joining visits in their villages.
Visits carry small pictures drawn here with Pillow (no real photos). As in the status changes'
demo, each action runs as its login with the clock held at the day it is taken; the seeding's
clock and scope are restored at the end.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.demo import DemoContext, acting
from baoxue.platform.identity import Actor
from baoxue.platform.permissions import Role, UnitKind
from baoxue.tenants.cases import service
from baoxue.tenants.cases.registers import semester_on
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.demo import demo_actors
from baoxue.tenants.tenancy.models import SchoolClass

LOGINS = {"mid_principal": Role.PRINCIPAL, "mid_academic": Role.ACADEMIC_OFFICE, "mid_teacher": Role.CLASS_TEACHER,
          "cps_principal": Role.PRINCIPAL, "cps_academic": Role.ACADEMIC_OFFICE, "cps_teacher": Role.CLASS_TEACHER,
          "office": Role.OFFICE_STAFF, "village1": Role.VILLAGE_CADRE, "village2": Role.VILLAGE_CADRE}
FOUND = ("孩子在家帮忙干农活，说学习跟不上，不想去学校。", "父母在浙江务工，孩子跟奶奶生活，奶奶管不住，孩子常去镇上网吧。",
         "家里刚盖房欠了债，父亲想让孩子早点出去打工。", "孩子说在学校被同学取笑，不愿意回去，情绪低落。",
         "孩子已跟随表哥到广东东莞一家电子厂做工，家长在电话中表示会劝孩子回来。")
AGREED = ("家长同意下周一送孩子返校，班主任安排同学结对帮扶。", "村委会协助联系在外务工的父亲，下次家访时一起做工作。",
          "学校落实营养餐和寄宿生生活补助，家长答应让孩子继续上学。", "家长答应先让孩子到校试读一周。")
# A sample scan, as small as a valid PDF can be (the demo's approvals and plans are all this page).
SAMPLE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
              b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
              b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
              b"trailer<</Root 1 0 R>>\n%%EOF\n")
REASONS = ("study_difficulty", "poverty", "working", "weary", "left_behind")
MET = ("父亲", "母亲", "奶奶", "爷爷", "父母")


@dataclass
class _Story:
    demo: DemoContext
    township_id: int
    actors: dict[str, Actor]
    start: datetime
    taken: set[int]
    villages: dict[int, str]  # village id → the login of its cadre

    @property
    def session(self) -> Any:
        return self.demo.session

    def at(self, days_ago: int, hour: int = 9, minute: int = 30) -> datetime:
        day = self.start.astimezone(CHINA).date() - timedelta(days=days_ago)
        return min(datetime.combine(day, time(hour, minute), tzinfo=CHINA), self.start)  # never after the seeding

    def day(self, days_ago: int) -> date:
        return self.start.astimezone(CHINA).date() - timedelta(days=days_ago)


def seed(demo: DemoContext) -> None:
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            _seed_township(demo, seeded, start)


def _acting(story: _Story, who: str, moment: datetime) -> Any:
    """Act as a demo login on a given day: the service's scope, audit and clock are theirs."""
    return acting(story.session, story.actors[who], moment)


def picture(rng: Any, label: int = 0) -> bytes:
    """A small drawn "photo" of a visit: a house, a path, a sky (no real person, no real place)."""
    sky = (rng.randint(120, 190), rng.randint(170, 220), 235)
    image = Image.new("RGB", (320, 240), sky)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 170, 320, 240), fill=(rng.randint(60, 110), rng.randint(120, 160), 60))
    x = rng.randint(40, 150)
    wall = (rng.randint(190, 235), rng.randint(170, 210), rng.randint(140, 180))
    draw.rectangle((x, 100, x + 120, 180), fill=wall, outline=(90, 70, 50))
    draw.polygon([(x - 10, 100), (x + 60, 55), (x + 130, 100)], fill=(rng.randint(120, 160), 50, 40))
    draw.rectangle((x + 48, 130, x + 72, 180), fill=(110, 80, 50))
    draw.ellipse((250, 20, 290, 60), fill=(250, 230, 120))
    draw.text((8, 8), f"demo {label}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _children(story: _Story, school_class: SchoolClass, count: int) -> list[Student]:
    """Children of the class, on the roll, that no other story of this demo uses."""
    rows = [s for s in story.session.scalars(select(Student).where(
        Student.class_id == school_class.id, Student.status == "01", Student.incoming_school_id.is_(None))
        .order_by(Student.id)) if s.id not in story.taken]
    chosen = story.demo.rng.sample(rows, min(count, len(rows)))
    story.taken.update(s.id for s in chosen)
    return chosen


def _visitors(story: _Story, who: str, child: Student) -> list[int]:
    ids = [story.actors[who].membership_id]
    cadre = story.villages.get(child.residence_village_id or 0)
    if cadre and cadre in story.actors:
        ids.append(story.actors[cadre].membership_id)
    return [i for i in ids if i is not None]


def _visit(story: _Story, who: str, child: Student, days_ago: int, *, case_id: int | None = None, photos: int = 1,
           recorded: datetime | None = None, found: str = "", hour: int = 16, signed: bool = False,
           next_in: int | None = 3) -> Any:
    rng = story.demo.rng
    when = story.at(days_ago, hour, rng.choice((0, 10, 20, 40)))
    with _acting(story, who, recorded or when + timedelta(hours=2)) as actor:
        return service.do_record_visit(
            story.session, actor, child.id, case_id=case_id, visited_at=when, mode="home",
            visitor_ids=_visitors(story, who, child), met=rng.choice(MET), found=found or rng.choice(FOUND),
            reason_code=rng.choice(REASONS), agreed=rng.choice(AGREED),
            next_visit_on=story.day(days_ago - next_in) if next_in is not None and days_ago - next_in >= 0 else None,
            photos=[service.Upload(picture(rng, n), f"IMG_{n:04d}.jpg") for n in range(photos)],
            signature=_signature() if signed else None)


def _signature() -> bytes:
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(20, 70), (60, 30), (90, 75), (130, 25), (170, 70), (230, 40), (280, 60)], fill=(20, 20, 20, 255),
              width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _open(story: _Story, who: str, child: Student, days_ago: int, note: str) -> Any:
    with _acting(story, who, story.at(days_ago, 10)) as actor:
        return service.do_open_case(story.session, actor, child.id, first_absent_on=story.day(days_ago + 1),
                                    note=note)


def _entry(story: _Story, who: str, case: Any, days_ago: int, kind: str, summary: str) -> None:
    with _acting(story, who, story.at(days_ago, 11)) as actor:
        service.do_record_entry(story.session, actor, case.id, kind, summary)


def _stage(story: _Story, who: str, case: Any, days_ago: int, stage: str, **values: Any) -> None:
    with _acting(story, who, story.at(days_ago, 17)) as actor:
        service.do_move_stage(story.session, actor, case.id, stage, **values)


def _report(story: _Story, who: str, case: Any, days_ago: int) -> None:
    _entry(story, who, case, days_ago + 1, "phone_call", "电话联系家长，家长说孩子不肯来学校，答应劝劝孩子。")
    _stage(story, who, case, days_ago, "reported", report="absence_report", reason_code=story.demo.rng.choice(REASONS),
           note="连续缺课 3 天，填报旷课报告单报学校。")


def _school_story(story: _Story, school_key: str, classes: list[SchoolClass], *, teacher: str, leader: str,
                  principal: str) -> None:
    """One school's cases, a case in every stage. `teacher` acts for the first class, `leader`
    for the others, `principal` decides the enforcement."""
    rng = story.demo.rng
    mine = [c for c in classes if story.actors[teacher].membership and c.id in story.actors[teacher].membership.class_ids]
    others = [c for c in classes if c not in mine] or classes
    first = mine[0] if mine else others[0]
    # A school with a class teacher login keeps its cases in that class (their items go to that
    # teacher by name); elsewhere they are spread over the school's classes (the office acts).
    kids = (_children(story, first, 7) if mine else
            _children(story, first, 2) + _children(story, rng.choice(others), 2) + _children(story, rng.choice(others), 3))
    if len(kids) < 7:
        return
    who = [teacher if mine else leader, teacher if mine else leader] + [leader] * 5

    # 1. Identified today: the class teacher is to call home.
    _open(story, who[0], kids[0], 0, "今天未到校，未请假，电话无人接听。")
    # 2. Reported three days ago with the 旷课报告单: the first persuasion visit is due.
    case = _open(story, who[1], kids[1], 5, "连续两天未到校，同学说他不想读了。")
    _report(story, who[1], case, 3)
    # 3. Persuading: two visits made, the third due.
    case = _open(story, who[2], kids[2], 16, "开学后第二周起未到校。")
    _report(story, who[2], case, 13)
    _stage(story, who[2], case, 12, "persuading", note="开始入户劝返。")
    _visit(story, who[2], kids[2], 11, case_id=case.id, photos=2, next_in=5)
    _visit(story, who[2], kids[2], 6, case_id=case.id, photos=1, next_in=4, signed=True)
    # 4. Enforcing: three visits failed, the last with the principal.
    case = _open(story, who[3], kids[3], 40, "已外出务工，家长不支持返校。")
    _report(story, who[3], case, 37)
    with _acting(story, who[3], story.at(30, 10)) as actor:
        service.do_record_entry(story.session, actor, case.id, "dropout_report", "经核实已离校外出。",
                                reason_code="working", whereabouts="随表哥在广东省东莞市长安镇一家电子厂打工。")
    _stage(story, who[3], case, 29, "persuading")
    for days_ago in (28, 21):
        _visit(story, who[3], kids[3], days_ago, case_id=case.id, photos=1, next_in=6)
    _visit(story, principal, kids[3], 14, case_id=case.id, photos=1, next_in=None,
           found="校长与班主任最后一次上门劝返，家长仍坚持让孩子打工，拒绝签字。")
    _stage(story, principal, case, 10, "enforcing", note="三次劝返未果，家长拒不送子女返校，报请乡镇依法控辍。")
    if story.actors[principal].membership and story.actors[principal].membership.unit_kind == UnitKind.SCHOOL:
        _persuasion_notice(story, principal, case, kids[3])
    # 5. Closed: back in school and watched (the schools that can confirm a class), or transferred.
    case = _open(story, who[4], kids[4], 45, "长期请病假后未返校。")
    _report(story, who[4], case, 42)
    _stage(story, who[4], case, 41, "persuading")
    _visit(story, who[4], kids[4], 40, case_id=case.id, photos=1, next_in=5)
    _visit(story, who[4], kids[4], 35, case_id=case.id, photos=2, next_in=None, signed=True)
    if story.actors[leader].membership and story.actors[leader].membership.unit_kind == UnitKind.SCHOOL:
        with _acting(story, leader, story.at(20, 8)) as actor:
            service.do_close_case(story.session, actor, case.id, "returned", return_date=story.day(20),
                                  return_class_id=kids[4].class_id, closing_evidence="家长送孩子返校，回原班就读。")
        _visit(story, leader, kids[4], 7, case_id=case.id, photos=1, next_in=None,
               found="返校后回访：孩子按时到校，作业基本能完成，家长表示会督促。")
    else:
        with _acting(story, leader, story.at(30, 15)) as actor:
            service.do_close_case(story.session, actor, case.id, "transferred",
                                  closing_evidence="随父母迁居贵阳市，已转入观山湖区第三小学，接收证明已存档。",
                                  document=service.Upload(SAMPLE_PDF, "接收证明.pdf"))
    if school_key == "cps":
        # 6. A severely disabled child: 送教上门 with the plan.
        case = _open(story, leader, kids[5], 60, "脑瘫，长期不能到校。")
        with _acting(story, leader, story.at(50, 15)) as actor:
            service.do_close_case(story.session, actor, case.id, "home_teaching",
                                  closing_evidence="经县残联评估为重度残疾，纳入送教上门，每周 2 次、每次 3 课时。",
                                  document=service.Upload(SAMPLE_PDF, "送教上门计划.pdf"))


def _persuasion_notice(story: _Story, principal: str, case: Any, child: Student) -> None:
    """The school's 劝学通知书, issued and served (its 7 days have run out: the township's order is next)."""
    from baoxue.tenants.cases import notices

    with _acting(story, principal, story.at(10, 17, 30)) as actor:
        notice = notices.do_issue_notice(story.session, actor, case.id, "persuasion")
    with _acting(story, principal, story.at(9, 18)) as actor:
        guardian = child.guardian
        notices.do_serve_notice(story.session, actor, notice.id, story.at(9, 16, 30),
                                f"{guardian.name or '监护人'}（{guardian.relation or '家长'}）",
                                child.address or "学生家中", "直接送达", actor.display_name, witnesses="村委会干部")


def _register_story(story: _Story, classes: dict[str, list[SchoolClass]]) -> None:
    """Routine visits for the home-visit register (the current semester's)."""
    rng = story.demo.rng
    today = story.start.astimezone(CHINA).date()
    span = max(1, min(80, (today - semester_on(today).starts).days))
    teacher = story.actors.get("mid_teacher")
    if teacher is not None and teacher.membership and teacher.membership.class_ids:
        klass = next(c for c in classes["mid"] if c.id == teacher.membership.class_ids[0])
        for n, child in enumerate(_children(story, klass, 20)):
            _visit(story, "mid_teacher", child, rng.randint(min(1, span - 1), span - 1), photos=1 if n % 4 == 0 else 0,
                   next_in=None, found=rng.choice(FOUND[:2]) + f"（第{n + 1}户）")
    teacher = story.actors.get("cps_teacher")
    if teacher is not None and teacher.membership and teacher.membership.class_ids:
        klass = next(c for c in classes["cps"] if c.id == teacher.membership.class_ids[0])
        sitting = story.at(0, 8, 5) if span <= 2 else story.at(1, 21, 0)
        for n, child in enumerate(_children(story, klass, 6)):
            # Six visits of one day, logged one after another late in the evening, with the same words.
            _visit(story, "cps_teacher", child, min(span - 1, 3), photos=0, next_in=None,
                   recorded=sitting + timedelta(minutes=3 * n), found="家长重视孩子学习，孩子在家表现良好。")


def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    actors = demo_actors(demo.session, seeded, LOGINS)
    villages = {seeded.villages[0].id: "village1", seeded.villages[1].id: "village2"}
    story = _Story(demo, seeded.township.id, actors, start, set(), villages)
    for key in seeded.schools:
        if key in ("mid", "cps"):
            _school_story(story, key, seeded.classes[key], teacher=f"{key}_teacher", leader=f"{key}_academic",
                          principal=f"{key}_principal")
        else:
            _school_story(story, key, seeded.classes[key], teacher="office", leader="office", principal="office")
    _register_story(story, seeded.classes)
