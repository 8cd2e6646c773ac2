"""The roster through the API and the page, as 板当中学's academic office uses it.

What these requests import is the school's own roster (its export, so nothing changes) or a
file with problems (so nothing is applied): the demo school stays as it was for other tests.
The import's effects are the service tests'.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.db import cross_township_session
from tests.pages import parse, visible_text
from tests.tenants.rosters.conftest import pupil, roster


def _school_id(p: Any) -> int:
    return int(p.me()["membership"]["unit_id"])


def _upload(p: Any, school_id: int, data: bytes, name: str = "名册.xlsx") -> Any:
    return p.post(f"/api/schools/{school_id}/roster/imports", files={"file": (name, data, "application/octet-stream")})


@pytest.fixture(scope="module")
def academic(persona: Any) -> Any:
    return persona("bd_mid_academic")


@pytest.fixture(scope="module")
def mid(academic: Any) -> int:
    return _school_id(academic)


def _audit(settings: Any, request_id: str) -> list[AuditEvent]:
    with cross_township_session("tests: audit by request", settings) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.request_id == request_id)))


def test_the_export_is_the_national_layout_and_reimports_unchanged(academic: Any, mid: int, demo: Any) -> None:
    r = academic.get(f"/api/schools/{mid}/roster")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    ws = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:9] == ("姓名", "性别", "出生日期", "民族", "身份证件类型", "身份证件号", "全国学籍号", "年级", "班级")
    assert len(rows) > 300 and {row[4] for row in rows[1:]} == {"居民身份证"}
    (event,) = _audit(demo, r.headers["x-request-id"])
    assert event.event == "rosters:roster:exported" and event.changes["rows"] == len(rows) - 1

    imported = _upload(academic, mid, r.content)
    assert imported.status_code == 200, imported.text[:500]
    report = imported.json()
    assert set(report) == {"school_id", "school_name", "rows", "created", "updated", "unchanged", "missing",
                           "classes_created", "arrived", "missing_students", "changed_nothing", "summary"}
    assert (report["school_id"], report["school_name"]) == (mid, "板当中学")
    assert (report["rows"], report["created"], report["updated"], report["missing"]) == (len(rows) - 1, 0, 0, 0)
    assert report["unchanged"] == report["rows"] and report["changed_nothing"] and report["classes_created"] == []


def test_a_refused_file_answers_problem_details_with_every_problem_and_the_marked_file(academic: Any,
                                                                                         mid: int) -> None:
    bad = pupil("校验错", 7, "七年级(1)班")
    bad["身份证件号"] = bad["身份证件号"][:-1] + ("0" if bad["身份证件号"][-1] != "0" else "1")
    bad["全国学籍号"] = ""
    r = _upload(academic, mid, roster([pupil("没问题", 7, "七年级(1)班"), bad, pupil("", 7, "七年级(1)班")]))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and body["title"] and "没有导入任何数据" in body["detail"]
    assert body["instance"] == f"/api/schools/{mid}/roster/imports"
    assert [(p["row"], p["column"], p["field"]) for p in body["problems"]] == [(3, "F", "身份证件号"), (4, "A", "姓名")]
    assert "校验位" in body["problems"][0]["reason"]
    assert {e["field"] for e in body["errors"]} == {"学生信息!F3", "学生信息!A4"}
    workbook = academic.get(body["error_workbook"])
    assert workbook.status_code == 200
    marked = load_workbook(io.BytesIO(workbook.content))["学生信息"]
    assert marked["F3"].comment is not None and "校验位" in marked["F3"].comment.text
    # The key opens this school's file only.
    key = body["error_workbook"].split("key=")[1]
    other = academic.get(f"/api/schools/{mid + 1}/roster/errors?key={key}")
    assert other.status_code == 404


def test_a_file_that_is_not_a_workbook_is_a_400(academic: Any, mid: int) -> None:
    r = _upload(academic, mid, b"just text", name="roster.csv")
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "file" and "Excel" in r.json()["errors"][0]["message"]


def test_who_may_import_which_roster(persona: Any, academic: Any, mid: int, townships: dict[str, int],
                                     demo: Any) -> None:
    data = roster([pupil("权限", 7, "七年级(1)班")])
    assert _upload(persona("bd_mid_teacher"), mid, data).status_code == 403  # a class teacher: no permission
    cps = persona("bd_cps_academic")
    assert _upload(cps, mid, data).status_code == 404  # another school of the township
    assert cps.get(f"/api/schools/{mid}/roster").status_code == 404
    with cross_township_session("tests: a school of the other township", demo) as s:
        from baoxue.tenants.tenancy.models import School

        foreign = s.scalars(select(School.id).where(School.township_id == townships["DEMO-LG"]).limit(1)).one()
    assert _upload(academic, foreign, data).status_code == 404
    assert academic.get(f"/api/schools/{foreign}/roster/template").status_code == 404


def test_the_template_downloads(academic: Any, mid: int) -> None:
    r = academic.get(f"/api/schools/{mid}/roster/template")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert book["学籍名册"]["A1"].value == "姓名" and book["学籍名册"]["A2"].value == "王小明"


# --- the page --------------------------------------------------------------------------------------

def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_menu_leads_to_the_school_roster_page(signed_in: Any) -> None:
    browser = signed_in("bd_mid_academic")
    home = browser.get("/")
    assert "/roster" in parse(home.text).links
    r = browser.get("/roster", follow_redirects=False)
    assert r.status_code == 303
    page = browser.get(r.headers["location"])
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "板当中学 · 学籍名册" in text and "上传并导入" in text and "在册学生" in text
    links = parse(page.text).links
    base = r.headers["location"]
    assert {f"{base}/export", f"{base}/template", f"{base}/sample"} <= set(links)
    assert browser.get(f"{base}/template").status_code == 200


def test_the_page_shows_a_refusal_then_a_report(signed_in: Any, academic: Any, mid: int) -> None:
    browser = signed_in("bd_mid_academic")
    base = f"/schools/{mid}/roster"
    token = _csrf(browser.get(base).text)
    bad = pupil("页面错", 7, "七年级(1)班", 出生日期="20990101")
    r = browser.post(base, data={"_csrf_token": token}, files={"file": ("名册.xlsx", roster([bad]), "application/octet-stream")})
    assert r.status_code == 400
    text = visible_text(r.text)
    assert "导入未完成" in text and "晚于今天" in text and "出生日期" in text
    errors_link = next(link for link in parse(r.text).links if "/errors?key=" in link)
    assert browser.get(errors_link).status_code == 200

    export = browser.get(f"{base}/export")
    r = browser.post(base, data={"_csrf_token": token}, files={"file": ("名册.xlsx", export.content,
                                                                         "application/octet-stream")},
                     follow_redirects=False)
    assert r.status_code == 303 and "?report=" in r.headers["location"]
    shown = visible_text(browser.get(r.headers["location"]).text)
    assert "导入结果" in shown and "没有任何改动" in shown and "在平台但不在本次名册中" in shown
    # Another school's login cannot open this report.
    other = signed_in("bd_cps_academic")
    assert other.get(r.headers["location"]).status_code == 404


def test_the_sample_file_downloads_and_is_audited(signed_in: Any, mid: int, demo: Any) -> None:
    browser = signed_in("bd_mid_academic")
    r = browser.get(f"/schools/{mid}/roster/sample")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert "试用文件" in str(ws["A1"].value) and ws["A2"].value == "姓名"
    (event,) = _audit(demo, r.headers["x-request-id"])
    assert event.event == "rosters:sample:exported"
