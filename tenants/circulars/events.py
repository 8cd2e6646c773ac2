"""What circulars write to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    DRAFTED = "circulars:circular:drafted", "起草通报"
    CHANGED = "circulars:circular:changed", "修改通报草稿"
    ISSUED = "circulars:circular:issued", "印发通报（编号、生成 PDF、通知被通报单位）"
    DOWNLOADED = "circulars:circular:downloaded", "下载通报 PDF"
