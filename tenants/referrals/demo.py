"""The demo's referral tickets: one in every state, for several departments, so each department's
login opens on real work; and the justice office's ticket of every case in 依法控辍, as the job
opens it. Told a few days back on a held clock, as the other concepts tell their stories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from baoxue.platform.clock import clock, utcnow
from baoxue.platform.demo import DemoContext, acting, as_township, for_each_township, story_time
from baoxue.platform.jobs import JobRun
from baoxue.platform.permissions import DutyCode, Role
from baoxue.tenants.cases.flows import Stage
from baoxue.tenants.cases.models import Case
from baoxue.tenants.referrals.service import do_open_referral, do_referral_step, open_enforcement_referral
from baoxue.tenants.referrals.tasks import enforcement_key
from baoxue.tenants.tenancy.demo import demo_actors
from baoxue.tenants.tenancy.models import Department

LOGINS = {"mid_principal": Role.PRINCIPAL, "mid_academic": Role.ACADEMIC_OFFICE, "village1": Role.VILLAGE_CADRE,
          "labour": Role.DEPARTMENT_STAFF, "finance": Role.DEPARTMENT_STAFF, "social": Role.DEPARTMENT_STAFF,
          "police": Role.DEPARTMENT_STAFF, "culture": Role.DEPARTMENT_STAFF}
# (referrer, kind, duty, department login, days ago, steps taken by (side login, action, note), reason)
STORIES: tuple[tuple[str, str, DutyCode, str, int, tuple[tuple[str, str, str], ...], str], ...] = (
    ("mid_academic", "child_labour", DutyCode.LABOUR, "labour", 5, (),
     "孩子在镇上餐馆帮工，家长不让上学，请协助查处。"),
    ("mid_academic", "child_labour", DutyCode.LABOUR, "labour", 9,
     (("labour", "accept", "已受理，将联系务工所在地。"), ("labour", "start", "")),
     "家长说孩子跟亲戚去广东的鞋厂打工，请协助核查用工单位并督促返乡复学。"),
    ("mid_principal", "poverty", DutyCode.FINANCE, "finance", 12,
     (("finance", "accept", ""), ("finance", "resolve", "已纳入教育资助，发放生活补助 1250 元，家长承诺送孩子返校。")),
     "家庭经济困难，父亲长期患病，请落实资助政策。"),
    ("mid_academic", "left_behind", DutyCode.SOCIAL_AFFAIRS, "social", 20,
     (("social", "accept", ""), ("social", "resolve", "已落实留守儿童关爱帮扶，由爷爷监护并签订承诺书。"),
      ("mid_academic", "close", "孩子已返校，确认关闭。")),
     "父母均在外务工，由年迈的奶奶照看，请协助落实监护。"),
    ("mid_principal", "harm", DutyCode.POLICE, "police", 6,
     (("police", "return", "经核实不属于侵害儿童案件，请按家庭经济困难转介财政、社会事务办。"),),
     "学生反映在校外被人索要钱财，请协助处理。"),
)


def seed(demo: DemoContext) -> None:
    for_each_township(demo, _seed_township)



def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    session = demo.session
    township_id = seeded.township.id
    actors = demo_actors(session, seeded, LOGINS)
    middle = seeded.schools["mid"]
    cases = list(session.scalars(select(Case).where(Case.township_id == township_id, Case.school_id == middle.id,
                                                    Case.stage.in_([Stage.REPORTED.value, Stage.PERSUADING.value]))
                                 .order_by(Case.id)))
    departments = {d.duty_code: d.id for d in session.scalars(select(Department).where(
        Department.township_id == township_id))}
    for (referrer, kind, duty, _handler, days_ago, steps, reason), case in zip(STORIES, cases):
        with acting(session, actors[referrer], story_time(start, days_ago, 9)) as actor:
            ticket = do_open_referral(session, actor, kind=kind, department_id=departments[duty.value], reason=reason,
                                      case_id=case.id, grant_family=kind == "poverty",
                                      grant_photos=kind == "child_labour")
        for n, (who, action, note) in enumerate(steps, start=1):
            with acting(session, actors[who], story_time(start, max(days_ago - 2 * n, 0), 10 + n)) as actor:
                do_referral_step(session, actor, ticket.id, action, note)
    with acting(session, actors["village1"], story_time(start, 8, 15)) as actor:  # no case: a village's own matter
        do_open_referral(session, actor, kind="internet_cafe", department_id=departments[DutyCode.CULTURE.value],
                         subject="村口网吧夜间接纳未成年人",
                         reason="多名初中生晚上在村口网吧上网到深夜，第二天不到校，请文化站检查处理。")
    enforcing = list(session.scalars(select(Case.id).where(Case.township_id == township_id,
                                                           Case.stage == Stage.ENFORCING.value)))
    with as_township(session, township_id):
        clock.freeze(start)
        for case_id in enforcing:  # what the job did when each case entered 依法控辍 ...
            ticket = open_enforcement_referral(session, case_id)
            session.execute(update(JobRun).where(JobRun.key == enforcement_key(case_id)).values(  # ... and its row
                status="done", finished_at=utcnow(), result={"referral_id": ticket.id if ticket else None}))
