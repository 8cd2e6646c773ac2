"""What attendance and escalation write to the audit trail."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    REPORTED = "attendance:report:saved", "提交到校日报告"
    CORRECTED = "attendance:report:corrected", "更正到校日报告"
    LEAVE_GRANTED = "attendance:leave:granted", "登记请假（预先批准）"
    LEAVE_CANCELLED = "attendance:leave:cancelled", "撤销请假"
    SPELL_RAISED = "attendance:spell:raised", "缺课预警（连续旷课、累计旷课或长期病假）"
    SPELL_CHANGED = "attendance:spell:changed", "缺课预警的天数或起始日变化"
    SPELL_ENDED = "attendance:spell:ended", "缺课预警结束"
    SPELL_CASE = "attendance:spell:case", "缺课预警转为控辍个案"
    ABSENCE_REPORT_FILED = "attendance:spell:report_filed", "填报旷课报告单"
    QUIT_SAID = "attendance:spell:quit_said", "登记学生表示不再上学"
    SICK_CHECKED = "attendance:spell:sick_checked", "核实长期病假"
    RULES_CHANGED = "attendance:rules:changed", "修改考勤与控辍预警规则"
