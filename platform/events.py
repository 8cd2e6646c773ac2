"""What the shell itself writes to the audit trail: sign-in, sessions, refusals."""

from baoxue.platform.audit import EventEnum


class Event(EventEnum):
    LOGIN_SUCCEEDED = "identity:login:succeeded", "登录成功"
    LOGIN_FAILED = "identity:login:failed", "登录失败"
    LOGIN_LOCKED = "identity:login:locked", "账号锁定期间尝试登录"
    LOGIN_THROTTLED = "identity:login:throttled", "同一地址登录失败过多，暂停登录"
    LOGOUT = "identity:logout", "退出登录"
    MEMBERSHIP_SWITCHED = "identity:membership:switched", "切换身份"
    PASSWORD_CHANGED = "identity:password:changed", "修改密码"
    PASSWORD_RESET = "identity:password:reset", "重置密码"
    ACCESS_DENIED = "access:denied", "访问被拒绝"
    JOB_RETRIED = "jobs:job:retried", "重新运行失败的后台任务"
