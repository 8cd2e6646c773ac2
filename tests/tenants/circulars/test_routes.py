"""The circulars' pages and API: the office drafts, picks a unit, issues; the unit named sees it on
its first screen and others do not; the PDF downloads (audited); a change after issue is a 409."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.db import cross_township_session
from tests.pages import csrf_token
from tests.tenants.circulars.helpers import school_id, village_id


def test_the_named_unit_sees_it_on_home_and_others_do_not(demo: Any, persona: Any, signed_in: Any,
                                                         townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    mid, village2 = school_id(demo, bd), village_id(demo, bd, 1)
    office = signed_in("bd_office")
    made = office.post("/circulars", data={"_csrf_token": csrf_token(office.get("/circulars").text)},
                       follow_redirects=False)
    assert made.status_code == 303
    circular_id = int(made.headers["location"].split("?")[0].rsplit("/", 1)[1])
    form = office.get(f"/circulars/{circular_id}").text
    assert "印发通报" in form and 'name="unit.school.' in form
    refused = office.post(f"/circulars/{circular_id}", data={"_csrf_token": csrf_token(form), "title": "",
                                                             "body": "正文"})
    assert refused.status_code == 400 and "请填写通报的标题" in refused.text and "请至少选择" in refused.text
    saved = office.post(f"/circulars/{circular_id}", data={
        "_csrf_token": csrf_token(form), "title": "关于板当中学控辍工作滞后的通报", "body": "经督查，现予通报。",
        f"unit.school.{mid}": "1"}, follow_redirects=False)
    assert saved.status_code == 303
    issued = office.post(f"/circulars/{circular_id}/issue", data={"_csrf_token": csrf_token(form)},
                         follow_redirects=False)
    assert issued.status_code == 303
    shown = persona("bd_office").get(f"/api/circulars/{circular_id}").json()
    assert shown["state"] == "issued" and shown["number"].startswith("板当府通〔")
    assert [u["unit_id"] for u in shown["units"]] == [mid]
    home = signed_in("bd_mid_principal").get("/").text
    assert shown["number"] in home and "点名了本单位" in home
    assert shown["number"] not in signed_in("bd_village2").get("/").text  # a village not named
    assert shown["number"] in signed_in("bd_village2").get("/circulars").text  # but everyone reads the list
    pdf = signed_in("bd_village2").get(f"/circulars/{circular_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with cross_township_session("tests: the download is audited", demo) as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.event == "circulars:circular:downloaded",
                                                    AuditEvent.entity_id == str(circular_id)))
    late = persona("bd_office").put(f"/api/circulars/{circular_id}", json={
        "title": "改标题", "body": "改", "units": [f"village:{village2}"]})
    assert late.status_code == 409 and "已经印发" in late.json()["detail"]
    assert persona("lg_office").get(f"/api/circulars/{circular_id}").status_code == 404


def test_a_department_other_than_the_party_office_cannot_draft(persona: Any) -> None:
    assert persona("bd_police").post("/api/circulars", json={}).status_code == 403
    draft = persona("bd_party").post("/api/circulars", json={})
    assert draft.status_code == 201 and draft.json()["state"] == "draft"
    # The party office's draft is its own: another department does not see it.
    assert persona("bd_police").get(f"/api/circulars/{draft.json()['id']}").status_code == 404
    assert persona("bd_mid_principal").post("/api/circulars", json={}).status_code == 403
