"""The dead-letter list: the township's failed background jobs, and a button to run one again.

The workers retry a failing job with backoff by themselves; what they gave up on stays here,
with its error, until the system administrator presses 重试 (the job is queued again under its
key and sent after the commit: its work is idempotent, so it finishes what it could not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.jobs import JobRun, do_retry_job, failed_jobs, gave_up
from baoxue.platform.permissions import Permission
from baoxue.platform.resources import saved
from baoxue.platform.templating import job_label, page

READ = requires(Permission.JOBS_READ)
RETRY = {**requires(Permission.JOBS_RETRY), "probe": {}}


@dataclass
class FailedJobOut:
    id: int
    key: str
    label: str  # the job as the page names it: 每日统计 2026-11-25
    actor: str
    attempts: int
    gave_up: bool  # the workers have stopped retrying it
    error: str
    finished_at: datetime | None


def _out(run: JobRun) -> FailedJobOut:
    return FailedJobOut(run.id, run.key, job_label(run.key), run.actor, run.attempts, gave_up(run), run.error,
                        run.finished_at)


@get("/api/admin/jobs", opt=READ, summary="失败的后台任务（含已放弃自动重试的）", sync_to_thread=True)
def failed_api(db: Session) -> list[FailedJobOut]:
    return [_out(run) for run in failed_jobs(db)]


@post("/api/admin/jobs/{job_id:int}/retry", opt=RETRY, status_code=200, sync_to_thread=True,
      summary="重新运行一个失败的后台任务（按原键排队，提交后发送）")
def retry_api(request: Request[Any, Any, Any], db: Session, job_id: int) -> FailedJobOut:
    return _out(do_retry_job(db, actor_of(request), job_id))


@get("/admin/jobs", opt=READ, include_in_schema=False, sync_to_thread=True)
def failed_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return page(request, "jobs/failed.html", {"jobs": [_out(run) for run in failed_jobs(db)],
                                              "can_retry": actor_of(request).can(Permission.JOBS_RETRY)})


@post("/admin/jobs/{job_id:int}/retry", opt=RETRY, include_in_schema=False, sync_to_thread=True)
def retry_page(request: Request[Any, Any, Any], db: Session, job_id: int) -> Response[Any]:
    do_retry_job(db, actor_of(request), job_id)
    return saved("/admin/jobs")


routes = [failed_api, retry_api, failed_page, retry_page]
