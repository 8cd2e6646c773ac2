"""Roles, permissions and the map between them: the one place that says who may do what.

Which *rows* an actor may touch is not decided here but by the scope
(`baoxue.platform.scoping`) and the `access_*` helpers of each concept.
"""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    TOWNSHIP = "township"
    SCHOOL = "school"
    VILLAGE = "village"
    DEPARTMENT = "department"


class Role(StrEnum):
    COUNTY_VIEWER = "county_viewer"
    LEADER = "leader"
    OFFICE_STAFF = "office_staff"
    DEPARTMENT_STAFF = "department_staff"
    VILLAGE_CADRE = "village_cadre"
    PRINCIPAL = "principal"
    ACADEMIC_OFFICE = "academic_office"
    CLASS_TEACHER = "class_teacher"
    SUBJECT_TEACHER = "subject_teacher"
    SYSTEM_ADMIN = "system_admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def unit_kind(self) -> UnitKind:
        return ROLE_UNITS[self]


ROLE_LABELS = {
    Role.COUNTY_VIEWER: "县级查看",
    Role.LEADER: "领导小组组长",
    Role.OFFICE_STAFF: "领导小组办公室",
    Role.DEPARTMENT_STAFF: "部门工作人员",
    Role.VILLAGE_CADRE: "村干部",
    Role.PRINCIPAL: "校长",
    Role.ACADEMIC_OFFICE: "教导处",
    Role.CLASS_TEACHER: "班主任",
    Role.SUBJECT_TEACHER: "科任教师",
    Role.SYSTEM_ADMIN: "系统管理员",
}

ROLE_UNITS = {
    Role.COUNTY_VIEWER: UnitKind.TOWNSHIP,
    Role.LEADER: UnitKind.TOWNSHIP,
    Role.OFFICE_STAFF: UnitKind.TOWNSHIP,
    Role.SYSTEM_ADMIN: UnitKind.TOWNSHIP,
    Role.DEPARTMENT_STAFF: UnitKind.DEPARTMENT,
    Role.VILLAGE_CADRE: UnitKind.VILLAGE,
    Role.PRINCIPAL: UnitKind.SCHOOL,
    Role.ACADEMIC_OFFICE: UnitKind.SCHOOL,
    Role.CLASS_TEACHER: UnitKind.SCHOOL,
    Role.SUBJECT_TEACHER: UnitKind.SCHOOL,
}


# Roles that work in named classes (their membership's classes) rather than the whole school.
CLASS_BOUND_ROLES = frozenset({Role.CLASS_TEACHER, Role.SUBJECT_TEACHER})


class Permission(StrEnum):
    STRUCTURE_READ = "tenancy:structure:read"
    STRUCTURE_WRITE = "tenancy:structure:write"
    PEOPLE_READ = "tenancy:people:read"
    PEOPLE_WRITE = "tenancy:people:write"
    STUDENT_READ = "students:student:read"
    STUDENT_READ_PERSONAL = "students:student:read_personal"
    AUDIT_READ = "audit:event:read"
    FIGURES_READ = "figures:figure:read"
    FIGURES_REBUILD = "figures:figure:rebuild"
    ROSTER_IMPORT = "rosters:roster:import"
    STATUS_READ = "status_changes:change:read"
    STATUS_WRITE = "status_changes:change:write"
    CASE_READ = "cases:case:read"
    CASE_WRITE = "cases:case:write"  # open a case, record visits and entries, close it
    NOTICE_ISSUE = "cases:notice:issue"  # draft and serve the enforcement chain's documents
    CALENDAR_READ = "school_calendar:calendar:read"
    CALENDAR_WRITE = "school_calendar:calendar:write"  # the township's terms and days; a school's own days
    ATTENDANCE_READ = "attendance:attendance:read"
    ATTENDANCE_WRITE = "attendance:attendance:write"  # the daily arrival report, leave, the steps' records
    RULES_WRITE = "attendance:rules:write"  # the township's escalation thresholds and attendance settings
    CENSUS_READ = "census:census:read"  # the census of school-age children and the reconciliation's findings
    CENSUS_WRITE = "census:census:write"  # a village enters or imports its census
    CENSUS_IMPORT = "census:register:import"  # the household register (police), the poverty list (finance)
    CENSUS_RECONCILE = "census:census:reconcile"  # run 四查三比对 and act on what it finds
    LEDGER_READ = "census:ledger:read"  # the three ledgers (三本台账) and their Excel
    REPORT_SUBMIT = "figures:report:submit"  # a school's monthly report (月报)
    FIGURES_SETTINGS = "figures:settings:write"  # targets, whether 休学 counts, the report's cut-off day
    REFERRAL_READ = "referrals:referral:read"  # tickets one's unit sent or received
    REFERRAL_OPEN = "referrals:referral:open"  # refer to a department; close, reopen or withdraw one's ticket
    REFERRAL_HANDLE = "referrals:referral:handle"  # a department accepts or returns, works and resolves
    REFERRAL_ROUTES = "referrals:routes:write"  # the township's routing table: which department, how many days
    DASHBOARD_READ = "dashboard:dashboard:read"  # the township's dashboard (看板): every unit side by side
    COUNTY_READ = "county:published:read"  # a county viewer: its townships' published figures, no child
    TASK_READ = "tasks:task:read"  # the tasks one's unit (or oneself) was given; the township all of them
    TASK_WORK = "tasks:task:work"  # report progress on one's task and submit its evidence
    TASK_ASSIGN = "tasks:task:assign"  # the leading group's office: assign, accept or send back, recurring templates
    MEETING_READ = "meetings:meeting:read"  # meeting and publicity records
    MEETING_WRITE = "meetings:meeting:write"  # record one's unit's meetings and publicity
    LEADING_GROUP = "meetings:leading_group:write"  # prepare the leading group's meeting, record its decisions
    CIRCULAR_READ = "circulars:circular:read"  # the township's circulars (通报)
    CIRCULAR_ISSUE = "circulars:circular:issue"  # draft and issue a circular (the office, the party-government office)
    NOTIFICATION_READ = "notifications:notification:read"  # one's own notifications
    JOBS_READ = "platform:jobs:read"  # the background jobs that failed (the dead-letter list)
    JOBS_RETRY = "platform:jobs:retry"  # run a failed job again
    CONTRACT_READ = "contracts:contract:read"  # responsibility contracts (责任书) of one's unit; the township all
    CONTRACT_ISSUE = "contracts:contract:issue"  # the office: issue this school year's contracts
    CONTRACT_SIGN = "contracts:contract:sign"  # sign one's own side of a contract


