"""The demo's tasks: one to every village (some accepted, one sent back, some overdue), the
monthly report to the schools (one waiting to be accepted), activity-month publicity to
departments (accepted), home visits to a named class teacher (in progress); a monthly and an
activity-month template, this month's task made by the template. Told on a held clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.demo import DemoContext, acting, as_township, for_each_township, story_time
from baoxue.platform.permissions import DutyCode, Role
from baoxue.tenants.tasks.service import (assignee_choices, create_recurring, do_add_evidence_file, do_assign_task,
                                          do_save_template, do_task_step)
from baoxue.tenants.tenancy.demo import demo_actors
from baoxue.tenants.tenancy.models import Department

LOGINS = {"office": Role.OFFICE_STAFF, "leader": Role.LEADER, "village1": Role.VILLAGE_CADRE,
          "village2": Role.VILLAGE_CADRE, "mid_principal": Role.PRINCIPAL, "cps_principal": Role.PRINCIPAL,
          "mid_teacher": Role.CLASS_TEACHER, "justice": Role.DEPARTMENT_STAFF, "culture": Role.DEPARTMENT_STAFF}
# A one-page PDF, as a scanned form would be kept: the evidence the demo's submissions carry.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def seed(demo: DemoContext) -> None:
    for_each_township(demo, _seed_township)



def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    session = demo.session
    actors = demo_actors(session, seeded, LOGINS)
    today = start.astimezone(CHINA).date()
    with as_township(session, seeded.township.id):
        choices = assignee_choices(session)
        departments = {d.duty_code: d.id for d in session.scalars(select(Department))}
    member_of = {a.membership_id: a.key for a in choices["member"]}
    teacher = member_of[actors["mid_teacher"].membership.id]

    def act(who: str, days_ago: int, hour: int = 9) -> Any:
        return acting(session, actors[who], story_time(start, days_ago, hour))

    # The autumn census, to every village: most accepted, one sent back, the rest overdue.
    with act("office", 30) as office:
        census = do_assign_task(
            session, office, title="完成本村适龄儿童入户摸底（秋季学期）", evidence=("note", "count"),
            count_label="摸底户数", deadline=today - timedelta(days=6), assignees=[a.key for a in choices["village"]],
            instructions="逐户核实 6—15 周岁儿童的在校情况，未在校的当场登记并报基教办；提交摸底户数和情况说明。")
    copies = {c.assignee: c for c in _copies(session, census.id)}
    first, second = choices["village"][0].key, choices["village"][1].key
    with act("village1", 12) as cadre:
        do_add_evidence_file(session, cadre, copies[first].id, DEMO_PDF, "入户摸底登记表.pdf")
        do_task_step(session, cadre, copies[first].id, "submit", "已入户 312 户，发现 2 名未在校儿童，已报基教办。", 312)
    with act("office", 11) as office:
        do_task_step(session, office, copies[first].id, "accept")
    with act("village2", 10) as cadre:
        do_task_step(session, cadre, copies[second].id, "submit", "已基本完成摸底。", 180)
    with act("office", 9) as office:
        do_task_step(session, office, copies[second].id, "send_back",
                     "未写明未在校儿童的姓名和去向，请补充后重新提交。")
    # The monthly report to the schools: the middle school's awaits acceptance.
    with act("office", 8) as office:
        report = do_assign_task(
            session, office, title="报送本月控辍保学月报", evidence=("note", "files"),
            deadline=today + timedelta(days=3), assignees=[a.key for a in choices["school"]],
            instructions="按月报表格式报送学生变动和劝返工作情况，附校长签字的月报表扫描件。")
    middle = next(c for c in _copies(session, report.id) if c.assignee == choices["school"][0].key)
    with act("mid_principal", 2, 16) as principal:
        do_add_evidence_file(session, principal, middle.id, DEMO_PDF, "本月月报表（签字扫描件）.pdf")
        do_task_step(session, principal, middle.id, "submit", "本月无新增辍学，劝返 1 人，详见月报表。")
    # Activity-month publicity to the justice office and the culture station: done and accepted.
    with act("office", 80) as office:
        publicity = do_assign_task(
            session, office, title="九月控辍保学活动月法治宣传", evidence=("note",),
            deadline=today - timedelta(days=50),
            assignees=[f"department:{departments[d.value]}" for d in (DutyCode.JUSTICE, DutyCode.CULTURE)
                       if d.value in departments],
            instructions="在集市日开展《义务教育法》《未成年人保护法》宣传，提交活动情况说明。")
    for copy in _copies(session, publicity.id):
        who = "justice" if departments.get(DutyCode.JUSTICE.value) == copy.unit_id else "culture"
        with act(who, 60) as staff:
            do_add_evidence_file(session, staff, copy.id, DEMO_PDF, "集市日宣传活动照片.pdf")
            do_task_step(session, staff, copy.id, "submit", "集市日设宣传点一次，发放宣传资料 300 份，悬挂横幅 2 条。")
        with act("office", 58) as office:
            do_task_step(session, office, copy.id, "accept")
    # Home visits to a named class teacher: under way.
    with act("office", 20) as office:
        visits = do_assign_task(session, office, title="本学期完成 20 次家访", evidence=("count", "note"),
                                count_label="家访次数", deadline=today + timedelta(days=40), assignees=[teacher],
                                instructions="重点走访留守儿童和有厌学情绪的学生家庭。")
    with act("mid_teacher", 3) as class_teacher:
        do_task_step(session, class_teacher, _copies(session, visits.id)[0].id, "progress", "已家访 12 次。")
    # The templates: the monthly report, and the activity months' meetings and publicity.
    with act("office", 40) as office:
        do_save_template(session, office, {
            "title": "报送控辍保学月报", "recurrence": "monthly", "day_of_month": "1", "deadline_days": "5",
            "evidence": ["note", "files"], "assignees": [a.key for a in choices["school"]], "active": "1",
            "instructions": "每月 5 日前报送上月月报表（校长签字扫描件）和情况说明。"})
        do_save_template(session, office, {
            "title": "活动月专题会议和宣传", "recurrence": "activity_months", "day_of_month": "1", "deadline_days": "25",
            "evidence": ["note", "files"], "assignees": [a.key for a in choices["school"] + choices["village"]],
            "active": "1", "instructions": "召开控辍保学专题会议，开展法律法规宣传，上传会议记录和宣传照片。"})
    with as_township(session, seeded.township.id):
        clock.freeze(start)
        create_recurring(session, today)  # what the morning job made this month


def _copies(session: Any, task_id: int) -> list[Any]:
    from baoxue.tenants.tasks.models import TaskCopy

    return list(session.scalars(select(TaskCopy).where(TaskCopy.task_id == task_id).order_by(TaskCopy.id)))
