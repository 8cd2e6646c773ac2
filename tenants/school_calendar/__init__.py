"""The school calendar: terms, holidays, make-up days (调休) and a school's own closed days; and
the one place that counts school days (`service.Calendar`)."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="school_calendar",
    label="校历",
    requires=("tenancy",),
    nav=(NavEntry("校历", "/calendar", Permission.CALENDAR_READ, order=70),),
)
