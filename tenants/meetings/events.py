"""What meetings write to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    RECORDED = "meetings:meeting:recorded", "登记会议或宣传活动"
    CHANGED = "meetings:meeting:changed", "修改会议或宣传活动记录"
    DELETED = "meetings:meeting:deleted", "删除会议或宣传活动记录"
    PREPARED = "meetings:leading_group:prepared", "筹备领导小组会议（自动生成议题）"
    DECIDED = "meetings:item:decided", "记录领导小组会议决定（并下达任务或转介部门）"
