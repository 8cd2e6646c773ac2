"""The concept registry: each `tenants/<concept>/__init__.py` declares one `Concept`.

The shell iterates over the registry instead of naming concepts: the app mounts their routes,
imports their models and policies, builds the navigation, binds their actors, runs their
schedules and seeds their demo data; the tests walk the same list. Adding a concept is
creating its folder (see `tenants/README.md`); no file of the shell changes.

A concept's parts live in modules of conventional names, imported when first needed so that
importing a concept's `__init__` stays cheap and free of cycles:
`models`, `policy`, `events`, `routes` (exports `routes`), `home` (exports `todos`, may export
`panel`), `hooks`
(exports `on_<event>` listeners, see `notify`), `tasks` (exports `actors`,
`schedules`), `demo` (exports `seed(session, township)`), `schemas` (may export `FIELDS` and
`ENTITIES`: the Chinese names of its field codes and records, see `baoxue.platform.labels`).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from types import ModuleType
from typing import Any

from baoxue.platform.permissions import Permission


@dataclass(frozen=True)
class NavEntry:
    label: str  # Chinese, as the menu shows it
    href: str
    permission: Permission | None = None  # None: everyone signed in
    order: int = 100
    # Where the menu fetches a count to show beside the entry (an htmx fragment), "" for none:
    # loaded after the page, so no page waits for another concept's query.
    count_href: str = ""


@dataclass(frozen=True)
class Todo:
    """One thing the person must do today, in their words, and where to do it: what a
    concept's `home.todos(session, actor)` returns for the first screen."""

    text: str
    href: str = ""


@dataclass(frozen=True)
class Panel:
    """A section a concept adds to the first screen under the reminders (`home.panel(session,
    actor)`, or None): its template, included with `panel` in its context."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Concept:
    name: str  # the package name under tenants/
    label: str  # Chinese
    requires: tuple[str, ...] = ()  # concepts whose tables and demo data this one builds on
    nav: tuple[NavEntry, ...] = ()
    package: str = field(default="", compare=False)

    def module(self, part: str) -> ModuleType | None:
        """`tenants/<name>/<part>.py`, or None if the concept has no such part."""
        name = f"{self.package}.{part}"
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name == name:
                return None
            raise

    @property
    def routes(self) -> list[Any]:
        module = self.module("routes")
        return list(module.routes) if module else []

    @property
    def events(self) -> type[StrEnum] | None:
        module = self.module("events")
        return getattr(module, "Event", None) if module else None

    @property
    def fields(self) -> dict[str, Any]:
        module = self.module("schemas")
        return dict(getattr(module, "FIELDS", {})) if module else {}

    @property
    def entities(self) -> dict[str, Any]:
        module = self.module("schemas")
        return dict(getattr(module, "ENTITIES", {})) if module else {}

    @property
    def actors(self) -> list[Any]:
        module = self.module("tasks")
        return list(getattr(module, "actors", ())) if module else []

    @property
    def schedules(self) -> list[Any]:
        module = self.module("tasks")
        return list(getattr(module, "schedules", ())) if module else []

    @property
    def seed_demo(self) -> Any:
        module = self.module("demo")
        return getattr(module, "seed", None) if module else None


@cache
def all_concepts() -> tuple[Concept, ...]:
    """Every concept under `tenants/`, each after the concepts it requires."""
    import baoxue.tenants as tenants

    found: dict[str, Concept] = {}
    for info in pkgutil.iter_modules(tenants.__path__):
        if not info.ispkg:
            continue
        package = f"{tenants.__name__}.{info.name}"
        concept = getattr(importlib.import_module(package), "concept", None)
        if not isinstance(concept, Concept):
            raise TypeError(f"{package} must declare `concept = Concept(...)` in its __init__.py")
        if concept.name != info.name:
            raise TypeError(f"{package} declares the concept {concept.name!r}; it must be {info.name!r}")
        found[info.name] = Concept(**{**concept.__dict__, "package": package})
    return tuple(_ordered(found))


def _ordered(found: dict[str, Concept]) -> list[Concept]:
    ordered: list[Concept] = []
    placing: set[str] = set()

    def place(concept: Concept) -> None:
        if concept in ordered:
            return
        if concept.name in placing:
            raise TypeError(f"concepts require each other in a circle: {concept.name}")
        placing.add(concept.name)
        for name in concept.requires:
            if name not in found:
                raise TypeError(f"{concept.name} requires {name!r}, which is not a concept")
            place(found[name])
        ordered.append(concept)

    for name in sorted(found):
        place(found[name])
    return ordered


def import_all_models() -> None:
    """Every table and every policy, so metadata and the scope are complete."""
    for module in ("baoxue.platform.audit", "baoxue.platform.identity", "baoxue.platform.jobs"):
        importlib.import_module(module)
    for concept in all_concepts():
        concept.module("models")
        concept.module("policy")


def navigation() -> list[NavEntry]:
    entries = [entry for concept in all_concepts() for entry in concept.nav]
    return sorted(entries, key=lambda e: e.order)


def all_actors() -> list[Any]:
    return [a for concept in all_concepts() for a in concept.actors]


def all_schedules() -> list[Any]:
    return [s for concept in all_concepts() for s in concept.schedules]


def all_events() -> list[str]:
    return [str(e) for concept in all_concepts() if concept.events for e in concept.events]


def contributions(part: str, name: str) -> list[Any]:
    """What concepts offer under one name in one part, in the registry's order: `home.todos`
    (the first screen's reminders), `hooks.on_<event>` (what a concept does when another's
    record changes). A concept without that part or name offers nothing."""
    found = []
    for concept in all_concepts():
        module = concept.module(part)
        offered = getattr(module, name, None) if module is not None else None
        if offered is not None:
            found.append(offered)
    return found


def notify(event: str, session: Any, **facts: Any) -> None:
    """Tell the concepts that listen (`hooks.py`: `def on_<event>(session, **facts)`), inside the
    caller's transaction: a visit recorded on the case file closes attendance's "call home"."""
    for listener in contributions("hooks", f"on_{event}"):
        listener(session, **facts)
