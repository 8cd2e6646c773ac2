"""The Chinese names of the students concept's fields and records (baoxue.platform.labels)."""

from __future__ import annotations

from baoxue.platform.labels import Entity, Field, names_from
from baoxue.platform.permissions import Permission
from baoxue.tenants.students.models import STATUS_LABELS, Student

FIELDS: dict[str, Field | str] = {
    "student_id": Field("学生", entity="students"),
    "status": Field("学籍状态", values=STATUS_LABELS),
    "number": "证件号（身份证号或全国学籍号）",
    "found": "是否找到",
    "students.q": "查找内容",
}

ENTITIES = {
    # A child's name only for those who may read the roll (not the administrator reading the trail).
    "students": Entity("学生", names_from(Student, Student.name), permission=Permission.STUDENT_READ),
}
