"""Status changes through the API and the pages: a whole transfer, refusals, scope, graduation, documents.

These go through HTTP and commit, like real use: each test takes children no change has
touched yet (`free_child`), and the graduation puts its grade back when it is done.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from baoxue.platform.audit import AuditEvent
from baoxue.platform.db import cross_township_session
from baoxue.tenants.status_changes.flows import REQUESTABLE_KINDS
from baoxue.tenants.status_changes.models import StatusChange, StatusStep
from baoxue.tenants.students.models import Student
from baoxue.tenants.worklist.models import WorkItem
from tests.pages import csrf_token, parse, visible_text
from tests.tenants.status_changes.helpers import PDF, class_id, free_child, login_actor, school_ids

PASSWORD = "Test2026x"


def _open_items(settings: Any, change_id: int) -> set[tuple[str, str, int | None, str, int | None]]:
    with cross_township_session("tests: a change's open items", settings) as s:
        items = s.scalars(select(WorkItem).where(WorkItem.subject_type == "status_changes",
                                                 WorkItem.subject_id == change_id, WorkItem.closed_at.is_(None)))
        return {(i.kind.split(":")[1], i.owner_unit_kind, i.owner_unit_id, i.owner_role, i.owner_membership_id)
                for i in items}


def _student(settings: Any, student_id: int) -> Student:
    with cross_township_session("tests: a student", settings) as s:
        return s.get(Student, student_id)


def _errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}



@pytest.fixture(scope="module")
def bd(demo: Any, townships: dict[str, int]) -> dict[str, int]:
    return school_ids(demo, townships["DEMO-BD"])


@pytest.fixture(scope="module")
def p1_academic(persona: Any, bd: dict[str, int]) -> Any:
    """The first primary school's academic office: the demo has no login there, the administrator adds one."""
    username = f"sc_p1_academic_{secrets.token_hex(3)}"
    r = persona("bd_admin").post("/api/people", json={
        "username": username, "display_name": "李教导", "password": PASSWORD, "role": "academic_office",
        "school_id": bd["p1"]})
    assert r.status_code == 201, r.text
    return persona(username, PASSWORD)


# --- a transfer inside the township, step by step ---------------------------------------------

