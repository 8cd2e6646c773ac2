"""Responsibility contracts (责任书 / 责任状, DOMAIN.md §4): the township issues this school year's
contracts to every village or every school (a background job, one per party), both sides sign in
the platform, the signed contract is a PDF with a QR code that anyone may verify at /verify/<code>."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="contracts", label="责任书", requires=("figures", "worklist"),
                  nav=(NavEntry("责任书", "/contracts", Permission.CONTRACT_READ, order=75),))
