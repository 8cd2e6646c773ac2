"""The task pages and API over the demo: the office assigns from its form, the principal uploads
and submits from the copy's page, the office accepts through the API; bad input is refused by
field in Chinese; another unit's copy is a 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from baoxue.platform.clock import clock
from tests.pages import csrf_token
from tests.tenants.tasks.helpers import PDF, member_key, school_key, village_key


def test_the_office_assigns_the_principal_submits_the_office_accepts(
        demo: Any, persona: Any, signed_in: Any, townships: dict[str, int]) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    mid, village = school_key(demo, bd), village_key(demo, "bd_village1")
    office = signed_in("bd_office")
    form = office.get("/tasks/new")
    assert form.status_code == 200 and "下达任务" in form.text and "板当中学" in form.text
    token = csrf_token(form.text)
    fields = {"_csrf_token": token, "title": "上报春季学期控辍保学工作总结", "evidence": ["note", "files"],
              "assignees": [mid, village]}
    late = office.post("/tasks", data={**fields, "deadline": (clock.today() - timedelta(days=1)).isoformat()})
    assert late.status_code == 400 and "截止日期不能早于今天" in late.text
    made = office.post("/tasks", data={**fields, "deadline": (clock.today() + timedelta(days=7)).isoformat()},
                       follow_redirects=False)
    assert made.status_code == 303
    task_id = int(made.headers["location"].split("?")[0].rsplit("/", 1)[1])
    copies = {c["assignee"]: c for c in persona("bd_office").get(f"/api/tasks/{task_id}").json()["copies"]}
    assert set(copies) == {mid, village}
    copy_id = copies[mid]["id"]

    principal = signed_in("bd_mid_principal")
    assert "上报春季学期控辍保学工作总结" in principal.get("/tasks").text
    page = principal.get(f"/tasks/copies/{copy_id}")
    assert page.status_code == 200 and "提交完成材料" in page.text and "验收通过" not in page.text
    token = csrf_token(page.text)
    early = principal.post(f"/tasks/copies/{copy_id}/steps", data={"_csrf_token": token, "action": "submit",
                                                                   "note": "已完成。"})
    assert early.status_code == 400 and "请先添加材料" in early.text
    bad = principal.post(f"/tasks/copies/{copy_id}/evidence", data={"_csrf_token": token},
                         files={"file": ("总结.pdf", b"not a pdf", "application/pdf")})
    assert bad.status_code == 400 and "PDF" in bad.text
    uploaded = principal.post(f"/tasks/copies/{copy_id}/evidence", data={"_csrf_token": token},
                              files={"file": ("总结.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert uploaded.status_code == 303
    submitted = principal.post(f"/tasks/copies/{copy_id}/steps", data={"_csrf_token": token, "action": "submit",
                                                                       "note": "总结已上传。"}, follow_redirects=False)
    assert submitted.status_code == 303

    # Another village reads nothing of it; the other township's school cannot be named.
    assert persona("bd_village2").get(f"/api/tasks/copies/{copy_id}").status_code == 404
    assert persona("bd_village2").get(f"/api/tasks/{task_id}").status_code == 404
    foreign = persona("bd_office").post("/api/tasks", json={
        "title": "越界", "deadline": (clock.today() + timedelta(days=3)).isoformat(),
        "assignees": [school_key(demo, lg)]})
    assert foreign.status_code == 404

    api = persona("bd_office")
    detail = api.get(f"/api/tasks/copies/{copy_id}").json()
    assert detail["state"] == "submitted" and [e["label"] for e in detail["evidence"]] == ["总结.pdf"]
    download = api.get(f"/api/tasks/copies/{copy_id}/evidence/{detail['evidence'][0]['id']}")
    assert download.status_code == 200 and download.content == PDF
    accepted = api.post(f"/api/tasks/copies/{copy_id}/steps", json={"action": "accept"})
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    again = api.post(f"/api/tasks/copies/{copy_id}/steps", json={"action": "accept"})
    assert again.status_code == 409 and "已验收" in again.json()["detail"]


def test_the_api_names_the_refused_field(persona: Any, demo: Any, townships: dict[str, int]) -> None:
    api = persona("bd_office")
    refused = api.post("/api/tasks", json={"title": "", "deadline": "2020-01-01",
                                           "assignees": [school_key(demo, townships["DEMO-BD"])]})
    assert refused.status_code == 400
    assert {e["field"] for e in refused.json()["errors"]} == {"title", "deadline"}
    own = member_key(demo, "bd_office")
    made = api.post("/api/tasks", json={"title": "自查", "deadline": (clock.today() + timedelta(days=2)).isoformat(),
                                        "assignees": [own]}).json()
    copy_id = made["copies"][0]["id"]
    assert api.post(f"/api/tasks/copies/{copy_id}/steps", json={"action": "submit", "note": "好了"}).status_code == 200
    own_accept = api.post(f"/api/tasks/copies/{copy_id}/steps", json={"action": "accept"})
    assert own_accept.status_code == 409 and "自己" in own_accept.json()["detail"]
    assert persona("bd_leader").post(f"/api/tasks/copies/{copy_id}/steps",
                                     json={"action": "accept"}).json()["state"] == "accepted"


def test_templates_are_the_offices(persona: Any, signed_in: Any, demo: Any, townships: dict[str, int]) -> None:
    office = signed_in("bd_office")
    page = office.get("/tasks/templates")
    assert page.status_code == 200 and "报送控辍保学月报" in page.text  # the demo's monthly template
    assert persona("bd_mid_principal").get("/api/tasks/templates").status_code == 403
    refused = office.post("/tasks/templates", data={"_csrf_token": csrf_token(page.text), "title": "月报",
                                                    "recurrence": "monthly", "day_of_month": "30",
                                                    "deadline_days": "5", "evidence": "note",
                                                    "assignees": school_key(demo, townships["DEMO-BD"])})
    assert refused.status_code == 400 and "1—28" in refused.text
