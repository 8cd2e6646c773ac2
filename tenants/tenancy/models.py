"""Townships and their units (villages, schools, classes, departments), people and memberships."""

from __future__ import annotations

from datetime import datetime
from sqlalchemy import Boolean, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk
from baoxue.platform.permissions import Role, UnitKind


class County(Base):
    """A county education bureau (县教育局): it groups townships and reads what they publish."""

    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CountyMembership(Base):
    """A county viewer: a person of the county, who belongs to no township."""

    __tablename__ = "county_memberships"
    __table_args__ = (UniqueConstraint("county_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Township(Base):
    """The tenant. Its own row is visible to its people (and, on PostgreSQL, to nobody else)."""

    __tablename__ = "townships"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    county: Mapped[str] = mapped_column(String(80), default="")  # its name, as documents print it
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), default=None)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    # Days a transfer to another school of the township may wait for the arrival to be confirmed
    # before the central school is told (an unfinished transfer is a possible dropout).
    transfer_confirm_days: Mapped[int] = mapped_column(SmallInteger, default=10)
    # The enforcement chain's documents the province's law supports (cases.flows.NoticeKind, in
    # order, comma-separated): art. 58 allows the order to correct; fines need a provincial rule.
    enforcement_documents: Mapped[str] = mapped_column(String(100), default="persuasion,order,court")
    notice_series: Mapped[str] = mapped_column(String(30), default="义劝通字")  # 义劝通字〔2026〕第7号
    # Its circulars' series (板当府通〔2026〕3号); "" = its name's short form + 府通 (circulars/service.py).
    circular_series: Mapped[str] = mapped_column(String(30), default="")
    # A returned child (辍返生) is visited every `return_visit_days` for `return_watch_weeks`.
    return_watch_weeks: Mapped[int] = mapped_column(SmallInteger, default=8)
    return_visit_days: Mapped[int] = mapped_column(SmallInteger, default=14)
    # The absence procedure (DOMAIN.md §6, §13), in school days of consecutive unexcused absence:
    # the day each step falls due (school_calendar/rules.py reads them as one value).
    step_contact: Mapped[int] = mapped_column(SmallInteger, default=1)  # the class teacher calls the guardian
    step_visits: Mapped[int] = mapped_column(SmallInteger, default=2)  # home visits begin, at least three
    step_report: Mapped[int] = mapped_column(SmallInteger, default=3)  # 旷课报告单 to the school
    step_village: Mapped[int] = mapped_column(SmallInteger, default=5)  # 疑似辍学: the case opens, the village joins
    step_final_visit: Mapped[int] = mapped_column(SmallInteger, default=10)  # a school leader's final visit
    step_confirm: Mapped[int] = mapped_column(SmallInteger, default=15)  # 流失确认 and the 流失报告
    # Scattered absence: this many unexcused days within the window (school days) is a risk.
    scattered_days: Mapped[int] = mapped_column(SmallInteger, default=5)
    scattered_window: Mapped[int] = mapped_column(SmallInteger, default=20)
    sick_check_days: Mapped[int] = mapped_column(SmallInteger, default=10)  # sick leave this long is checked
    report_by_hour: Mapped[int] = mapped_column(SmallInteger, default=10)  # a class unreported by then is flagged
    correction_days: Mapped[int] = mapped_column(SmallInteger, default=3)  # school days a report may be corrected
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Village(TownshipOwned, Base):
    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("township_id", "name"),
                      township_fk("liaison_membership_id", "memberships"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(20), default="")
    # The township cadre who takes this village (包村干部): the government line of its children's cases.
    liaison_membership_id: Mapped[int | None] = mapped_column(default=None)


class School(TownshipOwned, Base):
    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("township_id", "name"), township_fk("village_id", "villages"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # see SCHOOL_KINDS
    code: Mapped[str] = mapped_column(String(20), default="")
    village_id: Mapped[int | None] = mapped_column()


SCHOOL_KINDS = {
    "central_primary": "中心小学",
    "primary": "小学",
    "middle": "初级中学",
    "nine_year": "九年一贯制学校",
}


class SchoolClass(TownshipOwned, Base):
    __tablename__ = "school_classes"
    __table_args__ = (UniqueConstraint("township_id", "school_id", "name"), township_fk("school_id", "schools"))

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(index=True)
    grade: Mapped[int] = mapped_column(SmallInteger)  # 1..9, the national grade number
    name: Mapped[str] = mapped_column(String(40))
    entry_year: Mapped[int] = mapped_column(SmallInteger)


class Department(TownshipOwned, Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("township_id", "duty_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    duty_code: Mapped[str] = mapped_column(String(40))  # baoxue.platform.permissions.DutyCode
    name: Mapped[str] = mapped_column(String(80))


class User(Base):
    """A login. Global: one person may work in several townships; their memberships say where."""

    __tablename__ = "users"
    # INSERT ... RETURNING needs the new row to pass the read policy, and a person just created
    # has no membership yet; SQLAlchemy then takes the id from the sequence first.
    __table_args__ = {"implicit_returning": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str | None] = mapped_column(String(120), default=None)  # where e-mailed notifications go (0012)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(TownshipOwned, Base):
    """One role of one person in one unit of a township (a teacher's classes: `MembershipClass`)."""

    __tablename__ = "memberships"
    __table_args__ = (
        township_fk("school_id", "schools"),
        township_fk("village_id", "villages"),
        township_fk("department_id", "departments"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))  # baoxue.platform.permissions.Role
    school_id: Mapped[int | None] = mapped_column()
    village_id: Mapped[int | None] = mapped_column()
    department_id: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(64), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def unit_id(self) -> int | None:
        kind = self.role_enum.unit_kind
        return {
            UnitKind.TOWNSHIP: None,
            UnitKind.SCHOOL: self.school_id,
            UnitKind.VILLAGE: self.village_id,
            UnitKind.DEPARTMENT: self.department_id,
        }[kind]


class MembershipClass(TownshipOwned, Base):
    """A class a teacher's membership names: a class teacher's class, a subject teacher's classes."""

    __tablename__ = "membership_classes"
    __table_args__ = (
        UniqueConstraint("township_id", "membership_id", "class_id"),
        township_fk("membership_id", "memberships"),
        township_fk("class_id", "school_classes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(index=True)
    class_id: Mapped[int] = mapped_column()
