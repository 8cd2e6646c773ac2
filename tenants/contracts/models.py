"""A responsibility contract between the township and one party (a village or a school), or
between a school (its principal) and one of its teachers (a membership), and its signatures. The text is the rendered HTML stored at issuance and never changed; its SHA-256 is
what each side signs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.db import Base, TownshipOwned, township_fk


class Contract(TownshipOwned, Base):
    __tablename__ = "contracts"
    # One contract per township, kind, school year and party (and version: a correction is a new one).
    __table_args__ = (UniqueConstraint("township_id", "kind", "school_year", "party_kind", "party_id", "version"),
                      UniqueConstraint("township_id", "code"),
                      township_fk("previous_id", "contracts"), township_fk("school_id", "schools"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # village | school | teacher
    school_year: Mapped[int] = mapped_column()  # 2026: the 2026–2027 school year
    version: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[int | None] = mapped_column(default=None)
    party_kind: Mapped[str] = mapped_column(String(20))  # village | school | membership (a teacher)
    party_id: Mapped[int] = mapped_column()
    school_id: Mapped[int | None] = mapped_column(default=None)  # a teacher's contract: the school issuing it
    party_name: Mapped[str] = mapped_column(String(80))  # as printed
    issuer_name: Mapped[str] = mapped_column(String(80))  # 板当镇人民政府, or the school
    text: Mapped[str] = mapped_column(Text)  # the rendered HTML, never changed
    text_sha256: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))  # the public verification code
    issued_at: Mapped[datetime] = mapped_column()
    sign_by: Mapped[date] = mapped_column(Date)
    pdf_key: Mapped[str] = mapped_column(String(200), default="")
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")


class ContractSignature(TownshipOwned, Base):
    """One side's signature: who, as which membership and role, when, over which bytes."""

    __tablename__ = "contract_signatures"
    __table_args__ = (UniqueConstraint("township_id", "contract_id", "side"),
                      township_fk("contract_id", "contracts"))

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(index=True)
    side: Mapped[str] = mapped_column(String(10))  # issuer | party
    user_id: Mapped[int] = mapped_column()
    membership_id: Mapped[int] = mapped_column()
    role: Mapped[str] = mapped_column(String(32))
    signer_name: Mapped[str] = mapped_column(String(120))  # 王芳（板当中学校长）
    signed_at: Mapped[datetime] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    signature_key: Mapped[str] = mapped_column(String(200), default="")  # a signature drawn on screen (PNG)
