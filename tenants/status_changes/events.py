"""What the status changes concept writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    REQUESTED = "status_changes:change:requested", "提出学籍变动申请"
    STEP_APPROVED = "status_changes:step:approved", "学籍变动审批：同意"
    STEP_REFUSED = "status_changes:step:refused", "学籍变动审批：不同意"
    # The change took effect on the child's record (status, school, class).
    COMPLETED = "status_changes:change:completed", "学籍变动办结"
    GRADUATED = "status_changes:grade:graduated", "年级毕业（整批办理）"
    # A certificate is a child's personal data: reading it is on the record like any export.
    DOCUMENT_DOWNLOADED = "status_changes:document:downloaded", "下载学籍变动证明材料"
