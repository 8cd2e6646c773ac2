"""The tenancy API through personas, and the admin pages through a logged-in browser session.

The database is shared by the whole run: everything created here carries a random suffix.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from baoxue.tenants.tenancy.models import Membership, School, SchoolClass, User, Village
from tests.tenants.tenancy.conftest import unique as _u

DEMO_PASSWORD = "baoxue2026"


@pytest.fixture(scope="module")
def lg_ids(demo: Any, townships: dict[str, int]) -> dict[str, int]:
    """One id of each kind in 龙岗乡, read over the wall."""
    lg = townships["DEMO-LG"]
    with cross_township_session("tests: ids of the other township", demo) as s:
        school = s.scalars(select(School.id).where(School.township_id == lg, School.kind == "middle")).first()
        return {
            "village": s.scalars(select(Village.id).where(Village.township_id == lg)).first(),
            "school": school,
            "class": s.scalars(select(SchoolClass.id).where(SchoolClass.school_id == school)).first(),
            "user": s.scalars(select(User.id).where(User.username == "lg_mid_teacher")).one(),
        }


def _school_id(admin: Any, kind: str) -> int:
    return next(s["id"] for s in admin.get("/api/schools").json() if s["kind"] == kind)


def _problem(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def _fields(response: Any) -> set[str]:
    return {e["field"] for e in _problem(response)["errors"]}


# --- structure through the API -----------------------------------------------------------------

def test_admin_creates_reads_and_updates_a_village(admin: Any) -> None:
    name = f"新村{_u()}"
    r = admin.post("/api/villages", json={"name": name, "code": "522727104299"})
    assert r.status_code == 201, r.text
    village = r.json()
    assert admin.get(f"/api/villages/{village['id']}").json() == village
    r = admin.patch(f"/api/villages/{village['id']}", json={"name": name + "改"})
    assert r.status_code == 200 and r.json() == {**village, "name": name + "改"}
    assert name + "改" in {v["name"] for v in admin.get("/api/villages").json()}


def test_each_village_names_the_township_cadre_who_takes_it(admin: Any, persona: Any, demo: Any,
                                                              townships: dict[str, int]) -> None:
    """包村: a village's cadre is of the leading group or its office, of this township."""
    village = admin.post("/api/villages", json={"name": f"包村{_u()}"}).json()
    assert village["liaison_membership_id"] is None
    office = persona("bd_office").me()["membership"]["id"]
    r = admin.patch(f"/api/villages/{village['id']}", json={"liaison_membership_id": office})
    assert r.status_code == 200 and r.json()["liaison_membership_id"] == office
    teacher = persona("bd_mid_teacher").me()["membership"]["id"]
    refused = admin.patch(f"/api/villages/{village['id']}", json={"liaison_membership_id": teacher})
    assert _fields(refused) == {"liaison_membership_id"}
    with cross_township_session("tests: a membership of the other township", demo) as s:
        other = s.scalars(select(Membership.id).where(Membership.township_id == townships["DEMO-LG"],
                                                      Membership.role == "office_staff")).first()
    assert admin.patch(f"/api/villages/{village['id']}", json={"liaison_membership_id": other}).status_code == 404
    assert admin.get(f"/api/villages/{village['id']}").json()["liaison_membership_id"] == office
    r = admin.patch(f"/api/villages/{village['id']}", json={"liaison_membership_id": None})
    assert r.status_code == 200 and r.json()["liaison_membership_id"] is None


def test_admin_creates_a_school_and_its_class(admin: Any, school_year_2026: None) -> None:
    village_id = admin.get("/api/villages").json()[0]["id"]
    r = admin.post("/api/schools", json={"name": f"新九年制学校{_u()}", "kind": "nine_year", "village_id": village_id})
    assert r.status_code == 201, r.text
    school = r.json()
    assert school["kind_label"] == "九年一贯制学校" and school["village_id"] == village_id
    r = admin.post("/api/classes", json={"school_id": school["id"], "grade": 8, "name": "八年级（1）班",
                                         "entry_year": 2025})
    assert r.status_code == 201, r.text
    klass = r.json()
    assert admin.get(f"/api/classes?school_id={school['id']}").json() == [klass]
    r = admin.patch(f"/api/classes/{klass['id']}", json={"grade": 9})
    assert r.status_code == 400 and {e["field"] for e in r.json()["errors"]} == {"grade"}  # still 八年级（1）班
    r = admin.patch(f"/api/classes/{klass['id']}", json={"grade": 9, "name": "九年级（1）班", "entry_year": 2024})
    assert r.status_code == 200 and r.json()["grade"] == 9
    r = admin.patch(f"/api/schools/{school['id']}", json={"village_id": None})
    assert r.status_code == 200 and r.json()["village_id"] is None


