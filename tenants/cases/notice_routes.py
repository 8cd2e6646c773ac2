"""The enforcement chain's documents: the JSON API and the case page's forms and downloads.

Thin, like every concept's routes: parse, call `notices`, answer. The case concept's `routes`
list takes these in (`routes = [..., *notice_routes]`). The case page shows the notices section
(templates/cases/_notices.html, from `notices.notice_panel`); its forms post here. A refused
form answers the notices section as its own page with the errors (a 400, rolled back); a saved
one goes back to the case page (303).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import anyio
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission
from baoxue.platform.request_checks import base64_length, bounded, text_up_to
from baoxue.platform.resources import Form
from baoxue.platform.templating import page
from baoxue.tenants.cases import notices
from baoxue.tenants.cases.models import Notice
from baoxue.tenants.cases.policy import access_case, access_notice

READ = requires(Permission.CASE_READ)
ISSUE = requires(Permission.NOTICE_ISSUE)
ISSUE_PROBE = {**ISSUE, "probe": {"notice_kind": "persuasion"}}
SERVICE_PROBE = {**ISSUE, "probe": {"served_at": "2026-11-03T15:20:00+08:00", "served_to": "探针", "place": "探针村",
                                    "manner": "直接送达", "server_names": "探针"}}
PDF = "application/pdf"
PHOTO_BASE64_CHARS = base64_length(notices.MAX_RECEIPT_BYTES)
PhotoBase64 = text_up_to(PHOTO_BASE64_CHARS)
SERVICE_BODY_LIMIT = PHOTO_BASE64_CHARS + 64 * 1024
PAGE_BODY_LIMIT = notices.MAX_RECEIPT_BYTES + 64 * 1024

FileName = text_up_to(120, min_length=1)
Text64 = text_up_to(64)
Text200 = text_up_to(200)
Text500 = text_up_to(500)
Fine = bounded(1, notices.FINE_LIMIT, description="罚款金额（元）")


# --- bodies -----------------------------------------------------------------------------------

@dataclass
class NoticeIn:
    """The document to issue: the chain's next one the township supports. A 行政处罚决定书 also
    names the provincial rule that provides for the fine and the amount."""

    notice_kind: str  # persuasion | order | penalty | court
    penalty_rule: Text200 = ""
    fine_yuan: Fine | None = None


@dataclass
class ReceiptPhotoIn:
    filename: FileName
    # The photographed receipt with its signatures in Base64: a JPG, PNG or PDF of at most 10 MB.
    content: PhotoBase64


@dataclass
class ServiceIn:
    """The service receipt (送达回证). `served_at` without a zone is China's time."""

    served_at: datetime
    served_to: Text64  # the person served, and for another receiving it, who and why
    place: Text200
    manner: str  # 直接送达 | 留置送达 | 委托送达 | 邮寄送达
    server_names: Text200
    witnesses: Text200 = ""  # required for 留置送达
    remark: Text500 = ""
    receipt_photo: ReceiptPhotoIn | None = None


