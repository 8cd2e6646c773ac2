"""Students on a school's roll. The roster import (national 学籍 layout) fills this later."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk

# JY/T 1001 student status codes (DOMAIN.md §13).
STATUS_LABELS = {
    "01": "在读", "02": "休学", "03": "退学", "04": "停学", "05": "复学", "06": "流失",
    "07": "毕业", "08": "结业", "09": "肄业", "10": "转学（转出）", "11": "死亡",
    "12": "保留入学资格", "13": "公派出国", "14": "开除", "15": "下落不明", "99": "其他",
}


class Student(TownshipOwned, Base):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("township_id", "id_number"),
        UniqueConstraint("township_id", "student_number"),
        township_fk("school_id", "schools"),
        township_fk("class_id", "school_classes"),
        township_fk("residence_village_id", "villages"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(index=True)
    class_id: Mapped[int | None] = mapped_column(index=True)
    residence_village_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str] = mapped_column(String(2))  # 男 / 女
    birth_date: Mapped[date] = mapped_column(Date)
    id_type: Mapped[str] = mapped_column(String(2), default="1")  # 1 = 居民身份证
    id_number: Mapped[str] = mapped_column(String(18))
    student_number: Mapped[str] = mapped_column(String(19))  # 全国学籍号
    status: Mapped[str] = mapped_column(String(2), default="01")
    left_behind: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 no, 1 one parent, 2 both
    guardian_name: Mapped[str] = mapped_column(String(40), default="")
    guardian_phone: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    family_circumstances: Mapped[str] = mapped_column(Text, default="")
    is_poor_household: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
