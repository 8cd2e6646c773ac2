"""The demo's contracts: this school year's contracts issued ten days ago to every village and
every school of each township; the first village's and the middle school's signed by both sides,
the second village's by the village only, the central primary school's by the township only; and
the middle school's contracts with its class and subject teachers, the demo class teacher's signed
by both, the demo subject teacher's by the principal only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from baoxue.platform.clock import clock, school_year
from baoxue.platform.demo import DemoContext, acting, for_each_township, story_time
from baoxue.platform.permissions import Role
from baoxue.tenants.contracts.models import Contract
from baoxue.tenants.contracts.service import do_sign_contract, issue_all
from baoxue.tenants.tenancy.demo import demo_actors

LOGINS = {"office": Role.OFFICE_STAFF, "village1": Role.VILLAGE_CADRE, "village2": Role.VILLAGE_CADRE,
          "mid_principal": Role.PRINCIPAL, "mid_teacher": Role.CLASS_TEACHER, "mid_subject": Role.SUBJECT_TEACHER}


def seed(demo: DemoContext) -> None:
    for_each_township(demo, _seed_township)


def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    session = demo.session
    actors = demo_actors(session, seeded, LOGINS)
    with acting(session, actors["office"], story_time(start, 20, 9)):  # signing by 14 days later: some are late
        year = school_year(clock.today())
        issue_all(session, "village", year)
        issue_all(session, "school", year)
        issue_all(session, "teacher", year, seeded.schools["mid"].id)
        found = {(c.party_kind, c.party_id): c.id for c in session.scalars(select(Contract))}
    first, second = seeded.villages[0].id, seeded.villages[1].id
    mid, cps = seeded.schools["mid"].id, seeded.schools["cps"].id
    teacher, subject = actors["mid_teacher"].membership.id, actors["mid_subject"].membership.id
    steps = [("office", ("village", first), 8), ("village1", ("village", first), 7),
             ("village2", ("village", second), 6), ("office", ("school", mid), 8),
             ("mid_principal", ("school", mid), 5), ("office", ("school", cps), 8),
             ("mid_principal", ("membership", teacher), 4), ("mid_teacher", ("membership", teacher), 3),
             ("mid_principal", ("membership", subject), 4)]
    for login, party, days_ago in steps:
        with acting(session, actors[login], story_time(start, days_ago, 10)) as actor:
            do_sign_contract(session, actor, found[party])
