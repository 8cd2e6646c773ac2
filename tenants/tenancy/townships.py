"""Deployment-level work: creating a township and rescuing a locked-out login.

Run from the command line by whoever runs the deployment (a county or province), never from a
township's pages: both cross the township wall, through `cross_township_session`, and leave
an audit row.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update

from baoxue.platform import audit
from baoxue.platform.clock import utcnow
from baoxue.platform.db import TenantContext, cross_township_session, narrow_to_township
from baoxue.platform.errors import InvalidInput
from baoxue.platform.events import Event as PlatformEvent
from baoxue.platform.identity import AuthSession, hash_password
from baoxue.platform.permissions import DutyCode, Role
from baoxue.platform.scoping import Scope
from baoxue.platform.settings import Settings
from baoxue.tenants.tenancy.models import Township, User
from baoxue.tenants.tenancy.events import Event
from baoxue.tenants.tenancy.service import (
    do_create_department,
    do_create_person_with_membership,
    initial_password_problem,
    text_problem,
)

_CODE = re.compile(r"^[A-Za-z0-9_-]{2,20}$")


def do_create_township(*, name: str, code: str, county: str, admin_username: str, admin_name: str,
                       admin_password: str, settings: Settings | None = None) -> int:
    """A township with its twelve departments and its first system administrator, all or nothing."""
    errors: dict[str, str] = {}
    if problem := text_problem(name.strip(), label="乡镇名称", max_length=80):
        errors["name"] = problem
    if not _CODE.match(code):
        errors["code"] = "乡镇编码须为 2–20 位字母、数字、下划线或连字符。"
    if errors:
        raise InvalidInput(errors)
    with cross_township_session("create a township", settings) as session:
        if session.scalar(select(Township.id).where(Township.code == code)) is not None:
            raise InvalidInput({"code": "该乡镇编码已存在。"})
        township = Township(name=name.strip(), code=code, county=county.strip())
        session.add(township)
        session.flush()
        # The rest is written as the new township, through the same do_* actions as the pages.
        narrow_to_township(session, TenantContext(scope=Scope.township(township.id)))
        audit.record(session, Event.TOWNSHIP_CREATED, entity=township,
                     changes={"name": township.name, "code": code, "county": township.county})
        for duty in DutyCode:
            do_create_department(session, duty_code=duty.value, name=duty.label)
        do_create_person_with_membership(session, username=admin_username, display_name=admin_name,
                                         password=admin_password, role=Role.SYSTEM_ADMIN)
        return township.id


def list_townships(settings: Settings | None = None) -> list[tuple[int, str, str, str]]:
    with cross_township_session("list townships", settings) as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            select(Township.id, Township.code, Township.name, Township.county).order_by(Township.id))]


def do_reset_password(username: str, password: str, settings: Settings | None = None) -> None:
    """Set a new password, lift a lock-out and end every session of the login."""
    if problem := initial_password_problem(password):
        raise InvalidInput({"password": problem})
    with cross_township_session("reset a password", settings) as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            raise InvalidInput({"username": "没有这个用户名。"})
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        user.failed_logins, user.locked_until = 0, None
        session.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
        audit.record(session, PlatformEvent.PASSWORD_RESET, entity=user, user_id=user.id,
                     changes={"by": "command line"})
