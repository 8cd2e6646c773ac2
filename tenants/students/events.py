"""What the students concept writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    PERSONAL_VIEWED = "students:student:personal_viewed", "查看学生完整信息"
    PERSONAL_SEARCHED = "students:student:personal_searched", "按证件号查找学生"
    EXPORTED = "students:export:downloaded", "导出学生名册"