def test_departments_listed_and_renamed(admin: Any, persona: Any) -> None:
    departments = persona("bd_police").get("/api/departments").json()
    assert {"police", "justice"} <= {d["duty_code"] for d in departments}
    culture = next(d for d in departments if d["duty_code"] == "culture")
    r = admin.patch(f"/api/departments/{culture['id']}", json={"name": "文化站"})
    assert r.status_code == 200 and r.json()["duty_label"] == "文化站"
    assert "duty_code" in _fields(admin.post("/api/departments", json={"duty_code": "police"}))


def test_bad_bodies_are_problems_naming_the_field(admin: Any) -> None:
    assert _fields(admin.post("/api/villages", json={"name": "  "})) == {"name"}
    problem = _problem(admin.post("/api/schools", json={"name": f"学校{_u()}", "kind": "university"}))
    assert problem["errors"][0]["field"] == "kind" and "学校类型无效" in problem["errors"][0]["message"]
    middle = _school_id(admin, "middle")
    r = admin.post("/api/classes", json={"school_id": middle, "grade": 2, "name": "二（1）班", "entry_year": 2025})
    assert _fields(r) == {"grade"}
    assert "school_id" in _fields(admin.post("/api/classes", json={"grade": 7}))  # msgspec: a required field
    assert "grade" in _fields(admin.post("/api/classes", json={"school_id": middle, "grade": "七",
                                                               "name": "x", "entry_year": 2026}))


def test_a_reader_can_read_but_not_write(persona: Any, admin: Any) -> None:
    leader = persona("bd_leader")
    assert leader.get("/api/villages").status_code == 200
    assert leader.get("/api/schools").status_code == 200
    name = f"不该有的村{_u()}"
    r = leader.post("/api/villages", json={"name": name})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    village_id = admin.get("/api/villages").json()[0]["id"]
    assert leader.patch(f"/api/villages/{village_id}", json={"name": name}).status_code == 403
    assert name not in {v["name"] for v in admin.get("/api/villages").json()}
    assert persona("bd_mid_teacher").get("/api/people").status_code == 403


def test_another_townships_ids_are_not_found_and_nothing_changes(admin: Any, lg_ids: dict[str, int],
                                                                  persona: Any) -> None:
    assert admin.get(f"/api/villages/{lg_ids['village']}").status_code == 404
    assert admin.patch(f"/api/villages/{lg_ids['village']}", json={"name": "探针改名"}).status_code == 404
    assert admin.get(f"/api/classes?school_id={lg_ids['school']}").status_code == 404
    r = admin.post("/api/classes", json={"school_id": lg_ids["school"], "grade": 7, "name": "探针班",
                                         "entry_year": 2026})
    assert r.status_code == 404
    r = admin.post("/api/memberships", json={"user_id": lg_ids["user"], "role": "subject_teacher",
                                             "school_id": _school_id(admin, "middle")})
    assert r.status_code == 404
    username = f"probe_{_u()}"
    r = admin.post("/api/people", json={"username": username, "display_name": "探针", "password": "Probe2026x",
                                        "role": "class_teacher", "school_id": lg_ids["school"]})
    assert r.status_code == 404
    lg_admin = persona("lg_admin")
    assert "探针改名" not in {v["name"] for v in lg_admin.get("/api/villages").json()}
    assert "探针班" not in {c["name"] for c in lg_admin.get("/api/classes").json()}
    r = admin.client.post("/api/auth/token", json={"username": username, "password": "Probe2026x"})
    assert r.status_code == 401  # the person was never created


# --- people through the API --------------------------------------------------------------------

