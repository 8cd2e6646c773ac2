"""What the tenancy concept writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    TOWNSHIP_CREATED = "tenancy:township:created", "创建乡镇"
    VILLAGE_CREATED = "tenancy:village:created", "新增村委会"
    VILLAGE_UPDATED = "tenancy:village:updated", "修改村委会"
    SCHOOL_CREATED = "tenancy:school:created", "新增学校"
    SCHOOL_UPDATED = "tenancy:school:updated", "修改学校"
    CLASS_CREATED = "tenancy:class:created", "新增班级"
    CLASS_UPDATED = "tenancy:class:updated", "修改班级"
    DEPARTMENT_CREATED = "tenancy:department:created", "新增部门"
    DEPARTMENT_UPDATED = "tenancy:department:updated", "修改部门"
    PERSON_CREATED = "tenancy:person:created", "新增人员"
    MEMBERSHIP_ADDED = "tenancy:membership:added", "授予身份"
    MEMBERSHIP_DEACTIVATED = "tenancy:membership:deactivated", "停用身份"
    IMPORT_COMPLETED = "tenancy:import:completed", "批量导入结构"
