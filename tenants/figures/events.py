"""What the figures concept writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    REBUILD_REQUESTED = "figures:rebuild:requested", "请求重新计算统计"