def test_a_transfer_walks_through_every_approval_and_the_receiving_schools_confirmation(
        persona: Any, demo: Any, bd: dict[str, int], p1_academic: Any, signed_in: Any) -> None:
    teacher, academic = persona("bd_cps_teacher"), persona("bd_cps_academic")
    principal = persona("bd_cps_principal")  # acting as the principal: the login's first membership
    cps, p1 = bd["cps"], bd["p1"]
    child = free_child(demo, class_id(demo, cps, 3))
    r = teacher.post("/api/status-changes", json={"student_id": child, "change_kind": "transfer_out",
                                                  "to_school_id": p1, "reason": "随外婆生活，就近入学。"})
    assert r.status_code == 201, r.text
    change = r.json()
    assert (change["state"], change["next_step"], change["to_school_id"]) == ("pending", "class_teacher", p1)
    assert [s["step"] for s in change["steps"]] == ["application"] and change["can_decide"]
    cid = change["id"]
    teacher_membership = teacher.me()["membership"]["id"]
    assert _open_items(demo, cid) == {("class_teacher", "school", cps, "class_teacher", teacher_membership)}

    # Steps go in order, each by its own people: the class teacher cannot give the school's opinion.
    assert teacher.post(f"/api/status-changes/{cid}/steps",
                        json={"step": "school", "approved": True}).status_code == 400
    assert teacher.post(f"/api/status-changes/{cid}/steps",
                        json={"step": "class_teacher", "approved": True, "opinion": "情况属实。"}).status_code == 201
    assert _open_items(demo, cid) == {("school", "school", cps, "academic_office", None)}
    refused = teacher.post(f"/api/status-changes/{cid}/steps", json={"step": "school", "approved": True})
    assert refused.status_code == 403 and "教导处" in refused.json()["detail"]
    assert principal.post(f"/api/status-changes/{cid}/steps",
                          json={"step": "school", "approved": True}).status_code == 403
    assert academic.post(f"/api/status-changes/{cid}/steps",
                         json={"step": "school", "approved": True, "opinion": "同意。"}).status_code == 201
    assert _open_items(demo, cid) == {("principal", "school", cps, "principal", None)}
    # A refusal needs its reason: a 400 naming the field.
    no_reason = principal.post(f"/api/status-changes/{cid}/steps", json={"step": "principal", "approved": False})
    assert no_reason.status_code == 400 and _errors(no_reason) == {"opinion": "不同意时须写明理由。"}
    assert no_reason.headers["content-type"].startswith("application/problem+json")
    assert principal.post(f"/api/status-changes/{cid}/steps",
                          json={"step": "principal", "approved": True}).status_code == 201
    assert _open_items(demo, cid) == {("central_school", "school", cps, "academic_office", None)}
    filed = academic.post(f"/api/status-changes/{cid}/steps",
                          json={"step": "central_school", "approved": True, "opinion": "已备案。"})
    assert filed.status_code == 201 and filed.json()["state"] == "in_transfer" and filed.json()["confirm_by"]
    assert _open_items(demo, cid) == {("arrival", "school", p1, "academic_office", None),
                                      ("overdue", "school", cps, "academic_office", None)}
    assert _student(demo, child).incoming_school_id == p1

    # The receiving school reads the child it is receiving, and confirms the arrival into a class.
    assert p1_academic.get(f"/api/students/{child}").status_code == 200
    no_class = p1_academic.post(f"/api/status-changes/{cid}/steps", json={"step": "arrival", "approved": True})
    assert no_class.status_code == 400 and "to_class_id" in _errors(no_class)
    new_class = class_id(demo, p1, 3)
    done = p1_academic.post(f"/api/status-changes/{cid}/steps",
                            json={"step": "arrival", "approved": True, "to_class_id": new_class})
    assert done.status_code == 201 and done.json()["state"] == "completed"
    student = _student(demo, child)
    assert (student.school_id, student.class_id, student.incoming_school_id, student.status) == (p1, new_class,
                                                                                                 None, "01")
    assert _open_items(demo, cid) == set()
    assert [s["step"] for s in done.json()["steps"]] == ["application", "class_teacher", "school", "principal",
                                                         "central_school", "arrival"]
    # The change's page lists every step, who took it and when.
    text = visible_text(signed_in("bd_leader").get(f"/status-changes/{cid}").text)
    for words in ("班主任意见", "学校意见（教导处）", "校长审批", "中心校备案", "转入学校确认到校", "已备案。", "李教导"):
        assert words in text, words


# --- what no one may do ------------------------------------------------------------------------

def test_withdrawal_is_refused_with_the_law_and_no_page_offers_it(persona: Any, demo: Any, bd: dict[str, int],
                                                                  signed_in: Any) -> None:
    child = free_child(demo, class_id(demo, bd["mid"], 8, 3))
    for kind in ("withdrawal", "expulsion"):
        r = persona("bd_mid_academic").post("/api/status-changes", json={
            "student_id": child, "change_kind": kind, "reason": "家长要求孩子回家务农。"})
        assert r.status_code == 400, r.text
        assert "《中华人民共和国义务教育法》" in _errors(r)["change_kind"]
    browser = signed_in("bd_mid_academic")
    pages = [browser.get(f"/status-changes/new?student_id={child}"), browser.get("/status-changes"),
             *(browser.get(f"/status-changes/new?student_id={child}&change_kind={k}") for k in REQUESTABLE_KINDS)]
    for page in pages:
        assert page.status_code == 200
        assert "退学" not in page.text and "开除" not in page.text
    form = next(f for f in parse(pages[0].text).forms if "change_kind" in f.selects)
    assert form.selects["change_kind"] == ["", *(str(k) for k in REQUESTABLE_KINDS)]


