"""Contracts' API and pages, and the public verification page. Thin: parse, call `service`, answer.

The office issues this school year's contracts (a job; the list polls its progress); each side
signs its own; once both have, the PDF downloads (audited). `/verify/<code>` is public: it
reads the one contract its code names (the code carries its township), says who signed when and
its hash, and checks an uploaded PDF against the stored PDF's SHA-256. It is rate-limited per IP.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform import throttle
from baoxue.platform.auth import PUBLIC, actor_of, requires
from baoxue.platform.clock import utcnow
from baoxue.platform.db import TenantContext, tenant_session
from baoxue.platform.errors import InvalidInput
from baoxue.platform.jobs import township_context
from baoxue.platform.permissions import Permission
from baoxue.platform.resources import Form, attachment, saved
from baoxue.platform.templating import page
from baoxue.tenants.contracts import service
from baoxue.tenants.contracts.models import Contract
from baoxue.tenants.contracts.policy import access_contract
from baoxue.tenants.contracts.schemas import ContractOut, IssueIn, JobOut, SignatureOut, SignIn

READ = requires(Permission.CONTRACT_READ)
ISSUE_PROBE = {**requires(Permission.CONTRACT_ISSUE), "probe": {"kind": "teacher", "school_id": "$school"}}
SIGN_PROBE = {**requires(Permission.CONTRACT_SIGN), "probe": {}}
CORRECT_PROBE = {**requires(Permission.CONTRACT_ISSUE), "probe": {}}
VERIFY_LIMIT = 30  # verification requests per address and minute
MAX_PDF_BYTES = 20 * 1024 * 1024


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _out(row: service.Row) -> ContractOut:
    c = row.contract
    return ContractOut(id=c.id, kind=c.kind, school_year=c.school_year, party_kind=c.party_kind, party_id=c.party_id,
                       party_name=c.party_name, issuer_name=c.issuer_name, text_sha256=c.text_sha256,
                       sign_by=c.sign_by, state=row.state, overdue=row.overdue, version=c.version,
                       previous_id=c.previous_id,
                       signatures=[SignatureOut(s.side, s.signer_name, s.role, s.membership_id, s.signed_at, s.sha256)
                                   for s in row.signed.values()])


def _row(db: Session, contract: Contract) -> service.Row:
    return service.Row(contract, service.signatures_of(db, [contract.id]).get(contract.id, {}),
                       bool(service.replaced(db, [contract.id])))


# --- API -------------------------------------------------------------------------------------------

@get("/api/contracts", opt=READ, summary="责任书列表（乡镇看全部；村、学校看本单位的）", sync_to_thread=True)
def contracts_api(db: Session) -> list[ContractOut]:
    return [_out(r) for r in service.contracts(db)]


@get("/api/contracts/{contract_id:int}", opt=READ, summary="一份责任书及其签署情况", sync_to_thread=True)
def contract_api(db: Session, contract_id: int) -> ContractOut:
    return _out(_row(db, access_contract(db, contract_id)))


@post("/api/contracts/issue", opt=ISSUE_PROBE, status_code=202, sync_to_thread=True,
      summary="下发本学年责任书（kind：village 各村委会，school 各学校，teacher 该 school_id 学校的班主任和科任教师）："
              "后台逐一生成，重复下发不会重复生成")
def issue_api(request: Request[Any, Any, Any], db: Session, data: IssueIn) -> JobOut:
    run = service.do_issue_contracts(db, actor_of(request), data.kind, data.school_id)
    return JobOut(run.key, run.status, len((run.result or {}).get("created", [])))


@post("/api/contracts/{contract_id:int}/sign", opt=SIGN_PROBE, status_code=200, sync_to_thread=True,
      summary="以本人当前身份签署本方责任书；非本方、重复签署、文本不一致均为 409（并记入操作日志）")
def sign_api(request: Request[Any, Any, Any], db: Session, contract_id: int, data: SignIn) -> ContractOut:
    service.do_sign_contract(db, actor_of(request), contract_id, sha=data.sha256, drawing=data.signature or None,
                             settings=_settings(request))
    return _out(_row(db, access_contract(db, contract_id)))


@post("/api/contracts/{contract_id:int}/correct", opt=CORRECT_PROBE, status_code=201, sync_to_thread=True,
      summary="更正责任书：生成取代它的新版本（文本按现行指标重新生成），双方须重新签署；已被取代的再更正为 409")
def correct_api(request: Request[Any, Any, Any], db: Session, contract_id: int) -> ContractOut:
    corrected = service.do_correct_contract(db, actor_of(request), contract_id, settings=_settings(request))
    return _out(_row(db, corrected))


@get("/api/contracts/{contract_id:int}/pdf", opt={**READ, "download": "application/pdf"}, sync_to_thread=True,
     summary="下载双方已签署的责任书 PDF（记入操作日志）")
def pdf_api(request: Request[Any, Any, Any], db: Session, contract_id: int) -> Response[bytes]:
    data, name = service.do_download_contract(db, access_contract(db, contract_id), _settings(request))
    return attachment(data, name, "application/pdf")


# --- pages -----------------------------------------------------------------------------------------

def _list_page(request: Request[Any, Any, Any], db: Session, *, status: int = 200,
               errors: dict[str, str] | None = None) -> Template:
    actor = actor_of(request)
    may_issue = actor.can(Permission.CONTRACT_ISSUE)
    return page(request, "contracts/list.html", {
        "rows": service.contracts(db), "jobs": service.jobs(db) if may_issue else [], "may_issue": may_issue,
        "errors": errors or {}, "kinds": service.KIND_LABELS, "year_label": service.year_label,
        "sign_days": service.SIGN_DAYS, "schools": service.schools(db) if may_issue else []},
        status=status, fragment="jobs")


@get("/contracts", opt=READ, include_in_schema=False, sync_to_thread=True)
def list_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _list_page(request, db)


@post("/contracts/issue", opt=ISSUE_PROBE, include_in_schema=False, sync_to_thread=True)
def issue_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    try:
        service.do_issue_contracts(db, actor_of(request), data.get("kind", ""), data.get("school_id"))
    except InvalidInput as refused:
        return _list_page(request, db, status=400, errors=refused.errors)
    return saved("/contracts")


def _contract_page(request: Request[Any, Any, Any], db: Session, contract_id: int, *, status: int = 200,
                   errors: dict[str, str] | None = None) -> Template:
    contract = access_contract(db, contract_id)
    actor = actor_of(request)
    return page(request, "contracts/contract.html", {
        "contract": contract, "signed": service.signatures_of(db, [contract.id]).get(contract.id, {}),
        "replaced": bool(service.replaced(db, [contract.id])), "my_side": service.side_of(actor, contract),
        "may_correct": actor.can(Permission.CONTRACT_ISSUE), "sides": service.SIDES,
        "year_label": service.year_label, "errors": errors or {}}, status=status)


@get("/contracts/{contract_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def contract_page(request: Request[Any, Any, Any], db: Session, contract_id: int) -> Template:
    return _contract_page(request, db, contract_id)


@post("/contracts/{contract_id:int}/sign", opt=SIGN_PROBE, include_in_schema=False, sync_to_thread=True)
def sign_page(request: Request[Any, Any, Any], db: Session, contract_id: int, data: Form) -> Response[Any]:
    try:
        service.do_sign_contract(db, actor_of(request), contract_id, sha=str(data.get("sha256", "")),
                                 drawing=data.get("signature") or None, settings=_settings(request))
    except InvalidInput as refused:
        return _contract_page(request, db, contract_id, status=400, errors=refused.errors)
    return saved(f"/contracts/{contract_id}")


@post("/contracts/{contract_id:int}/correct", opt=CORRECT_PROBE, include_in_schema=False, sync_to_thread=True)
def correct_page(request: Request[Any, Any, Any], db: Session, contract_id: int) -> Response[Any]:
    corrected = service.do_correct_contract(db, actor_of(request), contract_id, settings=_settings(request))
    return saved(f"/contracts/{corrected.id}")


@get("/contracts/{contract_id:int}/pdf", opt=READ, include_in_schema=False, sync_to_thread=True)
def pdf_page(request: Request[Any, Any, Any], db: Session, contract_id: int) -> Response[bytes]:
    data, name = service.do_download_contract(db, access_contract(db, contract_id), _settings(request))
    return attachment(data, name, "application/pdf")


# --- public verification ---------------------------------------------------------------------------

def _throttled(request: Request[Any, Any, Any]) -> None:
    """Count the request by its address; refuse (429, in Chinese) past VERIFY_LIMIT a minute."""
    ip = request.client.host if request.client else ""
    if not ip:
        return
    rule = throttle.Rule(VERIFY_LIMIT, timedelta(minutes=1), timedelta(minutes=1))
    now = utcnow()
    with tenant_session(TenantContext(), _settings(request)) as s:
        until = throttle.count_key(s, f"v:{ip[:60]}", rule, now)
    if until is not None:
        raise HTTPException(status_code=429, detail="核验请求过于频繁，请一分钟后再试。",
                            headers={"Retry-After": str(int((until - now).total_seconds()) + 1)})


def _verify(request: Request[Any, Any, Any], code: str, upload: bytes | None) -> Template:
    _throttled(request)
    found, checked = None, ""
    township_id = service.township_of_code(code)
    if township_id is not None:
        with tenant_session(township_context(township_id), _settings(request)) as s:
            answer = service.verification(s, code)
            if answer is not None:
                found, contract = answer
                if upload is not None:
                    checked = "genuine" if service.pdf_is_genuine(contract, upload) else "altered"
    return Template("contracts/verify.html", context={"found": found, "code": code, "checked": checked},
                    status_code=200 if found else 404)


@get("/verify/{code:str}", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def verify_page(request: Request[Any, Any, Any], code: str) -> Template:
    return _verify(request, code, None)


@post("/verify/{code:str}", opt=PUBLIC, include_in_schema=False, request_max_body_size=MAX_PDF_BYTES + 65536)
async def verify_upload(request: Request[Any, Any, Any], code: str) -> Template:
    form = await request.form()
    upload = form.get("file")
    data = await upload.read(MAX_PDF_BYTES + 1) if isinstance(upload, UploadFile) else b""
    return await anyio.to_thread.run_sync(_verify, request, code, data)


routes = [contracts_api, contract_api, issue_api, sign_api, correct_api, pdf_api, list_page, issue_page, contract_page,
          sign_page, correct_page, pdf_page, verify_page, verify_upload]
