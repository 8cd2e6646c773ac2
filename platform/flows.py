"""A record's life as steps: each step is taken by one side, from some states, to one state.

Referral tickets and task copies are both such records (`tenants/referrals/flows.py`,
`tenants/tasks/flows.py`): each names its states and sides and lists its `Step`s; its service
checks who may take a step (the side) and when (`before`), and asks for the note `needs_note` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)  # the record's states
D = TypeVar("D", bound=StrEnum)  # the sides that act on it


@dataclass(frozen=True)
class Step(Generic[S, D]):
    action: str
    label: str
    side: D
    before: frozenset[S]
    after: S
    needs_note: str = ""  # the field's message when a note is required; "" = optional
