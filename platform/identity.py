"""Who is asking: passwords, login with lock-out, sessions and bearer tokens, the Actor.

A cookie session (pages) and a bearer token (API) are both rows of `auth_sessions`; only a
SHA-256 of the secret is stored. Each row names the membership the person is acting in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from baoxue.platform import audit, throttle
from baoxue.platform.clock import utcnow
from baoxue.platform.events import Event
from baoxue.platform.db import Base, TenantContext, set_tenant, tenant_of, tenant_session
from baoxue.platform.permissions import CLASS_BOUND_ROLES, Permission, Role, UnitKind, permissions_of
from baoxue.platform.scoping import Scope, own_rows
from baoxue.platform.settings import Settings

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the secret
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    membership_id: Mapped[int | None] = mapped_column()
    kind: Mapped[str] = mapped_column(String(8))  # cookie | bearer
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class MembershipView:
    id: int
    township_id: int
    township_name: str
    role: Role
    unit_kind: UnitKind
    unit_id: int | None
    unit_name: str
    class_ids: tuple[int, ...] = ()
    duty: str = ""

    @property
    def label(self) -> str:
        unit = f"{self.unit_name} · " if self.unit_name else ""
        return f"{self.township_name} · {unit}{self.role.label}"


@dataclass(frozen=True)
class JobActor:
    """Whom a job acts as where a record names a person (a case's timeline): the person its work
    rests on (who filed the day's report, ran the comparison, moved the case on)."""

    user_id: int
    signed_as: str
    membership: Any = None


@dataclass(frozen=True)
class CountyView:
    """The county a county viewer works for (`county_memberships`)."""

    id: int
    name: str


# What a county viewer may do: read what its townships publish; nothing inside any township.
COUNTY_PERMISSIONS = frozenset({Permission.COUNTY_READ})


@dataclass(frozen=True)
class Actor:
    """The authenticated person in their current membership. Guards read it; they never query."""

    user_id: int
    username: str
    display_name: str
    session_id: str
    csrf_token: str
    membership: MembershipView | None
    memberships: tuple[MembershipView, ...] = ()
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    county: CountyView | None = None

    @property
    def township_id(self) -> int | None:
        return self.membership.township_id if self.membership else None

    @property
    def membership_id(self) -> int | None:
        return self.membership.id if self.membership else None

    @property
    def role(self) -> Role | None:
        return self.membership.role if self.membership else None

    @property
    def scope(self) -> Scope | None:
        m = self.membership
        if m is None:
            return None
        # Teachers work in their classes; everyone else of a school sees the whole school.
        classes = frozenset(m.class_ids) if m.role in CLASS_BOUND_ROLES else None
        return Scope(township_id=m.township_id, unit_kind=m.unit_kind, unit_id=m.unit_id, class_ids=classes,
                     duty=m.duty, membership_id=m.id)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def signed_as(self) -> str:
        """How a record names who acted, as things were that day: 王芳（板当中学教导处）."""
        m = self.membership
        unit, role = (m.unit_name, m.role.label) if m is not None else ("", "")
        return f"{self.display_name}（{unit}{role}）"[:64]

    def context(self, **extra: object) -> TenantContext:
        return TenantContext(scope=self.scope, user_id=self.user_id, extra={"actor": self, **extra},
                             county_id=self.county.id if self.county is not None else None)


# --- passwords -----------------------------------------------------------------------------

def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """A Chinese sentence saying what is wrong with a new password, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"新密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。"
    if password.isdigit() or password.isalpha():
        return "新密码需同时包含字母和数字。"
    return None


_DUMMY_HASH = _hasher.hash("baoxue-timing-equaliser")


# --- login ---------------------------------------------------------------------------------

WRONG_PASSWORD = "用户名或密码不正确。"


class LoginRefused(Exception):
    """A sign-in refused: wrong (401), locked (401, worded alike for every name), or throttled (429)."""

    def __init__(self, message: str, *, status: int = 401, retry_after: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def _minutes_until(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() // 60) + 1)


@dataclass(frozen=True)
class _Attempt:
    """What the counting transaction learnt: the account (if the name has one) or why no check."""

    user_id: int | None = None
    password_hash: str = ""
    is_active: bool = False
    refused: LoginRefused | None = None


def do_login(session: Session, settings: Settings, username: str, password: str, *, kind: str,
             ip: str = "", request_id: str = "") -> tuple[str, AuthSession]:
    """Check a password; on success open a session in `session` and return (secret, row).

    Each attempt is counted before its password is checked (`baoxue.platform.throttle`), in a
    short transaction of its own committed at once: parallel attempts see each other's counts,
    and the refusal that follows a wrong password rolls the request's transaction back, which
    must not take the count (nor the failure's audit row, written likewise) with it. A name no
    account has is counted and locked exactly like a real one, and answers the same words.
    The success (counter reset, session, audit) is the request's own transaction.
    """
    from baoxue.tenants.tenancy.models import User

    username = username.strip()
    context = TenantContext(login_username=username, extra={"request_id": request_id, "ip": ip})
    attempt = _count_attempt(context, settings, username, ip)
    if attempt.refused is not None:
        raise attempt.refused
    # The dummy hash costs what a real check costs: an unknown name takes no less time.
    checked = verify_password(attempt.password_hash or _DUMMY_HASH, password)
    if attempt.user_id is None or not attempt.is_active or not checked:
        with tenant_session(context, settings) as failed:
            _record_attempt(failed, Event.LOGIN_FAILED, attempt.user_id, username, outcome="failed")
            throttle.forget_old(failed, utcnow())
        raise LoginRefused(WRONG_PASSWORD)
    callers_context = tenant_of(session)
    set_tenant(session, context)  # as the person signing in, for these statements only
    try:
        session.execute(update(User).where(User.id == attempt.user_id).values(failed_logins=0, locked_until=None)
                        .execution_options(synchronize_session=False))
        if ip:
            throttle.release(session, throttle.address_key(ip), throttle.address_rule(settings))
        memberships = memberships_of_user(session, attempt.user_id)
        secret, row = open_session(session, settings, attempt.user_id,
                                   memberships[0].id if memberships else None, kind=kind)
        audit.record(session, Event.LOGIN_SUCCEEDED, entity_type="users", entity_id=attempt.user_id,
                     user_id=attempt.user_id, township_id=memberships[0].township_id if memberships else None)
        session.flush()
    finally:
        set_tenant(session, callers_context)
    return secret, row


def _count_attempt(context: TenantContext, settings: Settings, username: str, ip: str) -> _Attempt:
    """Count the attempt by address and by name, in its own transaction (see `do_login`)."""
    from baoxue.tenants.tenancy.models import User

    now = utcnow()
    account = throttle.account_rule(settings)
    with tenant_session(context, settings) as s:
        if ip and (until := throttle.count_key(s, throttle.address_key(ip), throttle.address_rule(settings), now)):
            _record_attempt(s, Event.LOGIN_THROTTLED, None, username, outcome="denied")
            return _Attempt(refused=LoginRefused(f"请求过于频繁，请在 {_minutes_until(until, now)} 分钟后再试。",
                                                 status=429, retry_after=int((until - now).total_seconds()) + 1))
        counted = throttle.count_account(s, User, username, account, now, User.id, User.password_hash,
                                         User.is_active)
        if counted is not None:
            return _Attempt(user_id=counted.id, password_hash=counted.password_hash, is_active=counted.is_active)
        user_id, until = s.execute(select(User.id, User.locked_until).where(User.username == username)).first() \
            or (None, None)
        if user_id is None:
            until = throttle.count_key(s, throttle.username_key(settings, username), account, now)
        if until is None:
            return _Attempt()  # a name no account has, counted
        _record_attempt(s, Event.LOGIN_LOCKED, user_id, username, outcome="denied")
        return _Attempt(refused=LoginRefused(
            f"登录失败次数过多，账号已暂时锁定，请在 {_minutes_until(until, now)} 分钟后再试。"))


def _record_attempt(session: Session, event: Event, user_id: int | None, username: str, *, outcome: str) -> None:
    if user_id is not None:
        audit.record(session, event, entity_type="users", entity_id=user_id, outcome=outcome, user_id=user_id)
    else:
        audit.record(session, event, entity_type="users", outcome=outcome, changes={"username": username[:64]})


def open_session(session: Session, settings: Settings, user_id: int, membership_id: int | None,
                 *, kind: str) -> tuple[str, AuthSession]:
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    row = AuthSession(
        id=_digest(secret), user_id=user_id, membership_id=membership_id, kind=kind,
        csrf_token=secrets.token_urlsafe(24), created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
    )
    session.add(row)
    return secret, row


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def memberships_of_user(session: Session, user_id: int) -> list[MembershipView]:
    """A person's active memberships in every township, to choose one: two queries.

    The only read that crosses townships, and a narrow one: `own_rows` lets through only the
    models whose policy says what a person may see of themselves (their memberships, the classes
    and units those name, their townships' names); on PostgreSQL the policies say the same for
    `app.user_id`, and nothing else of any township is visible in this transaction.
    """
    from baoxue.tenants.tenancy.models import Department, Membership, MembershipClass, School, Township, Village

    set_tenant(session, TenantContext(user_id=user_id, extra=dict(tenant_of(session).extra)))
    rows = session.execute(own_rows(
        select(Membership, Township.name, School.name, Village.name, Department.name, Department.duty_code)
        .join(Township, Township.id == Membership.township_id)
        .outerjoin(School, School.id == Membership.school_id)
        .outerjoin(Village, Village.id == Membership.village_id)
        .outerjoin(Department, Department.id == Membership.department_id)
        .where(Membership.user_id == user_id, Membership.is_active.is_(True))
        .order_by(Membership.id), user_id)).all()
    classes: dict[int, list[int]] = {}
    for membership_id, class_id in session.execute(own_rows(
            select(MembershipClass.membership_id, MembershipClass.class_id)
            .order_by(MembershipClass.class_id), user_id)):
        classes.setdefault(membership_id, []).append(class_id)
    views = []
    for m, township_name, school, village, department, duty in rows:
        role = Role(m.role)
        unit_name = {UnitKind.SCHOOL: school, UnitKind.VILLAGE: village,
                     UnitKind.DEPARTMENT: department}.get(role.unit_kind) or ""
        views.append(MembershipView(
            id=m.id, township_id=m.township_id, township_name=township_name, role=role,
            unit_kind=role.unit_kind, unit_id=m.unit_id, unit_name=unit_name,
            class_ids=tuple(classes.get(m.id, ())), duty=duty or "",
        ))
    return views


def county_of_user(session: Session, user_id: int) -> CountyView | None:
    """The county a person views, if any (their own row: on PostgreSQL the policy says the same)."""
    from baoxue.tenants.tenancy.models import County, CountyMembership

    row = session.execute(select(County.id, County.name).join(CountyMembership, CountyMembership.county_id == County.id)
                          .where(CountyMembership.user_id == user_id, CountyMembership.is_active.is_(True))
                          .order_by(CountyMembership.id).limit(1)).first()
    return CountyView(row.id, row.name) if row is not None else None


def actor_from_secret(session: Session, settings: Settings, secret: str, *, kind: str) -> Actor | None:
    """The Actor behind a cookie or token, or None if it is unknown, revoked or expired."""
    from baoxue.tenants.tenancy.models import User

    if not secret:
        return None
    now = utcnow()
    row = session.get(AuthSession, _digest(secret))
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= now:
        return None
    if kind == "cookie" and row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        return None
    set_tenant(session, TenantContext(user_id=row.user_id, extra=dict(tenant_of(session).extra)))
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if (now - row.last_seen_at) > timedelta(minutes=1):
        session.execute(update(AuthSession).where(AuthSession.id == row.id).values(last_seen_at=now))
    memberships = memberships_of_user(session, user.id)
    current = next((m for m in memberships if m.id == row.membership_id), None)
    if current is None and memberships:
        current = memberships[0]
    county = county_of_user(session, user.id) if current is None else None
    return Actor(
        user_id=user.id, username=user.username, display_name=user.display_name, session_id=row.id,
        csrf_token=row.csrf_token, membership=current, memberships=tuple(memberships),
        permissions=permissions_of(current.role) if current else COUNTY_PERMISSIONS if county else frozenset(),
        county=county,
    )


def do_switch_membership(session: Session, actor: Actor, membership_id: int) -> bool:
    if not any(m.id == membership_id for m in actor.memberships):
        return False
    session.execute(update(AuthSession).where(AuthSession.id == actor.session_id).values(
        membership_id=membership_id))
    target = next(m for m in actor.memberships if m.id == membership_id)
    audit.record(session, Event.MEMBERSHIP_SWITCHED, entity_type="memberships",
                 entity_id=membership_id, township_id=target.township_id,
                 changes={"from": actor.membership_id, "to": membership_id})
    return True


def do_logout(session: Session, actor: Actor) -> None:
    session.execute(update(AuthSession).where(AuthSession.id == actor.session_id).values(revoked_at=utcnow()))
    audit.record(session, Event.LOGOUT, entity_type="users", entity_id=actor.user_id)


def do_change_password(session: Session, actor: Actor, current: str, new: str) -> dict[str, str]:
    """Returns {field: message} for what is wrong; empty when the password was changed.

    Every other session of the person is ended: a stolen session dies with the old password.
    """
    from baoxue.tenants.tenancy.models import User

    user = session.get(User, actor.user_id)
    assert user is not None
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current):
        errors["current_password"] = "当前密码不正确。"
    problem = password_problem(new)
    if problem:
        errors["new_password"] = problem
    elif new == current:
        errors["new_password"] = "新密码不能与当前密码相同。"
    if errors:
        return errors
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.id != actor.session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(session, Event.PASSWORD_CHANGED, entity=user)
    return {}
