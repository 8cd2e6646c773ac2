"""Tenancy: the township's structure (villages, schools, classes, departments) and its people."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="tenancy",
    label="乡镇结构与人员",
    nav=(
        NavEntry("学校与班级", "/admin/schools", Permission.STRUCTURE_READ, order=10),
        NavEntry("村委会", "/admin/villages", Permission.STRUCTURE_READ, order=20),
        NavEntry("部门", "/admin/departments", Permission.STRUCTURE_READ, order=30),
        NavEntry("人员与角色", "/admin/people", Permission.PEOPLE_READ, order=40),
        NavEntry("批量导入", "/admin/import", Permission.STRUCTURE_WRITE, order=800),
    ),
)
