"""The demo county: 某县 groups the two demo townships; its education bureau's viewer signs in as
`county_edu` and sees both side by side. Each township publishes as its figures job would."""

from __future__ import annotations

from sqlalchemy import select

from baoxue.platform.demo import DemoContext, as_township
from baoxue.tenants.county.service import publish
from baoxue.tenants.tenancy.demo import DEMO_PASSWORD
from baoxue.tenants.tenancy.models import County, CountyMembership, User

COUNTY_CODE = "DEMO-XIAN"
VIEWER = "county_edu"


def seed(demo: DemoContext) -> None:
    session = demo.session
    seeded = list(demo.state["tenancy"].values())
    county = County(code=COUNTY_CODE, name=seeded[0].township.county + "教育局")
    session.add(county)
    session.flush()
    hashed = session.scalar(select(User.password_hash).where(User.username == f"{seeded[0].plan.prefix}_leader"))
    viewer = User(username=VIEWER, display_name="黄国平", phone="13908540000", password_hash=hashed)
    session.add(viewer)
    session.flush()
    session.add(CountyMembership(county_id=county.id, user_id=viewer.id))
    for each in seeded:
        each.township.county_id = county.id
        session.flush()
        with as_township(session, each.township.id):
            publish(session)


def logins_text() -> str:
    return f"县级查看 county viewer: {VIEWER}（某县教育局，两个演示乡镇并列；密码 {DEMO_PASSWORD}）"
