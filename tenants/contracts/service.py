"""Responsibility contracts: issuing a school year's contracts, signing, the PDF, verification.

* `do_issue_contracts`: the office asks for this school year's contracts to every village or
  every school; a job (`tasks.issue_contracts`, requested in the asking transaction) makes them.
* `issue_all`: the job's work. One contract per party, each with its own text rendered from
  templates/contracts/<kind>.html with the township's targets (figures' settings); the unique key
  (township, kind, school year, party, version) makes a second run create nothing.
* `do_sign_contract`: a side signs as itself with its current membership: the township side (the
  office or the leader) or the party (the village's cadre, the school's principal). The signature
  records who, which membership and role, when, and the SHA-256 of the stored text. Someone
  else's contract, a second signature, a text that no longer matches its hash: refused with a
  409 in Chinese, and the refusal is audited in its own transaction (the request rolls back).
* `do_correct_contract`: the office corrects an issued contract: a new version with its text
  rendered anew, naming the one it replaces, needing both signatures again (the old one's
  worklist items close; the old one stays as it was, marked replaced).
* `do_download_contract`: once both have signed, the PDF (generated once, its SHA-256 stored),
  with both signatures, the text's hash and a QR code of /verify/<code>.
* `verification` / `pdf_is_genuine`: what the public page says, and nothing else.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import CHINA, clock, school_year
from baoxue.platform.db import new_session, tenant_of
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput
from baoxue.platform.files import storage
from baoxue.platform.jobs import JobRun, request_job
from baoxue.platform.pdf import render_pdf
from baoxue.platform.permissions import Permission, Role, UnitKind
from baoxue.platform.settings import PROJECT_ROOT, Settings, get_settings
from baoxue.tenants.contracts.events import Event
from baoxue.tenants.contracts.models import Contract, ContractSignature
from baoxue.tenants.contracts.policy import access_contract

KINDS = {"village": "乡镇人民政府与村民委员会控辍保学责任状", "school": "乡镇人民政府与学校控辍保学目标责任书",
         "teacher": "学校与教师控辍保学责任书"}
KIND_LABELS = {"village": "乡镇—村委会", "school": "乡镇—学校", "teacher": "校长—教师"}
SIDES = {"issuer": "甲方", "party": "乙方"}
SIGN_DAYS = 14  # the signing deadline, in calendar days after issuance
FILE_KIND = "contracts"
SIGNATURE_KIND = "contract-signatures"
SUBJECT = "contracts"
ISSUER_ROLES = (Role.OFFICE_STAFF, Role.LEADER)
PARTY_ROLES = {"village": (Role.VILLAGE_CADRE,), "school": (Role.PRINCIPAL,),
               "teacher": (Role.CLASS_TEACHER, Role.SUBJECT_TEACHER)}


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def year_label(year: int) -> str:
    return f"{year}—{year + 1}学年"


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader

    return Environment(loader=FileSystemLoader(PROJECT_ROOT / "templates"), autoescape=True)


# --- issuing ---------------------------------------------------------------------------------

def do_issue_contracts(session: Session, actor: Any, kind: Any, school_id: Any = None) -> JobRun:
    """Ask for this school year's contracts to every village, every school, or every teacher of a
    school (a job)."""
    from baoxue.platform.access import access
    from baoxue.tenants.contracts.tasks import issue_key
    from baoxue.tenants.tenancy.models import School

    if not actor.can(Permission.CONTRACT_ISSUE):
        raise Forbidden(detail="只有领导小组办公室可以下发责任书。")
    kind = str(kind or "")
    if kind not in KINDS:
        raise InvalidInput({"kind": "请选择下发对象：各村、各学校或一所学校的教师。"})
    school = None
    if kind == "teacher":
        if not str(school_id or "").strip().isdigit():
            raise InvalidInput({"school_id": "请选择学校：向该校的班主任和科任教师下发。"})
        school = access(session, School, int(str(school_id).strip()))  # another township's: 404
    year = school_year(clock.today())
    township_id = tenant_of(session).township_id
    run, created = request_job(session, township_id, "issue_contracts",
                               issue_key(kind, year, school.id if school else None))
    audit.record(session, Event.ISSUE_REQUESTED, entity=run, changes={
        "kind": kind, "school_year": year, "school_id": school.id if school else None, "new_job": created})
    session.flush()
    return run


def _targets(session: Session) -> dict[str, str]:
    from baoxue.tenants.figures.settings import settings_of

    s = settings_of(session)

    def pct(value: int | None) -> str:
        return "—" if value is None else f"{value / 100:.2f}%"

    return {"primary_dropout": pct(s.dropout_ceiling("primary")), "junior_dropout": pct(s.dropout_ceiling("junior")),
            "school_dropout": pct(s.dropout_ceiling("school")), "retention": pct(s.retention_floor("all"))}


def _parties(session: Session, kind: str, school_id: int | None = None) -> list[tuple[int, str]]:
    """(party id, name as printed): villages, schools, or a school's teachers' memberships."""
    from baoxue.tenants.tenancy.models import Membership, School, User, Village

    if kind == "teacher":
        roles = [r.value for r in PARTY_ROLES["teacher"]]
        return [(i, f"{name}（{Role(role).label}）") for i, name, role in session.execute(
            select(Membership.id, User.display_name, Membership.role).join(User, User.id == Membership.user_id)
            .where(Membership.school_id == school_id, Membership.role.in_(roles), Membership.is_active.is_(True))
            .order_by(Membership.id))]
    model = Village if kind == "village" else School
    return [(i, n) for i, n in session.execute(select(model.id, model.name).order_by(model.id))]


def render_text(kind: str, content: dict[str, Any]) -> str:
    return _env().get_template(f"contracts/{kind}.html").render(c=content)


def _new_contract(session: Session, kind: str, year: int, party_id: int, name: str, *, version: int = 1,
                  previous_id: int | None = None, school_id: int | None = None) -> Contract:
    """A contract with its own text (the township's targets today), its hash and its code."""
    from baoxue.tenants.tenancy.models import School, Township

    township = session.scalars(select(Township).where(Township.id == tenant_of(session).township_id)).one()
    issuer, now = f"{township.name}人民政府", clock.now()
    if kind == "teacher":
        issuer = session.scalars(select(School.name).where(School.id == school_id)).one()
    content = {"title": KINDS[kind], "issuer": issuer, "party": name, "year": year_label(year),
               "targets": _targets(session), "issued_on": cn_date(now.astimezone(CHINA).date()),
               "version": version}
    text = render_text(kind, content)
    contract = Contract(township_id=township.id, kind=kind, school_year=year, version=version,
                        previous_id=previous_id, party_kind="membership" if kind == "teacher" else kind,
                        party_id=party_id, school_id=school_id, party_name=name,
                        issuer_name=issuer, text=text, text_sha256=sha256(text),
                        code=f"{township.id}-{secrets.token_urlsafe(18)}", issued_at=now,
                        sign_by=now.astimezone(CHINA).date() + timedelta(days=SIGN_DAYS))
    session.add(contract)
    session.flush()
    return contract


def issue_all(session: Session, kind: str, year: int, school_id: int | None = None) -> dict[str, Any]:
    """The job's work: a contract for every party that has none this year (one query to find them)."""
    have = set(session.scalars(select(Contract.party_id).where(Contract.kind == kind, Contract.school_year == year)))
    made: list[int] = []
    for party_id, name in _parties(session, kind, school_id):
        if party_id in have:
            continue
        contract = _new_contract(session, kind, year, party_id, name, school_id=school_id)
        audit.record(session, Event.ISSUED, entity=contract, changes={"kind": kind, "school_year": year,
                                                                     "party": name, "sha256": contract.text_sha256})
        made.append(contract.id)
    _reconcile(session, [c for c in session.scalars(select(Contract).where(Contract.id.in_(made)))] if made else [])
    return {"created": made, "existing": len(have)}


# --- signing ---------------------------------------------------------------------------------

def signatures_of(session: Session, contract_ids: Sequence[int]) -> dict[int, dict[str, ContractSignature]]:
    found: dict[int, dict[str, ContractSignature]] = {}
    if not contract_ids:
        return found
    for s in session.scalars(select(ContractSignature).where(ContractSignature.contract_id.in_(sorted(set(contract_ids))))):
        found.setdefault(s.contract_id, {})[s.side] = s
    return found


def side_of(actor: Any, contract: Contract) -> str | None:
    """Which side this person signs for with the membership in use, or None."""
    m = actor.membership
    if m is None or not actor.can(Permission.CONTRACT_SIGN):
        return None
    if contract.kind == "teacher":
        if m.unit_kind == UnitKind.SCHOOL and m.unit_id == contract.school_id and m.role == Role.PRINCIPAL:
            return "issuer"
        return "party" if m.id == contract.party_id and m.role in PARTY_ROLES["teacher"] else None
    if m.unit_kind == UnitKind.TOWNSHIP and m.role in ISSUER_ROLES:
        return "issuer"
    if (m.unit_kind.value == contract.party_kind and m.unit_id == contract.party_id
            and m.role in PARTY_ROLES.get(contract.kind, ())):
        return "party"
    return None


def _refuse(session: Session, contract: Contract, reason: str, detail: str, settings: Settings | None) -> None:
    """Record the refusal in its own transaction (the request's rolls back), then refuse."""
    own = new_session(tenant_of(session), settings or get_settings())
    try:
        audit.record(own, Event.SIGN_REFUSED, entity_type="contracts", entity_id=contract.id, outcome="denied",
                     changes={"reason": reason})
        own.commit()
    finally:
        own.close()
    raise Conflict(detail=detail)


def replaced(session: Session, contract_ids: Sequence[int]) -> set[int]:
    """Those of the contracts a correction has replaced (one query)."""
    if not contract_ids:
        return set()
    return set(session.scalars(select(Contract.previous_id).where(Contract.previous_id.in_(sorted(set(contract_ids))))))


def do_sign_contract(session: Session, actor: Any, contract_id: int, *, sha: str = "", drawing: Any = None,
                     settings: Settings | None = None) -> ContractSignature:
    """Sign one's own side. `sha` is the hash of the text the signer was shown (refused if it
    differs); `drawing` an optional signature drawn on screen (a PNG or its data URL)."""
    from baoxue.platform import photos

    settings = settings or get_settings()
    contract = access_contract(session, contract_id, for_write=True)
    side = side_of(actor, contract)
    if side is None:
        _refuse(session, contract, "not_a_party", "这份责任书不是您所在单位签署的，不能代签。", settings)
    if replaced(session, [contract.id]):
        _refuse(session, contract, "replaced", "这份责任书已被更正后的新版本取代，请签署新版本。", settings)
    signed = signatures_of(session, [contract.id]).get(contract.id, {})
    if side in signed:
        _refuse(session, contract, "signed_twice",
                f"{SIDES[side]}已于{signed[side].signed_at.astimezone(CHINA):%Y年%m月%d日}签署，不能重复签署。", settings)
    if sha256(contract.text) != contract.text_sha256 or (sha and sha != contract.text_sha256):
        _refuse(session, contract, "text_changed", "责任书文本与下发时的文本不一致，不能签署。请刷新页面后核对。", settings)
    png = photos.accept_signature(drawing, field="signature") if drawing else None
    m = actor.membership
    signature = ContractSignature(township_id=contract.township_id, contract_id=contract.id, side=side,
                                  user_id=actor.user_id, membership_id=m.id, role=m.role.value,
                                  signer_name=actor.signed_as, signed_at=clock.now(), sha256=contract.text_sha256,
                                  signature_key=storage(settings).save(contract.township_id, SIGNATURE_KIND, png,
                                                                       ".png") if png else "")
    session.add(signature)
    session.flush()
    audit.record(session, Event.SIGNED, entity=contract, changes={
        "side": side, "membership_id": m.id, "role": m.role.value, "sha256": contract.text_sha256,
        "drawn": bool(png)})
    _reconcile(session, [contract])
    return signature


def do_correct_contract(session: Session, actor: Any, contract_id: int,
                        settings: Settings | None = None) -> Contract:
    """A new version of the contract (its text rendered anew), replacing this one; both sides
    sign it again. The one replaced stays exactly as it was."""
    contract = access_contract(session, contract_id, for_write=True)
    if not actor.can(Permission.CONTRACT_ISSUE):
        raise Forbidden(detail="只有领导小组办公室可以更正责任书。")
    if replaced(session, [contract.id]):
        _refuse(session, contract, "replaced", "这份责任书已经更正过，请更正最新的版本。", settings)
    corrected = _new_contract(session, contract.kind, contract.school_year, contract.party_id, contract.party_name,
                              version=contract.version + 1, previous_id=contract.id, school_id=contract.school_id)
    audit.record(session, Event.CORRECTED, entity=corrected, changes={
        "replaces": contract.id, "version": corrected.version, "sha256": corrected.text_sha256})
    _reconcile(session, [contract, corrected])
    return corrected


# --- the worklist ----------------------------------------------------------------------------

def _reconcile(session: Session, contracts: Sequence[Contract]) -> None:
    """The unsigned sides each have an item until they sign."""
    from baoxue.platform.scoping import consequences
    from baoxue.tenants.worklist.service import Due, Owner, reconcile_many

    if not contracts:
        return
    signed = signatures_of(session, [c.id for c in contracts])
    gone = replaced(session, [c.id for c in contracts])
    wanted: dict[int, list[Due]] = {}
    for c in contracts:
        have = signed.get(c.id, {})
        dues: list[Due] = []
        if c.id in gone:  # a replaced contract needs nobody's work any more
            wanted[c.id] = dues
            continue
        title = f"签署{year_label(c.school_year)}责任书（{c.party_name}）"
        if c.kind == "teacher":  # the school's principal and the teacher (their membership)
            issuer = Owner(UnitKind.SCHOOL, c.school_id, Role.PRINCIPAL.value)
            party = Owner(UnitKind.SCHOOL, c.school_id, "", membership_id=c.party_id)
        else:
            issuer = Owner(UnitKind.TOWNSHIP, None, Role.OFFICE_STAFF.value)
            party = Owner(UnitKind(c.party_kind), c.party_id, PARTY_ROLES[c.kind][0].value)
        if "issuer" not in have:
            dues.append(Due("contracts:sign_issuer", title, f"/contracts/{c.id}", issuer, c.sign_by))
        if "party" not in have:
            dues.append(Due("contracts:sign_party", title, f"/contracts/{c.id}", party, c.sign_by))
        wanted[c.id] = dues
    with consequences(session):  # the other side's item closes with this side's act
        reconcile_many(session, SUBJECT, wanted)


# --- the PDF ---------------------------------------------------------------------------------

def verify_address(settings: Settings, code: str) -> str:
    base = (settings.notify_base_url or "").rstrip("/")
    return f"{base}/verify/{code}"


def qr_svg(data: str) -> str:
    import segno

    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return out.getvalue().decode("utf-8")


def _drawn(contract: Contract, signed: dict[str, ContractSignature], settings: Settings) -> dict[str, str]:
    """Each side's drawn signature as a data URL for the PDF (none when not drawn)."""
    import base64

    files = storage(settings)
    return {side: "data:image/png;base64," + base64.b64encode(files.read(contract.township_id,
                                                                        s.signature_key)).decode()
            for side, s in signed.items() if s.signature_key}


def render_contract_pdf(contract: Contract, signed: dict[str, ContractSignature], settings: Settings) -> bytes:
    address = verify_address(settings, contract.code)
    html = _env().get_template("documents/contracts/contract.html").render(
        c=contract, text=contract.text, signed=signed, sides=SIDES, address=address, qr=qr_svg(address),
        drawn=_drawn(contract, signed, settings),
        local=lambda t: t.astimezone(CHINA).strftime("%Y年%m月%d日 %H:%M"))
    return render_pdf(html)


def do_download_contract(session: Session, contract: Contract, settings: Settings | None = None) -> tuple[bytes, str]:
    """The signed contract's PDF (generated once, its hash stored); audited."""
    settings = settings or get_settings()
    signed = signatures_of(session, [contract.id]).get(contract.id, {})
    if set(signed) != set(SIDES):
        raise Conflict(detail="双方签署后才能生成责任书 PDF。")
    files = storage(settings)
    if contract.pdf_key:
        data = files.read(contract.township_id, contract.pdf_key)
    else:
        data = render_contract_pdf(contract, signed, settings)
        contract.pdf_key = files.save(contract.township_id, FILE_KIND, data, ".pdf")
        contract.pdf_sha256 = sha256(data)
        session.flush()
    audit.record(session, Event.DOWNLOADED, entity=contract, changes={"pdf_sha256": contract.pdf_sha256})
    return data, f"{contract.party_name}{year_label(contract.school_year)}责任书.pdf"


# --- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    contract: Contract
    signed: dict[str, ContractSignature]
    replaced: bool = False

    @property
    def state(self) -> str:
        if self.replaced:
            return "已被更正版本取代"
        if len(self.signed) == 2:
            return "双方已签署"
        if self.signed:
            return "一方已签署"
        return "已下发"

    @property
    def overdue(self) -> bool:
        return not self.replaced and len(self.signed) < 2 and clock.today() > self.contract.sign_by


def contracts(session: Session, *, limit: int = 500) -> list[Row]:
    """The reader's contracts with their signatures (two queries)."""
    found = list(session.scalars(select(Contract).order_by(Contract.school_year.desc(), Contract.kind,
                                                           Contract.party_id, Contract.version).limit(limit)))
    signed = signatures_of(session, [c.id for c in found])
    gone = replaced(session, [c.id for c in found])
    return [Row(c, signed.get(c.id, {}), c.id in gone) for c in found]


def schools(session: Session) -> list[tuple[int, str]]:
    return _parties(session, "school")


def jobs(session: Session) -> list[JobRun]:
    return list(session.scalars(select(JobRun).where(JobRun.key.startswith("contracts:issue:"))
                                .order_by(JobRun.id.desc()).limit(5)))


# --- public verification ---------------------------------------------------------------------

def township_of_code(code: str) -> int | None:
    head, _, token = code.partition("-")
    return int(head) if head.isdigit() and len(token) >= 16 and len(code) <= 64 else None


@dataclass(frozen=True)
class Verification:
    kind: str
    issuer: str
    party: str
    year: str
    sha256: str
    signatures: list[tuple[str, str, str]]  # (side, signer, when)
    has_pdf: bool
    replaced: bool = False
    version: int = 1


def verification(session: Session, code: str) -> tuple[Verification, Contract] | None:
    """What the public page says of a contract (session: the township's, as the system)."""
    contract = session.scalars(select(Contract).where(Contract.code == code)).first()
    if contract is None:
        return None
    signed = signatures_of(session, [contract.id]).get(contract.id, {})
    return Verification(KIND_LABELS[contract.kind], contract.issuer_name, contract.party_name,
                        year_label(contract.school_year), contract.text_sha256,
                        [(SIDES[side], signed[side].signer_name,
                          signed[side].signed_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"))
                         for side in SIDES if side in signed], bool(contract.pdf_sha256),
                        bool(replaced(session, [contract.id])), contract.version), contract


def pdf_is_genuine(contract: Contract, data: bytes) -> bool:
    return bool(contract.pdf_sha256) and secrets.compare_digest(sha256(data), contract.pdf_sha256)
