"""What contracts write to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    ISSUE_REQUESTED = "contracts:contract:issue_requested", "下发本学年责任书（后台生成）"
    ISSUED = "contracts:contract:issued", "生成责任书"
    SIGNED = "contracts:contract:signed", "签署责任书"
    SIGN_REFUSED = "contracts:contract:sign_refused", "拒绝签署责任书（非本方、重复签署或文本已变）"
    CORRECTED = "contracts:contract:corrected", "更正责任书（生成新版本，双方须重新签署）"
    DOWNLOADED = "contracts:contract:downloaded", "下载已签署责任书 PDF"
