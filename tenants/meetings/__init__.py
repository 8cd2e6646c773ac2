"""Meetings and publicity (会议和宣传活动): records of their own (date, place, attendees, agenda,
minutes, photos), a school's count against the routine (three team meetings a semester, the
academic office's monthly meeting, the activity months' special meeting), a task's evidence;
and the leading group's meeting, its agenda drawn from what is stuck and its decisions turned
into tasks or tickets in one step."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="meetings", label="会议和宣传", requires=("circulars", "cases", "referrals", "tasks"),
                  nav=(NavEntry("会议和宣传", "/meetings", Permission.MEETING_READ, order=72),))
