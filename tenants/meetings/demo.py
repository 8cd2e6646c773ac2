"""The demo's meetings and publicity: each school's team and academic-office meetings this
semester (one school behind on them), the activity month's special meeting and publicity of
schools, villages and the justice office; and two leading-group meetings: the first with its
decisions (a task still open, a ticket done and closed, a ticket still open), the second prepared
today, its agenda opening on the first one's open decisions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.demo import DemoContext, acting
from baoxue.platform.permissions import DutyCode, Role
from baoxue.tenants.meetings.service import (
    do_decide_item,
    do_prepare_meeting,
    do_record_meeting,
    items_of,
    open_copies,
)
from baoxue.tenants.tenancy.demo import demo_actors

LOGINS = {"office": Role.OFFICE_STAFF, "mid_principal": Role.PRINCIPAL, "mid_academic": Role.ACADEMIC_OFFICE,
          "cps_academic": Role.ACADEMIC_OFFICE, "village1": Role.VILLAGE_CADRE, "village2": Role.VILLAGE_CADRE,
          "justice": Role.DEPARTMENT_STAFF, "finance": Role.DEPARTMENT_STAFF}
PUBLICITY = (
    ("mid_academic", "broadcast", "校园广播站", "全校师生", "播报《义务教育法》《未成年人保护法》关于适龄儿童少年接受义务教育的规定，"
                                               "宣讲“控辍保学，一个都不能少”。"),
    ("mid_academic", "letter", "各班教室", "全校学生家长 612 户", "向家长发放《致家长的一封信》612 份，回收回执 598 份；"
                                                        "未回收的由班主任家访时补收。"),
    ("cps_academic", "parents_meeting", "学校操场", "一至六年级家长约 300 人", "召开家长会，讲解监护人送适龄子女入学的法定义务，"
                                                              "通报本学期缺课情况。"),
    ("village1", "slogan", "村委会及各组路口", "全村群众", "在村委会和 6 个村民组路口张贴控辍保学宣传标语 12 条。"),
    ("village2", "board", "村文化广场", "赶集群众约 200 人", "设置控辍保学宣传展板 4 块，现场解答群众咨询 20 余人次。"),
    ("justice", "broadcast", "乡镇集市", "赶集群众", "利用集市日开展法治宣传，讲解《义务教育法》第五十八条和监护人的法律责任。"),
)


def seed(demo: DemoContext) -> None:
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            _seed_township(demo, seeded, start)


def _at(day: date, hour: int, start: datetime) -> datetime:
    return min(datetime.combine(day, time(hour), tzinfo=CHINA), start)


def _record(session: Any, actor: Any, start: datetime, day: date, kind: str, place: str, attendees: str,
            minutes: str, agenda: str = "", task_copy_id: int | None = None) -> Any:
    with acting(session, actor, _at(day, 16, start)) as who:
        return do_record_meeting(session, who, values={
            "meeting_kind": kind, "held_on": day, "place": place, "attendees": attendees, "agenda": agenda,
            "minutes": minutes}, task_copy_id=task_copy_id)


def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    from baoxue.tenants.school_calendar.models import SchoolTerm

    session = demo.session
    actors = demo_actors(session, seeded, LOGINS)
    today = start.astimezone(CHINA).date()
    with acting(session, actors["office"], start):
        term = session.scalars(select(SchoolTerm).where(SchoolTerm.starts_on <= today)
                               .order_by(SchoolTerm.starts_on.desc()).limit(1)).first()
    term_start = term.starts_on if term is not None else today - timedelta(days=60)
    _school_meetings(session, actors, start, today, term_start)
    for n, (who, kind, place, attendees, minutes) in enumerate(PUBLICITY):
        _record(session, actors[who], start, max(term_start, today - timedelta(days=3 + 4 * n)), kind, place,
                attendees, minutes)
    _leading_group(session, seeded, actors, start, today)


def _school_meetings(session: Any, actors: dict[str, Any], start: datetime, today: date, term_start: date) -> None:
    """The middle school keeps the routine; the central primary school has missed some of it."""
    principal, academic = actors["mid_principal"], actors["mid_academic"]
    _record(session, principal, start, term_start + timedelta(days=2), "school_start", "学校会议室",
            "校长、副校长、教导主任、总务主任、各年级组长", "部署本学期控辍保学工作：落实“双线”责任，班主任每学期家访不少于 20 次，"
            "建立疑似辍学台账，每月 25 日前报送月报。", "1. 本学期控辍保学工作安排\n2. 签订班主任责任书")
    if (today - term_start).days > 60:
        _record(session, principal, start, term_start + timedelta(days=60), "school_mid", "学校会议室",
                "校长、副校长、教导主任、各年级组长", "期中通报：本学期新增疑似辍学 3 人，已劝返 2 人；对仍未返校的 1 人转入依法控辍。")
    month = date(term_start.year, term_start.month, 1)
    copies = open_copies(session, academic) if academic is not None else []
    first = True
    while month <= today:
        day = max(month, term_start) + timedelta(days=1)
        if day <= today:
            _record(session, academic, start, day, "academic_monthly", "教导处", "教导主任、各班班主任",
                    f"{day.month}月例会：核对上月学生变动和缺课情况，布置本月家访，收集月报数据。",
                    task_copy_id=copies[0][0] if first and copies else None)
            first = False
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    if term_start <= date(today.year, 9, 30) and today.month >= 9 and date(today.year, 9, 15) <= today:
        _record(session, principal, start, date(today.year, 9, 15), "activity_month", "学校会议室", "全体教职工",
                "九月控辍保学活动月专题会：学习《义务教育法》，部署开学摸排和劝返。")
    _record(session, actors["cps_academic"], start, term_start + timedelta(days=3), "school_start", "中心小学会议室",
            "校长、教导主任、各年级组长", "部署本学期控辍保学工作。")


def _leading_group(session: Any, seeded: Any, actors: dict[str, Any], start: datetime, today: date) -> None:
    from baoxue.tenants.referrals.service import do_referral_step
    from baoxue.tenants.tenancy.models import Department

    office = actors["office"]
    earlier = today - timedelta(days=10)
    with acting(session, office, _at(earlier, 9, start)) as actor:
        first = do_prepare_meeting(session, actor, held_on=earlier, place="乡镇三楼会议室",
                                   attendees="乡长（组长）、分管副乡长、中心校校长、派出所、司法所、社保、财政、各村支书")
        items = items_of(session, [first.id]).get(first.id, [])
        departments = {d.duty_code: d.id for d in session.scalars(select(Department))}
        deadline = today + timedelta(days=10)
        school_keys = [f"school:{s.id}" for s in seeded.schools.values()][:2]
        decided = []
        for item in items[:4]:
            if item.source_kind in ("school", "village", "department") and "task" not in decided:
                do_decide_item(session, actor, first.id, item.id, decision="责成该单位限期整改，领导小组办公室跟踪督办。",
                               task={"title": "限期整改逾期事项并书面报告", "deadline": deadline,
                                     "assignees": [f"{item.source_kind}:{item.source_id}"],
                                     "instructions": "逐项说明逾期原因和整改结果，10 日内报领导小组办公室。"})
                decided.append("task")
            elif item.source_kind == "case" and "ticket" not in decided:
                do_decide_item(session, actor, first.id, item.id, decision="由司法所协助，依法向监护人送达限期复学通知书。",
                               ticket={"kind": "guardian_refuses", "department_id": departments[DutyCode.JUSTICE.value],
                                       "reason": "请司法所协助学校和村向监护人送达文书并开展法治教育。"})
                decided.append("ticket")
            else:
                do_decide_item(session, actor, first.id, item.id, decision="请各成员单位按职责抓紧办理，下次会议汇报。")
        # A decision done: a ticket to finance, worked and closed before today.
        free = [i for i in items[4:] if not i.referral_id and not i.task_id] or [
            i for i in items if not i.referral_id and not i.task_id]
        last = free[-1] if free else None
        if last is not None:
            done = do_decide_item(session, actor, first.id, last.id, decision="对家庭经济困难学生落实资助。",
                                  ticket={"kind": "poverty", "department_id": departments[DutyCode.FINANCE.value],
                                          "reason": "请财政分局核实并落实教育资助。"})
        if not any(k in decided for k in ("task",)) and school_keys:
            extra = items[0] if items else None
            if extra is not None:
                do_decide_item(session, actor, first.id, extra.id, decision="各校开展一次全面摸排。",
                               task={"title": "开展一次辍学风险全面摸排", "deadline": deadline,
                                     "assignees": school_keys})
    if last is not None and done.referral_id:
        for who, action, note, days in (("finance", "accept", "", 8), ("finance", "resolve", "已落实生活补助。", 6),
                                        ("office", "close", "确认。", 5)):
            with acting(session, actors[who], _at(today - timedelta(days=days), 10, start)) as a:
                do_referral_step(session, a, done.referral_id, action, note)
    with acting(session, office, _at(today, 8, start)) as actor:
        do_prepare_meeting(session, actor, held_on=today, place="乡镇三楼会议室",
                           attendees="乡长（组长）、分管副乡长、中心校校长、各成员单位负责人")
