"""The home page (the dashboard of one's unit) and the figures API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import SIGNED_IN, actor_of, requires
from baoxue.platform.permissions import Permission, Role
from baoxue.tenants.figures import service
from baoxue.tenants.tenancy.service import GRADE_NAMES
from baoxue.tenants.figures.overview import personal_data_grants, todos, unit_overview
from baoxue.tenants.worklist.service import items_for


@dataclass
class FiguresOut:
    computed_at: datetime | None
    data: dict[str, Any]


@dataclass
class JobOut:
    key: str
    status: str


@get("/", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def home(request: Request[Any, Any, Any], db: Session) -> Template:
    actor = actor_of(request)
    context: dict[str, Any] = {"overview": None, "figures": None, "jobs": [], "todos": [], "grants": [],
                               "grade_names": GRADE_NAMES, "worklist": items_for(db, actor)}
    if actor.membership is not None:
        context["overview"] = unit_overview(db)
        if actor.role == Role.LEADER:
            context["grants"] = personal_data_grants(db)
        context["todos"] = todos(db, actor, context["grants"])
        if actor.can(Permission.FIGURES_READ):
            context["figures"] = service.latest_enrolment(db)
        if actor.can(Permission.FIGURES_REBUILD):
            context["jobs"] = service.recent_jobs(db)
    return Template("figures/home.html", context=context)


@post("/figures/rebuild", opt={**requires(Permission.FIGURES_REBUILD), "probe": {}}, include_in_schema=False,
      sync_to_thread=True)
def rebuild_page(db: Session) -> Redirect:
    service.do_request_rebuild(db)
    return Redirect(path="/", status_code=303)


@get("/api/figures/enrolment", opt=requires(Permission.FIGURES_READ), summary="Latest enrolment figures",
     sync_to_thread=True)
def figures_api(db: Session) -> FiguresOut:
    snapshot = service.latest_enrolment(db)
    return FiguresOut(computed_at=snapshot.computed_at if snapshot else None, data=snapshot.data if snapshot else {})


@post("/api/figures/rebuild", opt={**requires(Permission.FIGURES_REBUILD), "probe": {}}, summary="Rebuild the figures (a job)",
      status_code=202, sync_to_thread=True)
def rebuild_api(db: Session) -> JobOut:
    run = service.do_request_rebuild(db)
    return JobOut(key=run.key, status=run.status)


routes = [home, rebuild_page, figures_api, rebuild_api]
