"""What the census concept writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    CHILD_ADDED = "census:child:added", "登记适龄儿童（文化户口）"
    CHILD_CHANGED = "census:child:changed", "修改适龄儿童登记"
    CHILD_REMOVED = "census:child:removed", "删除适龄儿童登记"
    IMPORTED = "census:list:imported", "导入名单（文化户口、户籍或贫困户）"
    RECONCILE_REQUESTED = "census:census:requested", "请求四查三比对"
    RECONCILED = "census:census:reconciled", "四查三比对"
    EXPORTED = "census:ledger:exported", "导出台账"
