"""Figures are narrowed by the same scope as the students behind them; the home page says what to do."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import func, select

from baoxue.platform.db import cross_township_session, tenant_session
from baoxue.platform.jobs import township_context
from baoxue.tenants.figures.service import ENROLLED_STATUSES, rebuild_enrolment_figures
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import School, Village


@pytest.fixture(scope="module")
def computed(demo: Any, townships: dict[str, int]) -> str:
    key = f"figures:test:{secrets.token_hex(4)}"
    with tenant_session(township_context(townships["DEMO-BD"]), demo) as session:
        first = rebuild_enrolment_figures(session, key)
    with tenant_session(township_context(townships["DEMO-BD"]), demo) as session:
        again = rebuild_enrolment_figures(session, key)  # the same job key: nothing new, same answer
    assert first == again
    return key


def _truth(demo: Any, township_id: int, **where: Any) -> int:
    with cross_township_session("tests: figures truth", demo) as s:
        query = select(func.count(Student.id)).where(Student.township_id == township_id,
                                                     Student.status.in_(ENROLLED_STATUSES))
        for column, value in where.items():
            query = query.where(getattr(Student, column) == value)
        return s.scalar(query) or 0


def test_the_township_sees_every_school_and_village(computed: str, persona: Any, demo: Any,
                                                    townships: dict[str, int]) -> None:
    data = persona("bd_leader").get("/api/figures/enrolment").json()["data"]
    assert data["total"] == _truth(demo, townships["DEMO-BD"])
    with cross_township_session("tests: names", demo) as s:
        schools = set(s.scalars(select(School.name).where(School.township_id == townships["DEMO-BD"])))
        villages = set(s.scalars(select(Village.name).where(Village.township_id == townships["DEMO-BD"])))
    assert set(data["by_school"]) == schools and set(data["by_village"]) == villages
    assert set(data["by_grade"]) == {str(g) for g in range(1, 10)}


def test_a_school_sees_only_its_own_figures(computed: str, persona: Any, demo: Any) -> None:
    principal = persona("bd_mid_principal")
    school_id = principal.me()["membership"]["unit_id"]
    data = principal.get("/api/figures/enrolment").json()["data"]
    assert data["total"] == _truth(demo, principal.me()["membership"]["township_id"], school_id=school_id)
    assert len(data["by_school"]) == 1 and set(data["by_grade"]) == {"7", "8", "9"}
    assert sum(data["by_village"].values()) == data["total"]


def test_a_village_sees_its_residents_figures(computed: str, persona: Any, demo: Any) -> None:
    cadre = persona("bd_village1")
    membership = cadre.me()["membership"]
    data = cadre.get("/api/figures/enrolment").json()["data"]
    assert data["total"] == _truth(demo, membership["township_id"], residence_village_id=membership["unit_id"])
    assert len(data["by_village"]) == 1 and sum(data["by_village"].values()) == data["total"]


def test_the_home_page_counts_only_the_scope(computed: str, client: Any, demo: Any) -> None:
    from tests.platform.test_identity import page_login

    page_login(client, "bd_mid_principal", "baoxue2026")
    page = client.get("/").text
    client.cookies.clear()
    assert "今天要做的事" in page and "本校在校学生" in page
    assert "龙岗" not in page and "联合小学" not in page  # another township's, a sibling school's


def test_the_leader_sees_new_grants_of_personal_data_roles(client: Any, persona: Any) -> None:
    from tests.platform.test_identity import page_login

    admin = persona("bd_admin")
    school = admin.get("/api/schools").json()[0]["id"]
    username = f"grant_{secrets.token_hex(3)}"
    r = admin.post("/api/people", json={"username": username, "display_name": "新校长", "password": "Grant2026x",
                                        "role": "principal", "school_id": school})
    assert r.status_code == 201, r.text
    page_login(client, "bd_leader", "baoxue2026")
    page = client.get("/").text
    client.cookies.clear()
    assert "可查看学生个人信息的身份" in page and username in page
