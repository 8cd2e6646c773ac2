"""What the census puts on the first screen: a village's census to enter, what the comparison found."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.concepts import Todo
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.tenants.census.models import CensusChild, CensusFinding, PovertyHousehold
from baoxue.tenants.census.service import lists_for
from baoxue.tenants.tenancy.models import Village


def _finding_count(kind: str) -> Any:
    return select(func.count(CensusFinding.id)).where(CensusFinding.kind == kind).scalar_subquery()


def todos(session: Session, actor: Any) -> list[Todo]:
    m = actor.membership
    if m is None:
        return []
    if m.unit_kind == UnitKind.DEPARTMENT and actor.can(Permission.CENSUS_IMPORT):
        return _department(session)
    if not actor.can(Permission.CENSUS_READ) or m.unit_kind not in (UnitKind.VILLAGE, UnitKind.TOWNSHIP):
        return []
    listed = select(func.count(CensusChild.id)).where(CensusChild.source == "census").scalar_subquery()
    unlisted = (select(func.count(Village.id)).where(Village.id.not_in(
        select(CensusChild.village_id).where(CensusChild.source == "census", CensusChild.village_id.is_not(None))))
        .scalar_subquery())
    own, empty, nowhere, away, twice, ghost = session.execute(select(
        listed, unlisted, _finding_count("nowhere"), _finding_count("away"), _finding_count("twice"),
        _finding_count("ghost"))).one()
    found: list[Todo] = []
    if m.unit_kind == UnitKind.VILLAGE:
        where = f"/census/villages/{m.unit_id}"
        if not own:
            found.append(Todo("本村文化户口还没有登记：请登记或整表导入本村 6—15 周岁的儿童少年。", where))
        if nowhere or away:
            found.append(Todo(f"文化户口比对：本村 {nowhere} 名适龄儿童未在任何学校就读"
                              f"{f'、{away} 名户在人不在需核实在外就读情况' if away else ''}，请入户核实并劝返。",
                              f"{where}#findings"))
        return found
    if empty:
        found.append(Todo(f"还有 {empty} 个村没有录入文化户口：请督促各村登记适龄儿童。", "/census#villages"))
    if nowhere or twice or ghost:
        parts = [f"{n} 名{label}" for n, label in ((nowhere, "适龄儿童未就读"), (twice, "学生重复学籍"),
                                                   (ghost, "学生空挂学籍")) if n]
        found.append(Todo(f"四查三比对发现{'、'.join(parts)}：请督促村校核实处理。", "/census#findings"))
    return found


def _department(session: Session) -> list[Todo]:
    kinds = [k for k in lists_for(session) if k != "census"]
    if "register" in kinds and not session.scalar(select(func.count(CensusChild.id))
                                                  .where(CensusChild.source == "register")):
        return [Todo("请导入本乡镇户籍的 6—15 周岁人口名单，用于与学籍比对（四查三比对）。", "/census/lists")]
    if "poverty" in kinds:
        if not session.scalar(select(func.count(PovertyHousehold.id))):
            return [Todo("请导入脱贫户、低保户名单，用于找出需优先帮扶的辍学家庭。", "/census/lists")]
    return []
