"""The status changes of the demo townships: one of every state, made by the service's own actions.

Each township gets the same story, told by its demo logins (its middle school's and central
school's principal, academic office and class teacher) over the last weeks: transfers waiting
for the class teacher and for the principal, a suspension waiting for the bureau's sign-off, a
resumption after a suspension, two transfers to primary schools of the township "in transfer"
(one past the township's confirm days, so the central school has an overdue item), a transfer
out completed, a repetition refused with its reason. Because the actions make them, the
worklist items, audit rows and certificates are what real use would leave.

The actions run as each login, with the clock held at the day each step is taken (the clock
is there for tests and the demo), then the seeding's clock and scope are restored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.clock import CHINA, clock

from baoxue.platform.demo import DemoContext, acting
from baoxue.platform.identity import Actor
from baoxue.platform.permissions import Role
from baoxue.tenants.status_changes import service
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.demo import demo_actors
from baoxue.tenants.tenancy.models import SchoolClass

# A sample scan, as small as a valid PDF can be (the demo's certificates are all this one page).
SAMPLE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
              b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
              b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
              b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
              b"4 0 obj<</Length 58>>stream\nBT /F1 24 Tf 72 760 Td (Demo certificate - sample) Tj ET\n"
              b"endstream endobj\n5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
              b"trailer<</Root 1 0 R>>\n%%EOF\n")
LOGINS = {"mid_principal": Role.PRINCIPAL, "mid_academic": Role.ACADEMIC_OFFICE, "mid_teacher": Role.CLASS_TEACHER,
          "cps_principal": Role.PRINCIPAL, "cps_academic": Role.ACADEMIC_OFFICE, "cps_teacher": Role.CLASS_TEACHER}
_OUTSIDE = ("浙江省宁波市鄞州区", "广东省东莞市长安镇", "福建省晋江市", "贵州省贵阳市观山湖区", "江苏省苏州市吴江区")


@dataclass
class _Story:
    session: Session
    township_id: int
    actors: dict[str, Actor]
    start: datetime  # when the seeding began: "N days ago" counts back from it
    taken: set[int]

    def at(self, days_ago: int, hour: int = 9, minute: int = 30) -> datetime:
        day = self.start.astimezone(CHINA).date() - timedelta(days=days_ago)
        return datetime.combine(day, time(hour, minute), tzinfo=CHINA)


def seed(demo: DemoContext) -> None:
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            _seed_township(demo, seeded, start)


def _acting(story: _Story, who: str, moment: datetime) -> Any:
    """Act as a demo login on a given day: the service's scope, audit and clock are theirs."""
    return acting(story.session, story.actors[who], moment)


def _child(story: _Story, demo: DemoContext, school_class: SchoolClass) -> int:
    """A child of the class not yet in the story."""
    ids = [i for i in story.session.scalars(select(Student.id).where(Student.class_id == school_class.id)
                                            .order_by(Student.id)) if i not in story.taken]
    chosen = demo.rng.choice(ids)
    story.taken.add(chosen)
    return chosen


def _request(story: _Story, who: str, days_ago: int, student_id: int, kind: str, **values: Any) -> Any:
    with _acting(story, who, story.at(days_ago, 8, 40)) as actor:
        return service.do_request_change(story.session, actor, student_id, kind, **values)


def _decide(story: _Story, change: Any, who: str, days_ago: int, approved: bool = True, opinion: str = "同意。",
            **values: Any) -> None:
    with _acting(story, who, story.at(days_ago, 15, 10)) as actor:
        service.do_decide_step(story.session, actor, change.id, change.next_step, approved, opinion, **values)


