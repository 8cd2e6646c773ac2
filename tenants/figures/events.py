"""What the figures concept writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    REBUILD_REQUESTED = "figures:rebuild:requested", "请求重新计算统计"
    SETTINGS_CHANGED = "figures:settings:changed", "修改统计设置（目标、休学是否计入、月报截止日）"
    REPORT_SUBMITTED = "figures:report:submitted", "报送月报"
    REPORT_EXPORTED = "figures:report:exported", "导出月报"
