"""Imports every model so that metadata is complete (Alembic, the scope listener, tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "baoxue.tenants.tenancy.models",
    "baoxue.tenants.students.models",
    "baoxue.tenants.figures.models",
    "baoxue.platform.audit",
    "baoxue.platform.identity",
    "baoxue.platform.jobs",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