_EVERYONE = {Permission.STRUCTURE_READ, Permission.CALENDAR_READ, Permission.CIRCULAR_READ,
             Permission.NOTIFICATION_READ}
# Everyone who is given tasks and keeps the routine's records: units, departments and teachers.
_ROUTINE_WORK = {Permission.TASK_READ, Permission.TASK_WORK, Permission.MEETING_READ, Permission.MEETING_WRITE}
_TOWNSHIP_READ = _EVERYONE | {Permission.STUDENT_READ, Permission.FIGURES_READ, Permission.PEOPLE_READ,
                               Permission.STATUS_READ}
# Who keeps the daily arrival report: the class teacher, and the school's office for any class.
_ATTENDANCE_WORK = {Permission.ATTENDANCE_READ, Permission.ATTENDANCE_WRITE}
# Both lines work a case: the school's teachers and leaders, the village, the township office.
_CASE_WORK = {Permission.CASE_READ, Permission.CASE_WRITE, Permission.REFERRAL_READ, Permission.REFERRAL_OPEN}
# Who requests status changes and takes their steps (which step is whose: status_changes/flows.py).
_STATUS_WORK = {Permission.STATUS_READ, Permission.STATUS_WRITE}
# A party to a responsibility contract reads and signs it (the township side: the office, the leader).
_CONTRACT_PARTY = {Permission.CONTRACT_READ, Permission.CONTRACT_SIGN}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COUNTY_VIEWER: frozenset(_EVERYONE | {Permission.FIGURES_READ}),
    Role.LEADER: frozenset(_TOWNSHIP_READ | {Permission.AUDIT_READ, Permission.STUDENT_READ_PERSONAL,
                                             Permission.CASE_READ, Permission.ATTENDANCE_READ,
                                             Permission.CENSUS_READ, Permission.LEDGER_READ,
                                             Permission.DASHBOARD_READ, Permission.REFERRAL_READ,
                                             Permission.TASK_READ, Permission.TASK_ASSIGN, Permission.TASK_WORK,
                                             Permission.MEETING_READ,
                                             Permission.LEADING_GROUP} | _CONTRACT_PARTY),
    # The office takes the central school's steps where a township has no central school.
    Role.OFFICE_STAFF: frozenset(
        _TOWNSHIP_READ | _CASE_WORK | {Permission.AUDIT_READ, Permission.STUDENT_READ_PERSONAL,
                                       Permission.FIGURES_REBUILD, Permission.STATUS_WRITE, Permission.NOTICE_ISSUE,
                                       Permission.CALENDAR_WRITE, Permission.RULES_WRITE, Permission.ATTENDANCE_READ,
                                       Permission.CENSUS_READ, Permission.CENSUS_WRITE, Permission.CENSUS_IMPORT,
                                       Permission.CENSUS_RECONCILE, Permission.LEDGER_READ,
                                       Permission.FIGURES_SETTINGS, Permission.DASHBOARD_READ,
                                       Permission.REFERRAL_ROUTES, Permission.TASK_READ,
                                       Permission.TASK_ASSIGN, Permission.TASK_WORK, Permission.MEETING_READ, Permission.MEETING_WRITE,
                                       Permission.LEADING_GROUP, Permission.CIRCULAR_ISSUE,
                                       Permission.CONTRACT_ISSUE} | _CONTRACT_PARTY
    ),
    # Which list a department imports follows its duty (census/service.py): police the
    # household register, finance and social affairs the poverty list.
    # Issuing circulars is the party-government office's duty among departments (circulars/service.py).
    Role.DEPARTMENT_STAFF: frozenset(_EVERYONE | _ROUTINE_WORK | {Permission.CENSUS_IMPORT, Permission.REFERRAL_READ,
                                                                  Permission.REFERRAL_HANDLE,
                                                                  Permission.CIRCULAR_ISSUE}),
    # Figures are narrowed like the students behind them: a village reads its residents' counts.
    Role.VILLAGE_CADRE: frozenset(_EVERYONE | _CASE_WORK | _ROUTINE_WORK | {Permission.STUDENT_READ, Permission.STUDENT_READ_PERSONAL,
                                                            Permission.FIGURES_READ, Permission.CENSUS_READ,
                                                            Permission.CENSUS_WRITE, Permission.CENSUS_IMPORT,
                                                            Permission.LEDGER_READ} | _CONTRACT_PARTY),
    Role.PRINCIPAL: frozenset(
        _EVERYONE | _STATUS_WORK | _CASE_WORK | _ATTENDANCE_WORK | _ROUTINE_WORK | {
            Permission.STUDENT_READ, Permission.STUDENT_READ_PERSONAL, Permission.FIGURES_READ, Permission.PEOPLE_READ,
            Permission.ROSTER_IMPORT, Permission.NOTICE_ISSUE, Permission.CALENDAR_WRITE, Permission.LEDGER_READ,
            Permission.REPORT_SUBMIT} | _CONTRACT_PARTY
    ),
    Role.ACADEMIC_OFFICE: frozenset(
        _EVERYONE | _STATUS_WORK | _CASE_WORK | _ATTENDANCE_WORK | _ROUTINE_WORK | {
            Permission.STUDENT_READ, Permission.STUDENT_READ_PERSONAL, Permission.FIGURES_READ,
            Permission.ROSTER_IMPORT, Permission.NOTICE_ISSUE, Permission.CALENDAR_WRITE, Permission.LEDGER_READ,
            Permission.REPORT_SUBMIT, Permission.CONTRACT_READ}  # keeps the school's papers; the principal signs
    ),
    Role.CLASS_TEACHER: frozenset(
        _EVERYONE | _STATUS_WORK | _CASE_WORK | _ATTENDANCE_WORK | {Permission.TASK_READ, Permission.TASK_WORK,
                                                                    Permission.MEETING_READ, Permission.STUDENT_READ,
                                                                    Permission.STUDENT_READ_PERSONAL,
                                                                    Permission.LEDGER_READ} | _CONTRACT_PARTY
    ),
    # A subject teacher tells the class teacher of an absence and joins visits: reads and records.
    Role.SUBJECT_TEACHER: frozenset(_EVERYONE | _CASE_WORK | {Permission.STUDENT_READ, Permission.TASK_READ,
                                                             Permission.TASK_WORK} | _CONTRACT_PARTY),
    Role.SYSTEM_ADMIN: frozenset(
        _TOWNSHIP_READ | {Permission.STRUCTURE_WRITE, Permission.PEOPLE_WRITE, Permission.AUDIT_READ,
                          Permission.FIGURES_REBUILD, Permission.JOBS_READ, Permission.JOBS_RETRY}
    ),
}


