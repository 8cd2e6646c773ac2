"""What referrals write to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    OPENED = "referrals:referral:opened", "转介部门（开转介单）"
    STEP = "referrals:referral:step", "转介单办理（受理、退回、办结、关闭、重新办理、撤回）"
    # A department reading a child's facts through a ticket is on the record, every time.
    ROUTES_CHANGED = "referrals:routes:changed", "修改部门转介的分工和期限"
    VIEWED = "referrals:referral:viewed", "部门查看转介单中的学生信息"