def test_a_class_teacher_sees_only_their_classs_changes(persona: Any, demo: Any, signed_in: Any) -> None:
    teacher = persona("bd_mid_teacher")
    class_ids = login_actor(demo, "bd_mid_teacher").membership.class_ids
    everyone = persona("bd_leader").get("/api/status-changes").json()
    mine = [c for c in everyone if c["class_id"] in class_ids]
    others = [c for c in everyone if c["class_id"] not in class_ids and c["school_name"] == mine[0]["school_name"]]
    assert mine and others
    assert {c["id"] for c in teacher.get("/api/status-changes").json()} == {c["id"] for c in mine}
    assert teacher.get(f"/api/status-changes/{mine[0]['id']}").status_code == 200
    assert teacher.get(f"/api/status-changes/{others[0]['id']}").status_code == 404
    assert signed_in("bd_mid_teacher").get(f"/status-changes/{others[0]['id']}").status_code == 404
    assert teacher.post(f"/api/status-changes/{others[0]['id']}/steps",
                        json={"step": "principal", "approved": True}).status_code == 404
    # Villages and departments read no changes; the township reads them all.
    assert persona("bd_village1").get("/api/status-changes").status_code == 403
    assert persona("bd_office").get(f"/api/status-changes/{others[0]['id']}").status_code == 200


# --- the pages: a request with its certificate, a step, the document ---------------------------