@dataclass
class NoticeOut:
    id: int
    case_id: int
    kind: str
    kind_label: str
    number: str
    issued_at: datetime
    deadline_days: int
    deadline_text: str  # 自送达之日起7日内
    served_at: datetime | None
    served_to: str
    served_place: str
    served_manner: str
    server_names: str
    deadline_on: date | None  # the day of service + deadline_days
    receipt_number: str
    has_receipt_photo: bool
    pdf_url: str
    receipt_url: str  # a blank form to take along before service; the filled receipt after

    @classmethod
    def of(cls, n: Notice) -> NoticeOut:
        view = notices.NoticeView(n)
        return cls(id=n.id, case_id=n.case_id, kind=n.kind, kind_label=view.kind_label, number=view.number,
                   issued_at=n.issued_at, deadline_days=n.deadline_days, deadline_text=view.deadline_text,
                   served_at=n.served_at, served_to=n.served_to, served_place=n.served_place,
                   served_manner=n.served_manner, server_names=n.server_names, deadline_on=n.deadline_on,
                   receipt_number=view.receipt_number, has_receipt_photo=bool(n.receipt_key),
                   pdf_url=f"/api/notices/{n.id}/pdf", receipt_url=f"/api/notices/{n.id}/receipt.pdf")


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _photo_bytes(photo: ReceiptPhotoIn | None) -> bytes | None:
    if photo is None:
        return None
    try:
        return base64.b64decode(photo.content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput({"receipt_photo": "送达回证照片的内容不是有效的 Base64 编码。"}) from None


def _file(data: bytes, filename: str, media_type: str = PDF) -> Response[bytes]:
    """Shown in the browser (a PDF to print), saved under its Chinese name."""
    suffix = filename.rsplit(".", 1)[-1]
    disposition = f"inline; filename=\"notice.{suffix}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=data, media_type=media_type, headers={"Content-Disposition": disposition})


def _download(request: Request[Any, Any, Any], db: Session, notice_id: int, which: str) -> Response[bytes]:
    data, name = notices.do_download_notice(db, access_notice(db, notice_id), which, _settings(request))
    media = PDF if name.endswith(".pdf") else "image/png" if name.endswith(".png") else "image/jpeg"
    return _file(data, name, media)


# --- the API ----------------------------------------------------------------------------------

@get("/api/cases/{case_id:int}/notices", opt=READ, summary="个案的控辍文书（按文书链顺序）", sync_to_thread=True)
def notices_api(db: Session, case_id: int) -> list[NoticeOut]:
    case = access_case(db, case_id)
    return [NoticeOut.of(v.notice) for v in notices.notices_of(db, case.id)]


@post("/api/cases/{case_id:int}/notices", opt=ISSUE_PROBE, summary="制发控辍文书（劝学通知书、责令限期复学通知书等）",
      description="只能制发本乡镇启用的文书，且按顺序：前一份文书须已送达、期限届满仍未返校，才能制发下一份（否则 400）。"
                  "劝学通知书由学生所在学校的校长或教导处制发，其他文书由乡镇领导小组办公室制发（否则 403）。"
                  "编号按乡镇文号逐年连续编排（如 义劝通字〔2026〕第7号）。行政处罚决定书须写明罚款依据（省级法规）和金额。",
      sync_to_thread=True)
def issue_api(request: Request[Any, Any, Any], db: Session, case_id: int, data: NoticeIn) -> NoticeOut:
    notice = notices.do_issue_notice(db, actor_of(request), case_id, data.notice_kind, penalty_rule=data.penalty_rule,
                                     fine_yuan=data.fine_yuan, settings=_settings(request))
    return NoticeOut.of(notice)


@post("/api/notices/{notice_id:int}/service", opt=SERVICE_PROBE, request_max_body_size=SERVICE_BODY_LIMIT,
      summary="登记文书送达（送达回证）",
      description="每份文书只能登记一次（再次登记 409）。期限自送达之日起计算（送达当日不计入）。"
                  "留置送达须写明见证人。可附签收后的送达回证照片（JPG、PNG 或 PDF，不超过 10 MB，Base64）。",
      sync_to_thread=True)
def serve_api(request: Request[Any, Any, Any], db: Session, notice_id: int, data: ServiceIn) -> NoticeOut:
    notice = notices.do_serve_notice(db, actor_of(request), notice_id, data.served_at, data.served_to, data.place,
                                     data.manner, data.server_names, _photo_bytes(data.receipt_photo),
                                     witnesses=data.witnesses, remark=data.remark, settings=_settings(request))
    return NoticeOut.of(notice)


@get("/api/notices/{notice_id:int}/pdf", opt={**READ, "download": PDF}, summary="下载文书 PDF（记入操作日志）",
     sync_to_thread=True)
def notice_pdf_api(request: Request[Any, Any, Any], db: Session, notice_id: int) -> Response[bytes]:
    return _download(request, db, notice_id, "notice")


@get("/api/notices/{notice_id:int}/receipt.pdf", opt={**READ, "download": PDF},
     summary="下载送达回证 PDF（送达前为空白回证，记入操作日志）", sync_to_thread=True)
def receipt_pdf_api(request: Request[Any, Any, Any], db: Session, notice_id: int) -> Response[bytes]:
    return _download(request, db, notice_id, "receipt")


# --- pages ------------------------------------------------------------------------------------

def _refused(request: Request[Any, Any, Any], db: Session, case_id: int, errors: dict[str, str],
             values: dict[str, Any], *, notice_id: int | None = None) -> Template:
    """The notices section as its own page, with the form's errors."""
    case = access_case(db, case_id)
    panel = notices.notice_panel(db, actor_of(request), case, errors=errors, values=values,
                                 form_notice_id=notice_id)
    return page(request, "cases/_notices.html", {"notice_panel": panel, "notices_standalone": True}, status=400)


@post("/cases/{case_id:int}/notices", opt=ISSUE_PROBE, include_in_schema=False, sync_to_thread=True)
def issue_submit(request: Request[Any, Any, Any], db: Session, case_id: int, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")).strip() for k in ("notice_kind", "penalty_rule", "fine_yuan")}
    try:
        notices.do_issue_notice(db, actor_of(request), case_id, values["notice_kind"],
                                penalty_rule=values["penalty_rule"], fine_yuan=values["fine_yuan"] or None,
                                settings=_settings(request))
    except InvalidInput as refused:
        return _refused(request, db, case_id, refused.errors, values)
    return Redirect(path=f"/cases/{case_id}?saved=notice#notices", status_code=303)


SERVICE_FIELDS = ("served_at", "served_to", "place", "manner", "server_names", "witnesses", "remark")


@post("/notices/{notice_id:int}/service", opt=SERVICE_PROBE, request_max_body_size=PAGE_BODY_LIMIT,
      include_in_schema=False)
async def serve_submit(request: Request[Any, Any, Any], db: Session, notice_id: int) -> Response[Any]:
    """The receipt form: multipart with its photo from the page, any form encoding read alike."""
    form = await request.form()
    return await anyio.to_thread.run_sync(_serve, request, db, notice_id, dict(form.items()))


def _serve(request: Request[Any, Any, Any], db: Session, notice_id: int, data: dict[str, Any]) -> Response[Any]:
    values = {k: data[k].strip() if isinstance(data.get(k), str) else "" for k in SERVICE_FIELDS}
    photo = data.get("receipt_photo")
    photo_bytes = photo.file.read(notices.MAX_RECEIPT_BYTES + 1) \
        if isinstance(photo, UploadFile) and photo.filename else None
    notice = access_notice(db, notice_id)
    try:
        notices.do_serve_notice(db, actor_of(request), notice.id, values["served_at"], values["served_to"],
                                values["place"], values["manner"], values["server_names"], photo_bytes,
                                witnesses=values["witnesses"], remark=values["remark"], settings=_settings(request))
    except InvalidInput as refused:
        return _refused(request, db, notice.case_id, refused.errors, values, notice_id=notice.id)
    return Redirect(path=f"/cases/{notice.case_id}?saved=notice#notice-{notice.id}", status_code=303)


@get("/notices/{notice_id:int}/pdf", opt=READ, include_in_schema=False, sync_to_thread=True)
def notice_pdf_page(request: Request[Any, Any, Any], db: Session, notice_id: int) -> Response[bytes]:
    return _download(request, db, notice_id, "notice")


@get("/notices/{notice_id:int}/receipt.pdf", opt=READ, include_in_schema=False, sync_to_thread=True)
def receipt_pdf_page(request: Request[Any, Any, Any], db: Session, notice_id: int) -> Response[bytes]:
    return _download(request, db, notice_id, "receipt")


@get("/notices/{notice_id:int}/receipt-photo", opt=READ, include_in_schema=False, sync_to_thread=True)
def receipt_photo_page(request: Request[Any, Any, Any], db: Session, notice_id: int) -> Response[bytes]:
    return _download(request, db, notice_id, "photo")


notice_routes = [notices_api, issue_api, serve_api, notice_pdf_api, receipt_pdf_api, issue_submit, serve_submit,
                 notice_pdf_page, receipt_pdf_page, receipt_photo_page]
