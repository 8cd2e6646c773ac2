"""What tasks write to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    ASSIGNED = "tasks:task:assigned", "下达工作任务"
    STEP = "tasks:copy:step", "办理工作任务（报告进展、提交、验收、退回）"
    EVIDENCE_ADDED = "tasks:copy:evidence", "上传或关联任务的完成材料"
    EVIDENCE_DOWNLOADED = "tasks:evidence:downloaded", "下载任务的完成材料"
    TEMPLATE_SAVED = "tasks:template:saved", "保存周期性任务模板"
    RECURRING_CREATED = "tasks:template:created_task", "周期性任务按期自动下达"