def test_a_suspension_is_requested_and_decided_on_the_pages(signed_in: Any, persona: Any, demo: Any) -> None:
    browser = signed_in("bd_mid_teacher")
    own_class = login_actor(demo, "bd_mid_teacher").membership.class_ids[0]
    child = free_child(demo, own_class)
    form = browser.get(f"/status-changes/new?student_id={child}&change_kind=suspension")
    assert form.status_code == 200 and 'type="file"' in form.text and "医院诊断证明" in form.text
    token = csrf_token(form.text)
    missing = browser.post("/status-changes", data={"student_id": str(child), "change_kind": "suspension",
                                                    "reason": "住院治疗。", "_csrf_token": token},
                           files={"document": ("", b"", "application/octet-stream")}, follow_redirects=False)
    assert missing.status_code == 400 and "须上传医院诊断证明" in visible_text(missing.text)
    r = browser.post("/status-changes", data={"student_id": str(child), "change_kind": "suspension",
                                              "reason": "住院治疗。", "effective_on": "", "_csrf_token": token},
                     files={"document": ("县医院诊断证明.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, visible_text(r.text)[:300]
    detail_path = r.headers["location"].split("?")[0]
    cid = int(detail_path.rsplit("/", 1)[1])

    page = browser.get(detail_path)
    assert "县医院诊断证明.pdf" in page.text and f'action="/status-changes/{cid}/steps"' in page.text
    refused = browser.post(f"/status-changes/{cid}/steps", data={
        "step": "class_teacher", "approved": "0", "opinion": "", "_csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 400 and "不同意时须写明理由" in visible_text(refused.text)
    approved = browser.post(f"/status-changes/{cid}/steps", data={
        "step": "class_teacher", "approved": "1", "opinion": "已家访，情况属实。", "_csrf_token": token},
        follow_redirects=False)
    assert approved.status_code == 303
    after = browser.get(detail_path)
    assert "已家访，情况属实。" in after.text and f'action="/status-changes/{cid}/steps"' not in after.text

    # The certificate, from the page and the API; each download is on the record.
    download = browser.get(f"/status-changes/{cid}/download")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    assert "attachment" in download.headers["content-disposition"]
    api = persona("bd_mid_principal").get(f"/api/status-changes/{cid}/download")
    assert api.status_code == 200 and api.content == PDF
    with cross_township_session("tests: downloads", demo) as s:
        downloads = s.scalars(select(AuditEvent).where(AuditEvent.event == "status_changes:document:downloaded",
                                                       AuditEvent.entity_id == str(cid))).all()
    assert len(downloads) == 2


def test_the_api_takes_a_certificate_in_base64(persona: Any, demo: Any, bd: dict[str, int]) -> None:
    academic = persona("bd_mid_academic")
    child = free_child(demo, class_id(demo, bd["mid"], 9, 3))
    body = {"student_id": child, "change_kind": "death", "reason": "因病去世。", "effective_on": "2026-11-20",
            "document": {"filename": "死亡证明.pdf", "content": "不是base64"}}
    assert "document" in _errors(academic.post("/api/status-changes", json=body))
    body["document"]["content"] = base64.b64encode(PDF).decode()
    r = academic.post("/api/status-changes", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["has_document"] and r.json()["effective_on"] == "2026-11-20"
    assert academic.get(f"/api/status-changes/{r.json()['id']}/download").content == PDF


# --- graduation -------------------------------------------------------------------------------

def test_the_principal_graduates_the_grade_in_one_action(persona: Any, signed_in: Any, demo: Any,
                                                         townships: dict[str, int]) -> None:
    lg_mid = school_ids(demo, townships["DEMO-LG"])["mid"]
    principal = persona("lg_mid_principal")
    assert persona("lg_mid_academic").post(f"/api/schools/{lg_mid}/graduations", json={"grade": 9}).status_code == 403
    wrong = principal.post(f"/api/schools/{lg_mid}/graduations", json={"grade": 7})
    assert wrong.status_code == 400 and "九年级" in _errors(wrong)["grade"]
    page = signed_in("lg_mid_principal").get("/status-changes/graduation")
    assert page.status_code == 200 and "九年级" in page.text
    r = principal.post(f"/api/schools/{lg_mid}/graduations", json={"grade": 9})
    try:
        assert r.status_code == 201, r.text
        graduated = r.json()["graduated"]
        with cross_township_session("tests: the graduated grade", demo) as s:
            changes = s.scalars(select(StatusChange).where(StatusChange.kind == "graduation",
                                                           StatusChange.school_id == lg_mid)).all()
            statuses = {s_.status for s_ in s.scalars(select(Student).where(
                Student.id.in_([c.student_id for c in changes])))}
        assert graduated > 50 and len(changes) == graduated and statuses == {"07"}
        assert {c.state for c in changes} == {"completed"}
        again = principal.post(f"/api/schools/{lg_mid}/graduations", json={"grade": 9})
        assert again.status_code == 400  # nobody left to graduate
    finally:
        with cross_township_session("tests: put the grade back", demo) as s:
            ids = list(s.scalars(select(StatusChange.id).where(StatusChange.kind == "graduation",
                                                               StatusChange.school_id == lg_mid)))
            students = list(s.scalars(select(StatusChange.student_id).where(StatusChange.id.in_(ids))))
            s.execute(delete(StatusStep).where(StatusStep.change_id.in_(ids)))
            s.execute(delete(StatusChange).where(StatusChange.id.in_(ids)))
            s.execute(update(Student).where(Student.id.in_(students)).values(status="01"))


# --- the student page's history -----------------------------------------------------------------

def test_the_history_partial_shows_every_change_step_and_document(app: Any, persona: Any, db_session: Any,
                                                                  townships: dict[str, int]) -> None:
    from baoxue.tenants.status_changes.service import history_of

    resumption = persona("bd_leader").get("/api/status-changes?change_kind=resumption").json()[0]
    session = db_session(townships["DEMO-BD"])
    history = history_of(session, resumption["student_id"])
    html = app.template_engine.get_template("status_changes/_history.html").render(history=history)
    text = visible_text(html)
    assert [v.kind_label for v in history] == ["休学", "复学"]
    for words in ("学籍变动记录", "休学", "已办结", "复学", "审批中", "诊断证明.pdf", "班主任意见", "教育局审批",
                  "校长审批", "待", "县教育局已批准"):
        assert words in text, words
    assert visible_text(app.template_engine.get_template("status_changes/_history.html")
                        .render(history=[])).strip().endswith("没有学籍变动记录。")
