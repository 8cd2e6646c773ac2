"""Counting failed sign-ins so that guessing stays slow, whoever guesses and however fast.

Three counters, one rule (`count_attempt`): an attempt is counted *before* its password is
checked, in one statement that also decides the lock from the new count, so twenty attempts
sent at once are twenty increments one after another, and at most `limit` of them get a
password check before the lock holds.

* a real account: `users.failed_logins` / `users.locked_until` (N in a row lock it);
* a username no account has: a row here, keyed by an HMAC of the name (never the name), with
  the same rule, so an unknown name locks and answers exactly like a real one;
* an address: a row here keyed by the address, N failures within a window block it (429).

A success undoes its own count (`release`): only failures count.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from baoxue.platform.db import Base, UTCDateTime
from baoxue.platform.settings import Settings

FORGET_AFTER = timedelta(days=30)  # a counter untouched this long is dropped


class LoginThrottle(Base):
    """Failed sign-ins by unknown username (an HMAC) or by address. No township: no RLS."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "u:<hmac>" or "a:<address>"
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column()
    last_failed_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class Rule:
    limit: int  # the attempt that reaches this count sets the lock (and is still checked)
    lock: timedelta
    window: timedelta | None = None  # None: counted until a success or a lock ends it


def account_rule(settings: Settings) -> Rule:
    return Rule(settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes))


def address_rule(settings: Settings) -> Rule:
    window = timedelta(minutes=settings.login_address_window_minutes)
    return Rule(settings.login_address_max_failures, window, window)


def username_key(settings: Settings, username: str) -> str:
    digest = hmac.new(settings.secret_key.encode(), username.lower().encode(), hashlib.sha256).hexdigest()
    return f"u:{digest}"


def address_key(address: str) -> str:
    return f"a:{address[:60]}"


def _at(moment: datetime) -> ColumnElement[Any]:
    return literal(moment, UTCDateTime())


def _counted(failures: Any, locked_until: Any, started: Any | None, rule: Rule, now: datetime) -> dict[Any, Any]:
    """The SET of one counted attempt, from the row's current values (SQL reads them all before writing)."""
    restart = and_(locked_until.is_not(None), locked_until <= _at(now))
    if rule.window is not None and started is not None:
        restart = or_(restart, started <= _at(now - rule.window))
    count = case((restart, 1), else_=failures + 1)
    values = {failures: count, locked_until: case((count >= rule.limit, _at(now + rule.lock)), else_=None)}
    if started is not None:
        values[started] = case((restart, _at(now)), else_=started)
    return values


def not_locked(locked_until: Any, now: datetime) -> ColumnElement[bool]:
    return or_(locked_until.is_(None), locked_until <= _at(now))


def count_account(session: Session, user_model: Any, username: str, rule: Rule, now: datetime,
                  *returning: Any) -> Any:
    """Count an attempt on the account named `username` and return its `returning` columns, or
    None when no unlocked account has that name (unknown, or locked: the caller looks which)."""
    values = _counted(user_model.failed_logins, user_model.locked_until, None, rule, now)
    return session.execute(
        update(user_model).where(user_model.username == username, not_locked(user_model.locked_until, now))
        .values({column.key: value for column, value in values.items()})
        .returning(*returning).execution_options(synchronize_session=False)).first()


def count_key(session: Session, key: str, rule: Rule, now: datetime) -> datetime | None:
    """Count an attempt under `key`; the lock end if the key was locked already (refused), else None."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = LoginThrottle.__table__
    first_lock = now + rule.lock if rule.limit <= 1 else None
    insert = dialect.insert(table).values(key=key, failures=1, window_started_at=now, last_failed_at=now,
                                          locked_until=first_lock)
    values = _counted(table.c.failures, table.c.locked_until, table.c.window_started_at, rule, now)
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.key], where=not_locked(table.c.locked_until, now),
        set_={**{column.key: value for column, value in values.items()}, "last_failed_at": _at(now)},
    ).returning(table.c.failures)
    if session.execute(upsert).first() is not None:
        return None
    return session.scalar(select(LoginThrottle.locked_until).where(LoginThrottle.key == key))


def release(session: Session, key: str, rule: Rule) -> None:
    """A success takes back its own count (and a lock only that count set)."""
    table = LoginThrottle.__table__
    session.execute(update(table).where(table.c.key == key, table.c.failures > 0).values(
        failures=table.c.failures - 1,
        locked_until=case((table.c.failures - 1 >= rule.limit, table.c.locked_until), else_=None)))


def forget_old(session: Session, now: datetime) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failed_at < _at(now - FORGET_AFTER))
                    .execution_options(synchronize_session=False))


