"""What the circulars API reads and answers, and the Chinese names of its fields and records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from baoxue.platform.labels import Entity, Field

_STATES = {"draft": "草稿", "issued": "已印发"}

FIELDS: dict[str, Field | str] = {
    "circular_id": Field("通报", entity="circulars"),
    "body": "通报正文",
    "units": "被通报单位",
    "circulars.title": "通报标题",
    "circulars.body": "通报正文",
    "circulars.units": "被通报单位",
    "circulars.number": "通报文号",
    "circulars.state": Field("状态", values=_STATES),
}

ENTITIES = {"circulars": Entity("通报")}


@dataclass
class CircularIn:
    """A new draft: empty title and body are filled from what is behind now."""

    title: str = ""
    body: str = ""


@dataclass
class CircularChange:
    title: str
    body: str
    units: list[str]  # "school:3", "village:2", "department:5"


@dataclass
class UnitOut:
    unit_kind: str
    unit_id: int
    name: str
    reason: str


@dataclass
class BehindOut:
    unit_kind: str
    unit_id: int
    name: str
    reasons: list[str]


@dataclass
class CircularOut:
    id: int
    state: str
    title: str
    body: str
    number: str
    issuer: str
    drafted_by_name: str
    issued_by_name: str
    issued_at: datetime | None
    units: list[UnitOut] = field(default_factory=list)
