"""Referral tickets (转介单): from a case, a school or a village to the department whose duty fits;
the department accepts or returns it, works it and resolves it with an outcome, the referrer
closes it or reopens it. The department sees of the case only what its duty needs, while open."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="referrals", label="部门转介", requires=("cases", "worklist"),
                  nav=(NavEntry("部门转介", "/referrals", Permission.REFERRAL_READ, order=45),))
