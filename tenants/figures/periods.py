"""The periods figures are counted over: a month ("2026-10"), a term (the calendar's
`SchoolTerm`, "term:<id>"), a school year ("2026-2027", 1 September to 31 August), and the
school year up to a month's end ("ytd:2026-10", the monthly report's running totals)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.clock import clock, school_year
from baoxue.tenants.school_calendar.models import SchoolTerm


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    starts_on: date
    ends_on: date

    def until(self, today: date) -> date:
        """The last day counted: the period's end, or today while it runs."""
        return min(self.ends_on, today)

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0] if ":" in self.key else ("year" if len(self.key) == 9 else "month")


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    return Period(f"{year:04d}-{month:02d}", f"{year}年{month}月", first, month_end(first))


def year_period(start_year: int) -> Period:
    return Period(f"{start_year}-{start_year + 1}", f"{start_year}—{start_year + 1}学年",
                  date(start_year, 9, 1), date(start_year + 1, 8, 31))


def ytd_period(month: Period) -> Period:
    """The school year from 1 September to the month's end."""
    start = month.starts_on.year if month.starts_on.month >= 9 else month.starts_on.year - 1
    return Period(f"ytd:{month.key}", f"{start}—{start + 1}学年截至{month.label}", date(start, 9, 1), month.ends_on)


def parse_month(text: str) -> Period | None:
    found = _MONTH.match(text or "")
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2100:
        return None
    return month_period(int(found.group(1)), int(found.group(2)))


def parse(session: Session, text: str) -> Period | None:
    """A period from its key, or None (an unknown key, another township's term)."""
    text = (text or "").strip()
    if (month := parse_month(text)) is not None:
        return month
    if (found := _YEAR.match(text)) and int(found.group(2)) == int(found.group(1)) + 1 \
            and 2000 <= int(found.group(1)) <= 2100:
        return year_period(int(found.group(1)))
    if text.startswith("ytd:") and (month := parse_month(text[4:])) is not None:
        return ytd_period(month)
    if text.startswith("term:") and text[5:].isdigit():
        term = session.scalar(select(SchoolTerm).where(SchoolTerm.id == int(text[5:])))
        if term is not None:
            return term_period(term)
    return None


def term_period(term: SchoolTerm) -> Period:
    return Period(f"term:{term.id}", term.name, term.starts_on, term.ends_on)


def current_month(today: date | None = None) -> Period:
    today = today or clock.today()
    return month_period(today.year, today.month)


def previous_month(month: Period) -> Period:
    before = month.starts_on - timedelta(days=1)
    return month_period(before.year, before.month)


def months_of_year(start_year: int, today: date) -> list[Period]:
    """The months of the school year that have begun by `today`, September first."""
    found, month = [], date(start_year, 9, 1)
    while month <= min(today, date(start_year + 1, 8, 31)):
        found.append(month_period(month.year, month.month))
        month = month_end(month) + timedelta(days=1)
    return found


def terms_of_year(session: Session, start_year: int, today: date) -> list[Period]:
    """The calendar's terms of the school year that have begun by `today`."""
    terms = session.scalars(select(SchoolTerm).where(SchoolTerm.starts_on >= date(start_year, 9, 1),
                                                     SchoolTerm.starts_on <= min(today, date(start_year + 1, 8, 31)))
                            .order_by(SchoolTerm.starts_on))
    return [term_period(t) for t in terms]


def choices(session: Session, today: date | None = None) -> list[Period]:
    """What the figures page offers: this school year, its terms so far, its months so far (latest first)."""
    today = today or clock.today()
    start = school_year(today)
    return [year_period(start), *reversed(terms_of_year(session, start, today)),
            *reversed(months_of_year(start, today))]


def stored_by_change(session: Session, today: date | None = None) -> list[Period]:
    """What a job after a change recomputes: this month and the one before (with their running
    totals), the term under way and the school year."""
    today = today or clock.today()
    month = current_month(today)
    before = previous_month(month)
    start = school_year(today)
    terms = [t for t in terms_of_year(session, start, today) if t.starts_on <= today <= t.ends_on]
    return [month, before, ytd_period(month), ytd_period(before), *terms, year_period(start)]


def stored_nightly(session: Session, today: date | None = None) -> list[Period]:
    """What the nightly job recomputes: every month, term and running total of the school year so far,
    the school year, and the month before it began (a report for August may be due in September)."""
    today = today or clock.today()
    start = school_year(today)
    months = months_of_year(start, today)
    extra = previous_month(months[0]) if months else current_month(today)
    return [extra, ytd_period(extra), *months, *(ytd_period(m) for m in months), *terms_of_year(session, start, today),
            year_period(start)]


def school_year_of_today() -> int:
    return school_year(clock.today())
