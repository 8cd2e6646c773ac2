"""The county (县教育局): its townships side by side, from what each township publishes.

A county viewer belongs to no township. Each township's figures job publishes its aggregates
(`published_figures`: counts and rates, never a child) to its county; the county page reads only
those rows. On PostgreSQL the row-level policy is the wall (its own township, or the county in
`app.county_id`); the service filters by the same two keys for SQLite."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="county", label="县级汇总", requires=("dashboard",),
                  nav=(NavEntry("县级汇总", "/county", Permission.COUNTY_READ, order=0),))
