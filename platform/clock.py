"""The one clock. Everything that asks for "now" asks here, so tests can hold time still."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock:
    """Wall-clock time. `freeze`/`advance` exist for tests and the demo."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def today(self) -> date:
        """The calendar day in China, where every school day is counted."""
        return self.now().astimezone(CHINA).date()

    def freeze(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("freeze() needs an aware datetime")
        self._frozen = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._frozen = self.now() + delta

    def unfreeze(self) -> None:
        self._frozen = None

    @contextmanager
    def kept(self) -> Iterator[datetime]:
        """Let a block move the clock (the demo tells its stories day by day); afterwards the
        clock is as it was: still held at the same moment, or running again."""
        held, start = self._frozen, self.now()
        try:
            yield start
        finally:
            self._frozen = held


clock = Clock()


def china_day(moment: datetime) -> date:
    """The calendar day in China of a moment (a visit's, a service's): what deadlines count from."""
    return moment.astimezone(CHINA).date()


def start_of(day: date) -> datetime:
    """The first moment of a China calendar day (a query for "visits since that day")."""
    return datetime.combine(day, time.min, CHINA)


def utcnow() -> datetime:
    return clock.now()


def school_year(today: date | None = None) -> int:
    """The school year under way, by the year it began: China's school year starts on 1 September."""
    today = today or clock.today()
    return today.year if today.month >= 9 else today.year - 1
