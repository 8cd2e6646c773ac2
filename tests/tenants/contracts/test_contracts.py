"""Responsibility contracts: bulk issuance on a real worker makes one contract per party and a
repeat makes none; signing someone else's, twice or over a changed text is refused (409) and
audited; the signed PDF carries the parties, targets and hash, and its QR code is the public
verification address, which accepts the real PDF and rejects one with a changed byte."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import school_year, utcnow
from baoxue.platform.db import cross_township_session
from baoxue.platform.throttle import LoginThrottle
from baoxue.tenants.contracts.models import Contract
from baoxue.tenants.contracts.service import SUBJECT
from baoxue.tenants.tenancy.models import School, Village
from baoxue.tenants.worklist.models import WorkItem
from baoxue.workers.dispatcher import send_job
from tests.pages import csrf_token
from tests.tenants.contracts.helpers import contract_id
from tests.tenants.status_changes.helpers import school_ids
from tests.workers.conftest import (  # noqa: F401 - the job tests' fixtures
    finished,
    private_broker,
    start_worker,
    wait_for,
)


def _count(settings: Any, township: int, year: int, kind: str) -> list[int]:
    with cross_township_session("tests: contracts of a year", settings) as s:
        return list(s.scalars(select(Contract.party_id).where(Contract.township_id == township,
                                                              Contract.school_year == year, Contract.kind == kind)))


def _forget_year(settings: Any, township: int, year: int) -> None:
    with cross_township_session("tests: forget a year's contracts", settings) as s:
        ids = select(Contract.id).where(Contract.township_id == township, Contract.school_year == year)
        s.execute(update(WorkItem).where(WorkItem.subject_type == SUBJECT, WorkItem.subject_id.in_(ids))
                  .values(closed_at=utcnow()))
        s.execute(delete(Contract).where(Contract.township_id == township, Contract.school_year == year))


def test_bulk_issuance_makes_one_contract_per_party_and_a_repeat_makes_none(
        demo: Any, townships: dict[str, int], private_broker: Any, start_worker: Any) -> None:  # noqa: F811
    township = townships["DEMO-BD"]
    year = school_year() + 7  # a year nobody has issued yet
    start_worker(private_broker, threads=2)
    try:
        for attempt in ("first", "again"):
            key = f"contracts:issue:village:{year}:{attempt}-{uuid.uuid4().hex[:6]}"
            send_job(private_broker, "issue_contracts", township, key)
            run = wait_for(lambda: finished(demo, township, key), seconds=60)
            assert run.status == "done", run.error
            with cross_township_session("tests: villages", demo) as s:
                villages = sorted(s.scalars(select(Village.id).where(Village.township_id == township)))
            assert sorted(_count(demo, township, year, "village")) == villages
            assert len(run.result["created"]) == (len(villages) if attempt == "first" else 0)
    finally:
        _forget_year(demo, township, year)


def test_the_office_asks_for_the_job_and_the_page_shows_it(demo: Any, signed_in: Any,
                                                           townships: dict[str, int]) -> None:
    office = signed_in("bd_office")
    listed = office.get("/contracts")
    assert listed.status_code == 200 and "下发本学年责任书" in listed.text
    before = len(_count(demo, townships["DEMO-BD"], school_year(), "school"))
    asked = office.post("/contracts/issue", data={"_csrf_token": csrf_token(listed.text), "kind": "school"},
                        follow_redirects=False)
    assert asked.status_code == 303
    assert "下发任务" in office.get("/contracts").text
    with cross_township_session("tests: schools", demo) as s:
        schools = s.scalar(select(func.count(School.id)).where(School.township_id == townships["DEMO-BD"]))
    assert before == schools  # the demo issued them all already: the job finds nothing to make
    refused = office.post("/contracts/issue", data={"_csrf_token": csrf_token(listed.text), "kind": "家长"})
    assert refused.status_code == 400 and "请选择下发对象" in refused.text
    assert signed_in("bd_mid_principal").post("/contracts/issue", data={
        "_csrf_token": csrf_token(listed.text), "kind": "school"}).status_code == 403


def _refusals(settings: Any, contract: int) -> list[str]:
    with cross_township_session("tests: refusals", settings) as s:
        return [c["reason"] for c in s.scalars(select(AuditEvent.changes).where(
            AuditEvent.event == "contracts:contract:sign_refused", AuditEvent.outcome == "denied",
            AuditEvent.entity_id == str(contract)).order_by(AuditEvent.id))]


def test_signing_someone_elses_twice_or_a_changed_text_is_refused_and_audited(
        demo: Any, persona: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    mid = contract_id(demo, bd, "school", school_ids(demo, bd)["mid"])
    # A teacher of the school reads its contract but is not its party.
    assert persona("bd_mid_subject").get(f"/api/contracts/{mid}").status_code == 200
    other = persona("bd_mid_subject").post(f"/api/contracts/{mid}/sign", json={})
    assert other.status_code == 409 and "不能代签" in other.json()["detail"]
    twice = persona("bd_mid_principal").post(f"/api/contracts/{mid}/sign", json={})
    assert twice.status_code == 409 and "不能重复签署" in twice.json()["detail"]
    assert persona("bd_village1").post(f"/api/contracts/{mid}/sign", json={}).status_code == 404
    assert persona("lg_office").post(f"/api/contracts/{mid}/sign", json={}).status_code == 404
    assert _refusals(demo, mid)[-2:] == ["not_a_party", "signed_twice"]
    # The second village's contract: signed by the village only. A text changed after signing.
    with cross_township_session("tests: the second village", demo) as s:
        second = s.scalars(select(Village.id).where(Village.township_id == bd).order_by(Village.id)
                           .offset(1).limit(1)).one()
    changed = contract_id(demo, bd, "village", second)
    with cross_township_session("tests: change a signed text", demo) as s:
        original = s.scalars(select(Contract.text).where(Contract.id == changed)).one()
        s.execute(update(Contract).where(Contract.id == changed).values(text=original.replace("100%", "90%", 1)))
    try:
        refused = persona("bd_office").post(f"/api/contracts/{changed}/sign", json={})
        assert refused.status_code == 409 and "不一致" in refused.json()["detail"]
        assert _refusals(demo, changed)[-1] == "text_changed"
        shown = persona("bd_office").get(f"/api/contracts/{changed}").json()
        assert [s["side"] for s in shown["signatures"]] == ["party"] and shown["state"] == "一方已签署"
    finally:
        with cross_township_session("tests: restore the text", demo) as s:
            s.execute(update(Contract).where(Contract.id == changed).values(text=original))
    # A text the signer was shown that is not the stored one.
    stale = persona("bd_office").post(f"/api/contracts/{changed}/sign", json={"sha256": "0" * 64})
    assert stale.status_code == 409


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (.ci/system-packages.sh)")
    return found


def test_the_signed_pdf_carries_parties_targets_hash_and_a_qr_of_its_verification_address(
        demo: Any, signed_in: Any, client: Any, townships: dict[str, int], tmp_path: Path,
        monkeypatch: Any) -> None:
    bd = townships["DEMO-BD"]
    mid = contract_id(demo, bd, "school", school_ids(demo, bd)["mid"])
    with cross_township_session("tests: the contract", demo) as s:
        contract = s.scalars(select(Contract).where(Contract.id == mid)).one()
        code, text_hash, party = contract.code, contract.text_sha256, contract.party_name
    pdf = signed_in("bd_mid_principal").get(f"/contracts/{mid}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    path = tmp_path / "contract.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run([_tool("pdftotext"), str(path), "-"], capture_output=True, check=True).stdout.decode()
    flat = "".join(text.split())
    assert party in flat and "板当镇人民政府" in flat and "2.00%" in flat and "3.00%" in flat and "98.00%" in flat
    assert text_hash in flat and "一票否决" in flat
    subprocess.run([_tool("pdftoppm"), "-png", "-r", "150", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    decoded = [subprocess.run([_tool("zbarimg"), "-q", "--raw", str(p)], capture_output=True).stdout.decode().strip()
               for p in pages]
    assert any(d.endswith(f"/verify/{code}") for d in decoded), decoded
    # The public page: no sign-in; the real PDF is genuine, one changed byte is not.
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200 and party in page.text and text_hash in page.text and "乙方签署" in page.text
    token = client.cookies.get("csrftoken")
    genuine = client.post(f"/verify/{code}", files={"file": ("c.pdf", pdf.content, "application/pdf")},
                          headers={"X-CSRFToken": token})
    assert genuine.status_code == 200 and "是真实文件" in genuine.text
    altered = bytearray(pdf.content)
    altered[len(altered) // 2] ^= 0x01
    forged = client.post(f"/verify/{code}", files={"file": ("c.pdf", bytes(altered), "application/pdf")},
                         headers={"X-CSRFToken": token})
    assert forged.status_code == 200 and "不一致" in forged.text
    assert client.get(f"/verify/{bd}-{'x' * 24}").status_code == 404
    # Too many requests from one address: a 429 in Chinese.
    from baoxue.tenants.contracts import routes

    monkeypatch.setattr(routes, "VERIFY_LIMIT", 3)
    try:
        answers = [client.get(f"/verify/{code}").status_code for _ in range(6)]
        assert answers[-1] == 429 and "过于频繁" in client.get(f"/verify/{code}").text
    finally:
        with cross_township_session("tests: forget the verification counter", demo) as s:
            s.execute(delete(LoginThrottle).where(LoginThrottle.key.startswith("v:")))


def _open_items(settings: Any, contract: int) -> list[str]:
    with cross_township_session("tests: a contract's open items", settings) as s:
        return sorted(s.scalars(select(WorkItem.kind).where(WorkItem.subject_type == SUBJECT,
                                                            WorkItem.subject_id == contract,
                                                            WorkItem.closed_at.is_(None))))


def _png() -> str:
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(image).line((10, 80, 120, 20, 290, 70), fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def test_the_unsigned_side_has_work_until_it_signs_and_a_correction_needs_both_again(
        demo: Any, persona: Any, signed_in: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    ids = school_ids(demo, bd)
    cps, mid = contract_id(demo, bd, "school", ids["cps"]), contract_id(demo, bd, "school", ids["mid"])
    assert _open_items(demo, cps) == ["contracts:sign_party"]  # the township signed, the school not yet
    assert _open_items(demo, mid) == []  # both signed
    listed = persona("bd_office").get("/api/contracts").json()
    states = {c["id"]: c["state"] for c in listed}
    assert states[cps] == "一方已签署" and states[mid] == "双方已签署"
    assert {c["party_id"] for c in persona("bd_mid_principal").get("/api/contracts").json()
            if c["kind"] == "school"} == {ids["mid"]}
    # The second village's contract (the village signed): corrected, a new version both must sign.
    with cross_township_session("tests: the second village", demo) as s:
        second = s.scalars(select(Village.id).where(Village.township_id == bd).order_by(Village.id)
                           .offset(1).limit(1)).one()
    old = contract_id(demo, bd, "village", second)
    made = persona("bd_office").post(f"/api/contracts/{old}/correct", json={})
    assert made.status_code == 201, made.text
    new = made.json()
    assert new["version"] == 2 and new["previous_id"] == old and new["signatures"] == []
    assert _open_items(demo, old) == [] and _open_items(demo, new["id"]) == ["contracts:sign_issuer",
                                                                             "contracts:sign_party"]
    again = persona("bd_office").post(f"/api/contracts/{old}/correct", json={})
    assert again.status_code == 409
    stale = persona("bd_office").post(f"/api/contracts/{old}/sign", json={})
    assert stale.status_code == 409 and "取代" in stale.json()["detail"]
    assert persona("bd_mid_principal").post(f"/api/contracts/{old}/correct", json={}).status_code == 403
    # Both sign again, each with a signature drawn on screen (the village on the page).
    bad = persona("bd_office").post(f"/api/contracts/{new['id']}/sign", json={"signature": "data:image/png;base64,AAAA"})
    assert bad.status_code == 400
    signed = persona("bd_office").post(f"/api/contracts/{new['id']}/sign", json={"signature": _png()})
    assert signed.status_code == 200 and [s["side"] for s in signed.json()["signatures"]] == ["issuer"]
    village = signed_in("bd_village2")
    form = village.get(f"/contracts/{new['id']}").text
    assert 'data-signature-for="f-signature"' in form
    done = village.post(f"/contracts/{new['id']}/sign", data={"_csrf_token": csrf_token(form),
                                                              "sha256": new["text_sha256"], "signature": _png()},
                        follow_redirects=False)
    assert done.status_code == 303
    assert _open_items(demo, new["id"]) == []
    with cross_township_session("tests: the drawn signatures", demo) as s:
        from baoxue.tenants.contracts.models import ContractSignature

        keys = list(s.scalars(select(ContractSignature.signature_key).where(ContractSignature.contract_id == new["id"])))
    assert len(keys) == 2 and all(keys)
    pdf = village.get(f"/contracts/{new['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_schools_teachers_sign_with_their_principal(demo: Any, persona: Any, signed_in: Any,
                                                     townships: dict[str, int]) -> None:
    from baoxue.platform.jobs import JobRun
    from tests.tenants.status_changes.helpers import login_actor

    bd = townships["DEMO-BD"]
    ids = school_ids(demo, bd)
    teacher = login_actor(demo, "bd_mid_teacher").membership.id
    subject = login_actor(demo, "bd_mid_subject").membership.id
    mine = {c["party_id"]: c for c in persona("bd_mid_teacher").get("/api/contracts").json()}
    assert set(mine) == {ids["mid"], teacher}  # the school's contract and their own, no colleague's
    assert mine[teacher]["state"] == "双方已签署" and mine[teacher]["issuer_name"] == "板当中学"
    own = contract_id(demo, bd, "membership", subject)
    assert persona("bd_mid_teacher").get(f"/api/contracts/{own}").status_code == 404
    assert _open_items(demo, own) == ["contracts:sign_party"]
    twice = persona("bd_mid_principal").post(f"/api/contracts/{own}/sign", json={})
    assert twice.status_code == 409
    signed = persona("bd_mid_subject").post(f"/api/contracts/{own}/sign", json={})
    assert signed.status_code == 200 and signed.json()["state"] == "双方已签署"
    assert _open_items(demo, own) == []
    text = signed_in("bd_mid_subject").get(f"/contracts/{own}").text
    assert "一票否决" in text and "班级出现辍学" in text
    # The office asks for the central primary school's teachers' contracts (a job).
    office = signed_in("bd_office")
    form = office.get("/contracts").text
    asked = office.post("/contracts/issue", data={"_csrf_token": csrf_token(form), "kind": "teacher",
                                                  "school_id": str(ids["cps"])}, follow_redirects=False)
    assert asked.status_code == 303
    with cross_township_session("tests: the teachers' job", demo) as s:
        assert s.scalar(select(JobRun.id).where(JobRun.township_id == bd,
                                                JobRun.key == f"contracts:issue:teacher:{school_year()}:{ids['cps']}"))
    missing = office.post("/contracts/issue", data={"_csrf_token": csrf_token(form), "kind": "teacher"})
    assert missing.status_code == 400 and "请选择学校" in missing.text
    lg = townships["DEMO-LG"]
    assert persona("bd_office").post("/api/contracts/issue", json={
        "kind": "teacher", "school_id": school_ids(demo, lg)["mid"]}).status_code == 404


def test_a_contract_unsigned_past_its_deadline_is_overdue_until_both_sign() -> None:
    from datetime import timedelta

    from baoxue.platform.clock import clock
    from baoxue.tenants.contracts.service import Row

    late = Contract(sign_by=clock.today() - timedelta(days=1))
    assert Row(late, {}).overdue and Row(late, {"issuer": object()}).overdue  # type: ignore[dict-item]
    assert not Row(late, {"issuer": object(), "party": object()}).overdue  # type: ignore[dict-item]
    assert not Row(late, {}, replaced=True).overdue
    assert not Row(Contract(sign_by=clock.today()), {}).overdue
