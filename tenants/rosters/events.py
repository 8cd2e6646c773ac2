"""What the rosters concept writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    IMPORTED = "rosters:roster:imported", "导入学籍名册"
    EXPORTED = "rosters:roster:exported", "导出学籍名册"
    SAMPLE_EXPORTED = "rosters:sample:exported", "下载学籍名册试用文件"
