"""The referral pages and API over the demo: a department's inbox opens on real work; a school
refers from a case and reads the department's outcome on the case's timeline; a wrong step is
refused in Chinese and changes nothing."""

from __future__ import annotations

from typing import Any

from tests.pages import csrf_token
from tests.tenants.referrals.helpers import department, open_case


def test_a_school_refers_the_department_resolves_and_the_case_shows_the_outcome(
        demo: Any, persona: Any, signed_in: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    case_id = open_case(demo, bd)
    school = signed_in("bd_mid_academic")
    form = school.get(f"/referrals/new?case_id={case_id}")
    assert form.status_code == 200 and "转介部门" in form.text
    token = csrf_token(form.text)
    refused = school.post("/referrals", data={"_csrf_token": token, "case_id": str(case_id), "kind": "child_labour",
                                              "department_id": str(department(demo, bd, "police")), "reason": "请协助。"})
    assert refused.status_code == 400 and "应转介给" in refused.text
    made = school.post("/referrals", data={"_csrf_token": token, "case_id": str(case_id), "kind": "child_labour",
                                           "department_id": str(department(demo, bd, "labour")),
                                           "reason": "孩子在镇上餐馆帮工。"}, follow_redirects=False)
    assert made.status_code == 303
    ticket_id = int(made.headers["location"].split("?")[0].rsplit("/", 1)[1])
    labour = persona("bd_labour")
    inbox = labour.get("/api/referrals").json()
    assert ticket_id in [t["id"] for t in inbox]
    seen = labour.get(f"/api/referrals/{ticket_id}").json()
    assert seen["child"]["name"] and "*" in seen["child"]["id_number"] and seen["state"] == "opened"
    assert labour.get(f"/api/cases/{case_id}").status_code in (403, 404)  # the case is not the department's
    wrong = labour.post(f"/api/referrals/{ticket_id}/steps", json={"action": "close"})
    assert wrong.status_code == 409 and "转介方" in wrong.json()["detail"]
    early = labour.post(f"/api/referrals/{ticket_id}/steps", json={"action": "resolve", "note": "办好了"})
    assert early.status_code == 409 and "待受理" in early.json()["detail"]
    assert labour.post(f"/api/referrals/{ticket_id}/steps", json={"action": "accept"}).status_code == 200
    no_outcome = labour.post(f"/api/referrals/{ticket_id}/steps", json={"action": "resolve", "note": ""})
    assert no_outcome.status_code == 400 and no_outcome.json()["errors"][0]["field"] == "note"
    resolved = labour.post(f"/api/referrals/{ticket_id}/steps", json={"action": "resolve",
                                                                       "note": "已责令餐馆辞退，孩子回家。"})
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    timeline = school.get(f"/cases/{case_id}").text
    assert "已责令餐馆辞退" in timeline  # the school reads the outcome on the case
    ticket_page = school.get(f"/referrals/{ticket_id}").text
    assert "确认关闭" in ticket_page and "重新办理" in ticket_page
    closed = school.post(f"/referrals/{ticket_id}/steps", data={"_csrf_token": csrf_token(ticket_page),
                                                               "action": "close", "note": ""},
                         follow_redirects=False)
    assert closed.status_code == 303
    after = labour.get(f"/api/referrals/{ticket_id}").json()
    assert after["state"] == "closed" and after["child"] is None and after["outcome"].startswith("已责令")
    name = seen["child"]["name"]
    listed = next(t for t in labour.get("/api/referrals").json() if t["id"] == ticket_id)
    assert name not in listed["subject"] and name not in after["subject"]  # the ticket, not the child
    assert name in persona("bd_mid_academic").get(f"/api/referrals/{ticket_id}").json()["subject"]


def test_another_townships_department_and_a_department_of_another_duty_see_nothing(
        demo: Any, persona: Any, townships: dict[str, int]) -> None:
    ours = persona("bd_labour").get("/api/referrals").json()
    assert ours, "the demo's labour office has tickets"
    ticket_id = ours[0]["id"]
    assert persona("lg_labour").get(f"/api/referrals/{ticket_id}").status_code == 404
    assert persona("bd_culture").get(f"/api/referrals/{ticket_id}").status_code == 404
    assert persona("bd_police").post(f"/api/referrals/{ticket_id}/steps", json={"action": "accept"}).status_code == 404


def test_each_department_login_opens_on_its_tickets(signed_in: Any) -> None:
    for username in ("bd_labour", "bd_justice", "bd_culture"):  # the demo left them work
        home = signed_in(username).get("/").text
        assert "转介给本部门的事项：" in home and "件待受理" in home, username
    assert "目前没有转介给本部门、尚未办结的事项" in signed_in("bd_finance").get("/").text  # resolved, awaiting the school


def test_the_office_edits_the_routing_table_and_others_read_it(signed_in: Any, persona: Any) -> None:
    office = signed_in("bd_office")
    page = office.get("/referrals/routes")
    assert page.status_code == 200 and "转介分工和期限" in page.text and 'type="checkbox"' in page.text
    refused = office.post("/referrals/routes", data={"_csrf_token": csrf_token(page.text),
                                                     "harm.duty.police": "1", "harm.respond_days": "0"})
    assert refused.status_code == 400 and "受理期限应为" in refused.text
    ticked = {f"{r['kind']}.duty.{d}": "1" for r in persona("bd_office").get("/api/referrals/routes").json()
              for d in r["duties"]}
    days = {f"{r['kind']}.{n}": str(r[n]) for r in persona("bd_office").get("/api/referrals/routes").json()
            for n in ("respond_days", "resolve_days")}
    unchanged = office.post("/referrals/routes", data={"_csrf_token": csrf_token(page.text), **ticked, **days},
                            follow_redirects=False)
    assert unchanged.status_code == 303
    refusing = next(r for r in persona("bd_office").get("/api/referrals/routes").json()
                    if r["kind"] == "guardian_refuses")
    assert refusing["duties"] == ["justice", "police"]  # saved as shown: the justice office stays first
    api = persona("bd_office")
    was = next(r for r in api.get("/api/referrals/routes").json() if r["kind"] == "harm")
    try:
        table = api.put("/api/referrals/routes", json={"harm": {"duties": ["police", "justice"], "respond_days": 1,
                                                                "resolve_days": 5}})
        assert table.status_code == 200
        harm = next(r for r in table.json() if r["kind"] == "harm")
        assert harm["duties"] == ["police", "justice"] and harm["resolve_days"] == 5
    finally:  # the demo township's table, as the other tests expect it
        api.put("/api/referrals/routes", json={"harm": {k: was[k] for k in ("duties", "respond_days", "resolve_days")}})
    assert persona("bd_labour").get("/api/referrals/routes").status_code == 200  # a department reads it
    assert persona("bd_mid_academic").put("/api/referrals/routes", json={}).status_code == 403
    reading = signed_in("bd_mid_academic").get("/referrals/routes").text
    assert "司法所、派出所" in reading and 'type="checkbox"' not in reading  # 监护人拒不送学's two departments
