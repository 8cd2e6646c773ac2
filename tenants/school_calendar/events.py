"""What the school calendar writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    TERM_ADDED = "school_calendar:term:added", "添加学期"
    TERM_REMOVED = "school_calendar:term:removed", "删除学期"
    DAY_ADDED = "school_calendar:day:added", "添加校历安排（放假、调休上课、停课）"
    DAY_REMOVED = "school_calendar:day:removed", "删除校历安排"
