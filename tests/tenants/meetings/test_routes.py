"""Meeting records through the API and the pages: a village records, corrects and deletes its
own; another village's record is a 404; the leading group's page lists its items and a decision
without words is refused in Chinese."""

from __future__ import annotations

from typing import Any

from baoxue.platform.clock import clock
from tests.pages import csrf_token

RECORD = {"meeting_kind": "slogan", "place": "村委会", "attendees": "全村群众", "minutes": "张贴标语 10 条。"}


def test_a_village_keeps_its_records_and_another_village_cannot_reach_them(persona: Any) -> None:
    village = persona("bd_village1")
    made = village.post("/api/meetings", json={**RECORD, "held_on": clock.today().isoformat()})
    assert made.status_code == 201, made.text
    meeting_id = made.json()["id"]
    assert meeting_id in [m["id"] for m in village.get("/api/meetings").json()]
    changed = village.put(f"/api/meetings/{meeting_id}", json={**RECORD, "held_on": clock.today().isoformat(),
                                                               "minutes": "张贴标语 12 条。"})
    assert changed.status_code == 200 and changed.json()["minutes"] == "张贴标语 12 条。"
    other = persona("bd_village2")
    assert other.get(f"/api/meetings/{meeting_id}").status_code == 404
    assert other.put(f"/api/meetings/{meeting_id}", json={**RECORD, "held_on": clock.today().isoformat()}
                     ).status_code == 404
    assert other.delete(f"/api/meetings/{meeting_id}").status_code == 404
    assert persona("bd_office").get(f"/api/meetings/{meeting_id}").status_code == 200  # the township reads all
    assert persona("lg_office").get(f"/api/meetings/{meeting_id}").status_code == 404
    bad = village.post("/api/meetings", json={**RECORD, "meeting_kind": "school_start",
                                             "held_on": clock.today().isoformat()})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "meeting_kind"
    assert village.delete(f"/api/meetings/{meeting_id}").status_code == 204
    assert village.get(f"/api/meetings/{meeting_id}").status_code == 404


def test_the_leading_groups_meeting_page_and_a_refused_decision(persona: Any, signed_in: Any) -> None:
    lead = [m for m in persona("bd_office").get("/api/meetings?meeting_kind=leading_group").json()]
    assert len(lead) >= 2, "the demo has two leading-group meetings"
    latest = persona("bd_office").get(f"/api/meetings/{lead[0]['id']}").json()
    assert latest["items"] and latest["items"][0]["source_kind"] == "decision"  # opens on the open decisions
    office = signed_in("bd_office")
    page = office.get(f"/meetings/{latest['id']}").text
    assert "议题和决定" in page and "记录决定" in page
    item = latest["items"][0]
    refused = office.post(f"/meetings/{latest['id']}/decisions", data={
        "_csrf_token": csrf_token(page), "item_id": str(item["id"]), "decision": ""})
    assert refused.status_code == 400 and "请写明会议对此议题的决定" in refused.text
    assert persona("bd_mid_principal").get(f"/api/meetings/{latest['id']}").status_code == 404
    school = signed_in("bd_mid_academic").get("/meetings").text
    assert "本校本学期会议" in school and "教导处月初例会" in school
