"""What the contracts API reads and answers, and the Chinese names of its fields and records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from baoxue.platform.labels import Entity, Field

FIELDS: dict[str, Field | str] = {
    "contract_id": Field("责任书", entity="contracts"),
    "code": "核验码",
    "kind": Field("下发对象", values={"village": "各村委会", "school": "各学校", "teacher": "一所学校的教师"}),
    "school_id": Field("学校", entity="schools"),
    "sha256": "文本 SHA-256",
    "file": "待核验的 PDF 文件",
    "signature": "手写签名",
    "contracts.kind": Field("类别", values={"village": "乡镇—村委会", "school": "乡镇—学校", "teacher": "校长—教师"}),
    "contracts.party_name": "乙方",
    "contracts.school_year": "学年",
    "contracts.sign_by": "签署期限",
}

ENTITIES = {"contracts": Entity("责任书")}


@dataclass
class IssueIn:
    kind: str  # "village" | "school" | "teacher" (a school's class and subject teachers)
    school_id: int | None = None  # for "teacher": the school


@dataclass
class SignIn:
    sha256: str = ""  # the text's hash as the signer was shown it (refused with a 409 if it differs)
    signature: str = ""  # optional: a signature drawn on screen, as a PNG data URL


@dataclass
class SignatureOut:
    side: str
    signer_name: str
    role: str
    membership_id: int
    signed_at: datetime
    sha256: str


@dataclass
class ContractOut:
    id: int
    kind: str
    school_year: int
    party_kind: str
    party_id: int
    party_name: str
    issuer_name: str
    text_sha256: str
    sign_by: date
    state: str
    overdue: bool
    version: int = 1
    previous_id: int | None = None
    signatures: list[SignatureOut] = field(default_factory=list)


@dataclass
class JobOut:
    key: str
    status: str
    created: int
