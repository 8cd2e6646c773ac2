"""The demo's circulars: in each township one issued by the leading group's office a few days back,
naming the units behind as the draft found them (its PDF rendered, the units told), and one draft
the party-government office is still working on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from baoxue.platform.demo import DemoContext, acting, for_each_township, story_time
from baoxue.platform.permissions import Role
from baoxue.tenants.circulars.service import do_change_circular, do_draft_circular, do_issue_circular, units_of
from baoxue.tenants.tenancy.demo import demo_actors

LOGINS = {"office": Role.OFFICE_STAFF, "party": Role.DEPARTMENT_STAFF}


def seed(demo: DemoContext) -> None:
    for_each_township(demo, _seed_township)



def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    session = demo.session
    actors = demo_actors(session, seeded, LOGINS)
    with acting(session, actors["office"], story_time(start, 2, 9)) as actor:
        circular = do_draft_circular(session, actor)
        named = [f"{u.unit_kind}:{u.unit_id}" for u in units_of(session, [circular.id]).get(circular.id, [])]
        if not named:  # nothing behind in this township today: name the middle school's missed meeting
            named = [f"school:{seeded.schools['mid'].id}"]
        do_change_circular(session, actor, circular.id, title=circular.title, body=circular.body, units=named[:6])
    with acting(session, actors["office"], story_time(start, 2, 15)) as actor:
        do_issue_circular(session, actor, circular.id)
    with acting(session, actors["party"], story_time(start, 0, 8)) as actor:
        do_draft_circular(session, actor, title="关于春季学期控辍保学工作推进情况的通报（草稿）")
