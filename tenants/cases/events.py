"""What the case file writes to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    OPENED = "cases:case:opened", "建立控辍个案"
    STAGE_MOVED = "cases:case:stage_moved", "控辍个案转入下一阶段"
    ENTRY_RECORDED = "cases:entry:recorded", "控辍个案记事（电话、面谈、备注、更正）"
    VISIT_RECORDED = "cases:visit:recorded", "登记家访（劝返）"
    CLOSED = "cases:case:closed", "控辍个案结案"
    # Photos and documents are a family's personal data: downloading one is on the record.
    PHOTO_DOWNLOADED = "cases:photo:downloaded", "下载家访照片"
    DOCUMENT_DOWNLOADED = "cases:document:downloaded", "下载结案证明材料"
    REGISTER_EXPORTED = "cases:register:exported", "导出家访登记、辍学登记或劝返记录"
    # The enforcement chain (tenants/cases/notices.py).
    NOTICE_ISSUED = "cases:notice:issued", "制发控辍文书"
    NOTICE_SERVED = "cases:notice:served", "登记文书送达（送达回证）"
    NOTICE_DOWNLOADED = "cases:notice:downloaded", "下载控辍文书"