def permissions_of(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


class DutyCode(StrEnum):
    """Departments of a township and their duty in this work (DOMAIN.md §3)."""

    EDUCATION_OFFICE = "education_office"
    PARTY_OFFICE = "party_office"
    DISCIPLINE = "discipline"
    POLICE = "police"
    JUSTICE = "justice"
    LABOUR = "labour"
    MARKET = "market"
    CULTURE = "culture"
    FINANCE = "finance"
    SOCIAL_AFFAIRS = "social_affairs"
    YOUTH_LEAGUE = "youth_league"
    WOMENS_FEDERATION = "womens_federation"

    @property
    def label(self) -> str:
        return DUTY_LABELS[self]


DUTY_LABELS = {
    DutyCode.EDUCATION_OFFICE: "基础教育办公室",
    DutyCode.PARTY_OFFICE: "党政办",
    DutyCode.DISCIPLINE: "纪委",
    DutyCode.POLICE: "派出所",
    DutyCode.JUSTICE: "司法所",
    DutyCode.LABOUR: "社保中心（劳动）",
    DutyCode.MARKET: "市场监管分局",
    DutyCode.CULTURE: "文化站",
    DutyCode.FINANCE: "财政分局",
    DutyCode.SOCIAL_AFFAIRS: "社会事务办（民政）",
    DutyCode.YOUTH_LEAGUE: "团委",
    DutyCode.WOMENS_FEDERATION: "妇联",
}
