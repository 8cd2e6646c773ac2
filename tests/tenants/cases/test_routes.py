"""The case file through the API and the pages, committed like real use (each test takes children
with no case yet): opening, a visit with a photo, the photo behind its check, the registers."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from tests.pages import csrf_token
from tests.tenants.cases.helpers import caseless_child, jpeg
from tests.tenants.status_changes.helpers import class_id, login_actor, school_ids



@pytest.fixture(scope="module")
def bd(demo: Any, townships: dict[str, int]) -> dict[str, int]:
    return school_ids(demo, townships["DEMO-BD"])


def test_the_api_opens_a_case_once_and_records_a_visit_with_a_photo(persona: Any, demo: Any, bd: dict[str, int],
                                                                       signed_in: Any) -> None:
    academic = persona("bd_mid_academic")
    child = caseless_child(demo, class_id(demo, bd["mid"], 8, 2))
    r = academic.post("/api/cases", json={"student_id": child, "note": "连续两天未到校。", "reason_code": "weary"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["stage"], case["stage_label"], case["entries"][0]["entry_kind"]) == ("identified", "疑似辍学", "opened")
    again = academic.post("/api/cases", json={"student_id": child, "note": "再建。"})
    assert again.status_code == 409, again.text

    photo = {"filename": "IMG_1.jpg", "content": base64.b64encode(jpeg(gps=True)).decode()}
    r = academic.post(f"/api/cases/{case['id']}/visits", json={
        "met": "母亲", "found": "孩子在家。", "mode": "home", "reason_code": "other", "photos": [photo]})
    assert r.status_code == 400 and "reason_text" in r.text
    r = academic.post(f"/api/cases/{case['id']}/visits", json={
        "met": "母亲", "found": "孩子在家。", "mode": "home", "reason_code": "weary", "photos": [photo]})
    assert r.status_code == 201, r.text
    visit = r.json()
    assert visit["attempt"] == 1 and len(visit["photo_ids"]) == 1
    detail = academic.get(f"/api/cases/{case['id']}").json()
    assert [e["entry_kind"] for e in detail["entries"]] == ["opened", "home_visit"]
    assert detail["attempts"] == 1

    photo_id = visit["photo_ids"][0]
    r = academic.get(f"/api/cases/photos/{photo_id}")
    assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff" and b"Exif" not in r.content
    page = signed_in("bd_mid_principal")
    r = page.get(f"/cases/photos/{photo_id}/small")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/jpeg")
    assert "no-store" in r.headers.get("cache-control", "")
    # Another township's people, whatever their role, get the one 404.
    for username in ("lg_office", "lg_leader", "lg_mid_principal", "lg_mid_teacher", "lg_village1"):
        assert persona(username).get(f"/api/cases/photos/{photo_id}").status_code in (403, 404)
    # A teacher of another class of the school does not see it either.
    assert signed_in("bd_cps_teacher").get(f"/cases/photos/{photo_id}").status_code == 404


def test_a_closed_case_refuses_changes_through_the_api(persona: Any, demo: Any, bd: dict[str, int]) -> None:
    academic = persona("bd_mid_academic")
    child = caseless_child(demo, class_id(demo, bd["mid"], 9, 1))
    case = academic.post("/api/cases", json={"student_id": child, "note": "未到校。"}).json()
    r = academic.post(f"/api/cases/{case['id']}/close", json={"closing": "exempted", "closing_evidence": "缓学一年。"})
    assert r.status_code == 400 and "document" in r.text
    pdf = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
    r = academic.post(f"/api/cases/{case['id']}/close", json={
        "closing": "exempted", "closing_evidence": "县教育局批准缓学一年（某教复〔2026〕3号）。",
        "document": {"filename": "批复.pdf", "content": pdf}})
    assert r.status_code == 201, r.text
    assert r.json()["stage"] == "closed"
    r = academic.post(f"/api/cases/{case['id']}/entries", json={"entry_kind": "note", "summary": "补记。"})
    assert r.status_code == 409


def test_a_visit_posted_from_the_case_page_with_a_photo(signed_in: Any, persona: Any, demo: Any,
                                                        bd: dict[str, int]) -> None:
    teacher = login_actor(demo, "bd_mid_teacher")
    child = caseless_child(demo, teacher.membership.class_ids[0])
    page = signed_in("bd_mid_teacher")
    form = page.get(f"/cases/new?student_id={child}")
    assert form.status_code == 200
    r = page.post("/cases", data={"student_id": str(child), "note": "今天未到校。", "_csrf_token": csrf_token(form.text)},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
    case_url = r.headers["location"].split("?")[0]
    html = page.get(case_url).text
    assert "signature.js" in html and 'capture="environment"' in html
    r = page.post(f"{case_url}/visits", data={
        "_csrf_token": csrf_token(html), "mode": "home", "visitor_ids": str(teacher.membership_id), "met": "奶奶",
        "found": "孩子说明天回学校。", "reason_code": "weary", "visited_at": ""},
        files={"photos": ("IMG_2.jpg", jpeg(), "image/jpeg")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    html = page.get(case_url).text
    assert "第1次劝返" in html and "孩子说明天回学校。" in html
    found = re.search(r'/cases/photos/(\d+)/small', html)
    assert found and page.get(found.group(0)).status_code == 200
    # The student page loads the child's cases.
    assert f"/cases/student/{child}" in page.get(f"/students/{child}").text
    assert case_url in page.get(f"/cases/student/{child}").text


def test_the_registers_page_and_its_workbooks(signed_in: Any) -> None:
    from openpyxl import load_workbook

    page = signed_in("bd_mid_principal")
    html = page.get("/cases/registers").text
    assert "教师家访次数" in html and "易辍学生家访" in html
    r = page.get("/cases/registers/visits.xlsx")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["教师家访统计", "家访记录", "易辍学生家访", "疑似补录"]
    sheet = book["家访记录"]
    assert "家访记录表" in sheet["A1"].value and sheet["A2"].value.startswith("填报单位（盖章）")
    assert [c.value for c in sheet[3]][:5] == ["序号", "学生姓名", "班级", "家访日期", "家访教师"]
    assert any("审核人" in str(row[0].value) for row in sheet.iter_rows() if row[0].value)
    r = page.get("/cases/registers/dropouts.xlsx")
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["辍学学生登记表"]
    assert [c.value for c in sheet[3]][:4] == ["序号", "姓名", "性别", "出生年月"]
    assert sheet.max_row > 5  # the demo's reported cases


def test_the_persuasion_record_counts_each_attempt(signed_in: Any, persona: Any, demo: Any,
                                                    townships: dict[str, int]) -> None:
    from openpyxl import load_workbook

    from baoxue.tenants.cases.models import Case

    with cross_township_session("tests: an enforcing case", demo) as s:
        case_id = s.scalars(select(Case.id).where(Case.township_id == townships["DEMO-BD"],
                                                  Case.stage == "enforcing").order_by(Case.id)).first()
    r = signed_in("bd_office").get(f"/cases/{case_id}/persuasion.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content))["劝返情况记录"]
    firsts = [row[0].value for row in sheet.iter_rows()]
    assert "劝返次数" in firsts and {"第1次", "第2次", "第3次"} <= set(firsts)
    assert persona("lg_office").get(f"/api/cases/{case_id}").status_code == 404
