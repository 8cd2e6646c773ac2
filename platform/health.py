"""GET /health: is the database up, is the job queue up? 503 when either is down."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, Response, get

from baoxue.platform.auth import PUBLIC
from baoxue.platform.db import database_is_up


def health_report(settings: Any) -> tuple[int, dict[str, Any]]:
    from baoxue.workers.broker import broker_state

    db_ok, db_detail = database_is_up(settings)
    broker_ok, broker_detail = broker_state(settings)
    ok = db_ok and broker_ok
    body = {
        "status": "ok" if ok else "degraded",
        "database": {"ok": db_ok, "detail": db_detail, "backend": "postgresql" if settings.is_postgresql else "sqlite"},
        "broker": {"ok": broker_ok, "detail": broker_detail},
    }
    return (200 if ok else 503), body


@get("/health", opt=PUBLIC, summary="Database and job-queue state")
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    status, body = await anyio.to_thread.run_sync(health_report, request.app.state.settings)
    return Response(content=body, status_code=status)


routes = [health]