def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    session = demo.session
    story = _Story(session, seeded.township.id, demo_actors(session, seeded, LOGINS), start, set())
    mid, cps = seeded.classes["mid"], seeded.classes["cps"]

    def klass(classes: list[SchoolClass], grade: int, n: int = 1) -> SchoolClass:
        return [c for c in classes if c.grade == grade][n - 1]

    def outside(school: str) -> str:
        return demo.rng.choice(_OUTSIDE) + school

    # 1. The class teacher has a transfer to give an opinion on (asked two days ago).
    _request(story, "mid_teacher", 2, _child(story, demo, klass(mid, 7)), "transfer_out",
             destination=outside("第三中学"), reason="父母在外务工，接孩子到务工地随迁就读，已联系好接收学校。")

    # 2. Waiting for the principal: the class (no class teacher login) had the academic office's opinion.
    change = _request(story, "mid_academic", 6, _child(story, demo, klass(mid, 8)), "transfer_out",
                      destination=outside("实验学校"), reason="全家搬迁，到父亲务工所在地就读。")
    _decide(story, change, "mid_academic", 5, opinion="班主任外出培训，由教导处代为核实：情况属实。")
    _decide(story, change, "mid_academic", 4, opinion="手续齐全，同意转出。")

    # 3. Completed weeks ago: the child left the township (转出, status 10).
    change = _request(story, "mid_academic", 40, _child(story, demo, klass(mid, 9)), "transfer_out",
                      destination=outside("育才中学"), reason="随父母迁居外省，接收学校已出具接收证明。")
    for who, days_ago, opinion in (("mid_academic", 39, "情况属实。"), ("mid_academic", 38, "同意转出。"),
                                   ("mid_principal", 37, "同意。"), ("cps_academic", 35, "已备案。")):
        _decide(story, change, who, days_ago, opinion=opinion)

    # 4. A suspension with its hospital certificate, waiting for the bureau's sign-off.
    change = _request(story, "mid_academic", 9, _child(story, demo, klass(mid, 8, 2)), "suspension",
                      reason="患肺结核，需住院治疗并居家隔离，医院建议休学一年。", document=SAMPLE_PDF,
                      document_name="县人民医院诊断证明.pdf")
    _decide(story, change, "mid_academic", 8, opinion="已家访核实，病情属实。")
    _decide(story, change, "mid_principal", 3, opinion="同意休学，报县教育局审批。")

    # 5. Suspended last term (completed), and now asking to come back: the principal decides.
    child = _child(story, demo, klass(cps, 3))
    change = _request(story, "cps_teacher", 130, child, "suspension", reason="骨折手术后需长期卧床康复。",
                      document=SAMPLE_PDF, document_name="诊断证明.pdf")
    _decide(story, change, "cps_teacher", 129, opinion="家长已提交诊断证明，情况属实。")
    _decide(story, change, "cps_principal", 128, opinion="同意，报县教育局。")
    _decide(story, change, "cps_academic", 125, opinion="县教育局已批准（某教复〔2026〕12号）。")
    _request(story, "cps_teacher", 1, child, "resumption", reason="已康复，医院出具可以上学的证明，申请复学回原班。")

    # 6 and 7. Transfers to primary schools of the township, filed with the central school and
    # waiting for the receiving school: one recent, one past the confirm days (overdue).
    for grade, target, filed in ((4, "p1", 3), (5, "p2", 13)):
        change = _request(story, "cps_academic", filed + 3, _child(story, demo, klass(cps, grade)), "transfer_out",
                          to_school_id=seeded.schools[target].id, reason="家庭搬迁到外婆家所在村，就近入学。")
        _decide(story, change, "cps_academic", filed + 3, opinion="班主任意见：情况属实。")
        _decide(story, change, "cps_academic", filed + 2, opinion="同意。")
        _decide(story, change, "cps_principal", filed + 1, opinion="同意。")
        _decide(story, change, "cps_academic", filed, opinion="已备案，请转入学校尽快确认到校。")

    # 8. A repetition refused, with its reason.
    change = _request(story, "mid_academic", 12, _child(story, demo, klass(mid, 8)), "repetition",
                      to_class_id=klass(mid, 7).id, reason="家长认为孩子成绩跟不上，申请留级一年。")
    _decide(story, change, "mid_academic", 11, opinion="该生各科成绩偏低，但出勤正常。")
    _decide(story, change, "mid_principal", 10, approved=False,
            opinion="不同意留级：安排学科教师课后辅导，下学期再评估。")

    # 9. Studying elsewhere for a term, waiting for the central school to file it.
    change = _request(story, "mid_academic", 3, _child(story, demo, klass(mid, 7, 2)), "elsewhere",
                      destination=outside("第一中学"), reason="母亲在外地住院陪护，孩子随母亲在当地借读一学期。")
    _decide(story, change, "mid_principal", 2, opinion="同意借读一学期，学籍保留在本校。")
