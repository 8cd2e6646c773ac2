"""Circulars (通报): the party-government office (or the leading group's office) names the units
that missed their tasks or targets, drafted from what is behind now, numbered in the township's
series (板当府通〔2026〕3号) and issued as a PDF; the units named see it on their first screen."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="circulars", label="乡镇通报", requires=("dashboard", "referrals", "worklist"),
                  nav=(NavEntry("乡镇通报", "/circulars", Permission.CIRCULAR_READ, order=70),))
