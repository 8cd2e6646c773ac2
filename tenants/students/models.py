"""Students on a school's roll: what the work needs of the national 72-item record (DOMAIN.md §13).

One row is one child of the township, on the roll of the school that holds them now; what
happened before (transfers, suspensions, graduation) is the status history
(`baoxue.tenants.status_changes`). The columns the national file has and the work does not
use (出生地, 籍贯, 政治面貌, ...) are never stored.

The two family members of the national record are two column groups on the row, seen through
`family1` / `family2` (a `FamilyMember` each): a roster of ten thousand children imports in
one statement, and the record reads as the national file lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Float, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, composite, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk

# JY/T 1001 student status codes (DOMAIN.md §13).
STATUS_LABELS = {
    "01": "在读", "02": "休学", "03": "退学", "04": "停学", "05": "复学", "06": "流失",
    "07": "毕业", "08": "结业", "09": "肄业", "10": "转学（转出）", "11": "死亡",
    "12": "保留入学资格", "13": "公派出国", "14": "开除", "15": "下落不明", "99": "其他",
}
ENROLLED = "01"

# 身份证件类型 (JY/T 1001): type Z children may have no number; their first guardian's is required.
ID_TYPES = {"1": "居民身份证", "2": "香港特区护照/身份证明", "3": "澳门特区护照/身份证明", "4": "台湾居民来往大陆通行证",
            "5": "境外永久居住证", "6": "护照", "7": "户口簿", "Z": "其他"}
LEFT_BEHIND = {0: "非留守儿童", 1: "单亲留守儿童", 2: "双亲留守儿童"}
HUKOU_NATURES = {"1": "农业户口", "2": "非农业户口"}
DISABILITIES = {"": "无", "1": "视力残疾", "2": "听力残疾", "3": "言语残疾", "4": "肢体残疾", "5": "智力残疾",
                "6": "精神残疾", "7": "多重残疾"}
RECORD_LABELS = {"id_types": ID_TYPES, "left_behind": LEFT_BEHIND, "hukou": HUKOU_NATURES,
                 "disabilities": DISABILITIES}


@dataclass
class FamilyMember:
    """One of the two family members of the national record (empty name: none given)."""

    name: str = ""
    relation: str = ""
    phone: str = ""
    is_guardian: bool = False
    id_type: str = ""
    id_number: str = ""
    address: str = ""
    work_unit: str = ""

    def __bool__(self) -> bool:
        return bool(self.name)


FAMILY_FIELDS = tuple(FamilyMember.__dataclass_fields__)


def _family(n: int) -> tuple[Mapped[str], ...]:
    lengths = {"name": 40, "relation": 20, "phone": 20, "id_type": 2, "id_number": 18, "address": 200,
               "work_unit": 100}
    return tuple(
        mapped_column(f"family{n}_{f}", default=False) if f == "is_guardian"
        else mapped_column(f"family{n}_{f}", String(lengths[f]), default="")
        for f in FAMILY_FIELDS
    )


class Student(TownshipOwned, Base):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("township_id", "id_number"),
        UniqueConstraint("township_id", "student_number"),
        township_fk("school_id", "schools"),
        township_fk("class_id", "school_classes"),
        township_fk("residence_village_id", "villages"),
        township_fk("incoming_school_id", "schools"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(index=True)
    class_id: Mapped[int | None] = mapped_column(index=True)
    residence_village_id: Mapped[int | None] = mapped_column(index=True)
    # The school a transfer inside the township is taking the child to, until it confirms arrival.
    incoming_school_id: Mapped[int | None] = mapped_column(default=None)
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str] = mapped_column(String(2))  # 男 / 女
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(20), default="汉族")
    id_type: Mapped[str] = mapped_column(String(2), default="1")  # ID_TYPES
    id_number: Mapped[str | None] = mapped_column(String(18), default=None)  # None: type Z without one
    student_number: Mapped[str] = mapped_column(String(19))  # 全国学籍号
    status: Mapped[str] = mapped_column(String(2), default=ENROLLED)
    entry_month: Mapped[str] = mapped_column(String(6), default="")  # 入学年月 YYYYMM
    is_boarding: Mapped[bool] = mapped_column(default=False)  # 就读方式: 住校 / 走读
    hukou_place: Mapped[str] = mapped_column(String(200), default="")  # 户口所在地
    hukou_nature: Mapped[str] = mapped_column(String(2), default="")  # HUKOU_NATURES
    address: Mapped[str] = mapped_column(String(200), default="")  # 现住址
    phone: Mapped[str] = mapped_column(String(20), default="")  # 联系电话
    left_behind: Mapped[int] = mapped_column(SmallInteger, default=0)  # LEFT_BEHIND
    is_migrant: Mapped[bool] = mapped_column(default=False)  # 进城务工人员随迁子女
    is_orphan: Mapped[bool] = mapped_column(default=False)
    disability: Mapped[str] = mapped_column(String(2), default="")  # DISABILITIES
    needs_aid: Mapped[bool] = mapped_column(default=False)  # 是否需要申请资助
    receives_subsidy: Mapped[bool] = mapped_column(default=False)  # 是否享受一补
    distance_km: Mapped[float | None] = mapped_column(Float, default=None)  # 上下学距离
    family_circumstances: Mapped[str] = mapped_column(Text, default="")
    is_poor_household: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    family1: Mapped[FamilyMember] = composite(*_family(1))
    family2: Mapped[FamilyMember] = composite(*_family(2))

    @property
    def guardian(self) -> FamilyMember:
        """Whom the school calls: the first family member marked guardian, else the first named."""
        members = [m for m in (self.family1, self.family2) if m]
        return next((m for m in members if m.is_guardian), members[0] if members else FamilyMember())

    @property
    def enrolled(self) -> bool:
        return self.status == ENROLLED