def test_people_created_listed_given_a_role_and_deactivated(admin: Any, persona: Any) -> None:
    middle = _school_id(admin, "middle")
    klass = admin.get(f"/api/classes?school_id={middle}").json()[0]
    username = f"t_{_u()}"
    r = admin.post("/api/people", json={"username": username, "display_name": "吴老师", "phone": "13912345678",
                                        "password": "Baoxue2026x", "role": "class_teacher",
                                        "class_ids": [klass["id"]], "title": "班主任"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["role_label"], first["unit_id"], first["class_names"]) == ("班主任", middle, [klass["name"]])

    r = admin.post("/api/memberships", json={"user_id": first["user_id"], "role": "academic_office",
                                             "school_id": middle, "title": "教导员"})
    assert r.status_code == 201, r.text
    second = r.json()
    people = admin.get("/api/people").json()
    assert {p["membership_id"] for p in people} >= {first["membership_id"], second["membership_id"]}

    # A principal sees the people of their own school only.
    seen = persona("bd_mid_principal").get("/api/people").json()
    assert first["membership_id"] in {p["membership_id"] for p in seen}
    assert {p["unit_id"] for p in seen} == {middle}

    assert admin.delete(f"/api/memberships/{second['membership_id']}").status_code == 204
    assert second["membership_id"] not in {p["membership_id"] for p in admin.get("/api/people").json()}

    # The new person can log in and acts as a class teacher.
    r = admin.client.post("/api/auth/token", json={"username": username, "password": "Baoxue2026x"})
    assert r.status_code == 201 and r.json()["me"]["membership"]["role"] == "class_teacher"


def test_people_validation(admin: Any) -> None:
    r = admin.post("/api/people", json={"username": "bd_leader", "display_name": "", "password": "123",
                                        "role": "village_cadre"})
    assert _fields(r) == {"username", "display_name", "password", "village_id"}
    assert "角色" in _problem(admin.post("/api/people", json={
        "username": f"t_{_u()}", "display_name": "甲", "password": "Baoxue2026x", "role": "king"}))["errors"][0][
        "message"]


def test_the_admin_cannot_end_the_membership_they_act_in(admin: Any) -> None:
    membership_id = admin.me()["membership"]["id"]
    r = admin.delete(f"/api/memberships/{membership_id}")
    assert _fields(r) == {"membership_id"}


def test_openapi_documents_the_tenancy_api(client: Any) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    for path in ("/api/villages", "/api/schools/{school_id}", "/api/classes", "/api/people",
                 "/api/memberships/{membership_id}", "/api/imports/structure"):
        assert path in paths, path
    assert not any(p.startswith("/admin") for p in paths)


# --- pages -------------------------------------------------------------------------------------

def browser_login(app: Any, username: str) -> Any:
    """A separate client with its own cookies: log in by the form, as a person would."""
    from litestar.testing import TestClient

    browser = TestClient(app, base_url="http://testserver.local")
    browser.get("/login")
    r = browser.post("/login", data={"username": username, "password": DEMO_PASSWORD, "next": "/",
                                     "_csrf_token": browser.cookies.get("csrftoken")}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    return browser


def form_post(browser: Any, url: str, data: dict[str, Any], **kw: Any) -> Any:
    return browser.post(url, data={**data, "_csrf_token": browser.cookies.get("csrftoken")},
                        follow_redirects=False, **kw)


@pytest.fixture(scope="module")
def admin_browser(app: Any) -> Any:
    return browser_login(app, "bd_admin")


@pytest.mark.parametrize("path, heading", [
    ("/admin/villages", "村委会"), ("/admin/schools", "学校与班级"), ("/admin/departments", "部门"),
    ("/admin/people", "人员与角色"), ("/admin/import", "批量导入"),
])
def test_pages_render(admin_browser: Any, path: str, heading: str) -> None:
    r = admin_browser.get(path)
    assert r.status_code == 200, r.text
    assert re.search(rf"<h1>{heading}", r.text)
    assert 'name="_csrf_token"' in r.text  # the admin sees the forms


def test_reader_sees_lists_without_forms(app: Any) -> None:
    browser = browser_login(app, "bd_leader")
    for path, shown in (("/admin/villages", "板当村"), ("/admin/schools", "板当中学"), ("/admin/departments", "派出所")):
        r = browser.get(path)
        assert r.status_code == 200 and shown in r.text
        assert 'form method="post" action="/admin/' not in r.text and "修改</a>" not in r.text
    assert browser.get("/admin/people").status_code == 200
    assert browser.get("/admin/import").status_code == 403
    r = form_post(browser, "/admin/villages", {"name": f"页面村{_u()}"})
    assert r.status_code == 403


def test_village_form_posts_redirects_and_shows_errors(admin_browser: Any, admin: Any) -> None:
    name = f"页面村{_u()}"
    r = form_post(admin_browser, "/admin/villages", {"name": name, "code": ""})
    assert r.status_code == 303 and r.headers["location"] == "/admin/villages?saved=1"
    page = admin_browser.get("/admin/villages?saved=1").text
    assert name in page and "已保存" in page
    r = form_post(admin_browser, "/admin/villages", {"name": name})
    assert r.status_code == 400 and "本乡镇已有名为" in r.text and 'class="field has-error"' in r.text
    village = next(v for v in admin.get("/api/villages").json() if v["name"] == name)
    assert admin_browser.get(f"/admin/villages/{village['id']}").status_code == 200
    r = form_post(admin_browser, f"/admin/villages/{village['id']}", {"name": name + "改", "code": "1"})
    assert r.status_code == 303
    assert name + "改" in {v["name"] for v in admin.get("/api/villages").json()}


def test_school_and_class_forms(admin_browser: Any, admin: Any) -> None:
    name = f"页面小学{_u()}"
    assert form_post(admin_browser, "/admin/schools", {"name": name, "kind": "primary", "code": "",
                                                       "village_id": ""}).status_code == 303
    school = next(s for s in admin.get("/api/schools").json() if s["name"] == name)
    r = form_post(admin_browser, "/admin/classes", {"school_id": school["id"], "grade": "8", "name": "八（1）班",
                                                    "entry_year": "2025"})
    assert r.status_code == 400 and "小学只有一年级到六年级" in r.text
    r = form_post(admin_browser, "/admin/classes", {"school_id": school["id"], "grade": "1", "name": "一（1）班",
                                                    "entry_year": "2026"})
    assert r.status_code == 303
    # htmx asks for the class rows of one school: a fragment, not a page.
    r = admin_browser.get(f"/admin/schools?school_id={school['id']}", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith('<tbody id="class-rows">')
    assert "一（1）班" in r.text and "<html" not in r.text and r.headers["vary"] == "HX-Request"


def test_person_form_and_unit_fragment(admin_browser: Any, admin: Any) -> None:
    r = admin_browser.get("/admin/people?role=village_cadre", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="unit-fields"' in r.text and "所属村委会" in r.text and "<html" not in r.text
    village_id = admin.get("/api/villages").json()[0]["id"]
    username = f"p_{_u()}"
    person = {"username": username, "display_name": "周村干", "phone": "", "password": "Baoxue2026x",
              "role": "village_cadre", "village_id": str(village_id), "school_id": "", "title": "文书"}
    r = form_post(admin_browser, "/admin/people", {**person, "password": "short"})
    assert r.status_code == 400 and "初始密码至少需要" in r.text and "Baoxue2026x" not in r.text
    assert form_post(admin_browser, "/admin/people", person).status_code == 303
    row = next(p for p in admin.get("/api/people").json() if p["username"] == username)
    assert row["unit_id"] == village_id and row["title"] == "文书"
    assert admin_browser.get(f"/admin/people/{row['user_id']}").status_code == 200
    r = form_post(admin_browser, f"/admin/memberships/{row['membership_id']}/deactivate", {})
    assert r.status_code == 303
    assert row["membership_id"] not in {p["membership_id"] for p in admin.get("/api/people").json()}


def test_nobody_grants_themselves_a_role(admin: Any) -> None:
    """An administrator cannot switch to a self-granted principal role and export every child unmasked."""
    me = admin.me()
    school = admin.get("/api/schools").json()[0]["id"]
    r = admin.post("/api/memberships", json={"user_id": me["user_id"], "role": "principal", "school_id": school})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "user_id" and "自己" in r.json()["errors"][0]["message"]
    assert len(admin.me()["memberships"]) == len(me["memberships"])


def test_a_locked_account_says_so_until_when_in_china_time(signed_in: Any, demo: Any,
                                                          townships: dict[str, int]) -> None:
    from datetime import UTC, datetime, timedelta

    from baoxue.platform.clock import clock
    from baoxue.platform.identity import hash_password
    from baoxue.platform.permissions import Role
    from baoxue.tenants.tenancy.models import Membership
    from tests.pages import visible_text

    # 17:30 UTC is already the next day in China: a UTC date would show the wrong day.
    until = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    with cross_township_session("tests: a locked person", demo) as s:
        school = s.scalars(select(School).where(School.township_id == townships["DEMO-BD"])).first()
        user = User(username=f"locked_{_u()}", display_name="锁定测试", password_hash=hash_password("x" * 12),
                    locked_until=until)
        s.add(user)
        s.flush()
        s.add(Membership(township_id=townships["DEMO-BD"], user_id=user.id, role=Role.SUBJECT_TEACHER.value,
                         school_id=school.id))
        user_id = user.id
    admin = signed_in("bd_admin")
    try:
        clock.freeze(until - timedelta(minutes=10))
        text = visible_text(admin.get(f"/admin/people/{user_id}").text)
        assert "已锁定" in text and "2026-11-28 01:30" in text and "正常" not in text.split("账号状态")[1][:20]
        clock.freeze(until + timedelta(minutes=1))
        text = visible_text(admin.get(f"/admin/people/{user_id}").text)
        assert "已锁定" not in text and "正常" in text.split("账号状态")[1][:20]
    finally:
        clock.unfreeze()


def test_the_people_page_says_why_one_cannot_grant_oneself_a_role(signed_in: Any, admin: Any) -> None:
    me = admin.me()
    browser = signed_in("bd_admin")
    page = browser.get(f"/admin/people/{me['user_id']}").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    school = admin.get("/api/schools").json()[0]["id"]
    r = browser.post("/admin/memberships", data={"user_id": str(me["user_id"]), "role": "principal",
                                                 "school_id": str(school), "_csrf_token": token})
    assert r.status_code == 400 and "不能给自己增加身份" in r.text
