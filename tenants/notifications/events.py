"""What notifications write to the audit trail.

Reading one's own notifications (or marking them read) is not on the trail: it changes nothing
of the township's work and would bury the trail in clicks. Changing where one's notifications
are e-mailed is: it decides where a child's facts may travel."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    EMAIL_CHANGED = "notifications:email:changed", "修改接收通知的电子邮箱"
