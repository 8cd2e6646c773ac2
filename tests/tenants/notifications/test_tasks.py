"""Delivery outside the page on a real worker, to a real local SMTP server (aiosmtpd) and a real
local HTTP webhook: once per notification across a redelivery and a re-run; a webhook failing
first (500) is retried with the actors' backoff and then delivered once, the e-mail not again."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select, update

from baoxue.platform.db import cross_township_session, new_session
from baoxue.platform.jobs import JobRun, township_context
from baoxue.platform.permissions import UnitKind
from baoxue.tenants.notifications import delivery, service
from baoxue.tenants.notifications.models import NotificationDelivery
from baoxue.tenants.notifications.tasks import deliver_key
from baoxue.tenants.tenancy.models import User
from baoxue.tenants.worklist.service import Owner
from baoxue.workers.dispatcher import send_job
from tests.tenants.notifications.helpers import membership_of, rows
from tests.workers import conftest as jobs
from tests.workers.conftest import free_port, job_row, wait_for

# The job tests' fixtures, used here by name.
app_broker, private_broker, start_worker = jobs.app_broker, jobs.private_broker, jobs.start_worker

EMAIL = "mid.academic@bandang.example.cn"


class Gateway:
    """A township's messaging gateway: records every POST, answers the statuses it is given."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.received = list(statuses), []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                gateway.received.append((status, {k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def delivered(self) -> list[Any]:
        return [r for r in self.received if 200 <= r[0] < 300]


class Mailbox:
    """A real SMTP server on a free port: every message it accepted."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                box.messages.append(envelope)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()


@pytest.fixture
def outside(demo: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Both channels configured (for `send` and the delivering job), and an address for bd_mid_academic."""
    mailbox = Mailbox()

    def configure(statuses: list[int]) -> Gateway:
        gateway = Gateway(statuses)
        settings = dataclasses.replace(demo, notify_webhook_url=gateway.url, notify_smtp_host="127.0.0.1",
                                       notify_smtp_port=mailbox.port, notify_smtp_from="baoxue@bandang.example.cn",
                                       notify_base_url="https://baoxue.example.cn", notify_timeout_seconds=5)
        monkeypatch.setattr(service, "get_settings", lambda: settings)
        monkeypatch.setattr(delivery, "get_settings", lambda: settings)
        return gateway

    with cross_township_session("tests: an address", demo) as s:
        s.execute(update(User).where(User.username == "bd_mid_academic").values(email=EMAIL))
    configure.mailbox = mailbox  # type: ignore[attr-defined]
    yield configure
    mailbox.controller.stop()
    with cross_township_session("tests: no address", demo) as s:
        s.execute(update(User).where(User.username == "bd_mid_academic").values(email=None))


def _tell(demo: Any, township: int, key: str, to: list[Owner]) -> None:
    session = new_session(township_context(township), demo)
    try:
        service.send(session, key=key, to=to, kind="ticket", text="新转介单第9号（童工），请受理或退回。", href="/referrals/9")
        session.commit()  # the outbox: the job goes after this commit
    finally:
        session.close()


def _deliveries(demo: Any, notification_id: int) -> dict[str, Any]:
    with cross_township_session("tests: deliveries", demo) as s:
        found = {d.channel: d for d in s.scalars(select(NotificationDelivery).where(
            NotificationDelivery.notification_id == notification_id))}
        s.expunge_all()
        return found


def _done(demo: Any, township: int, key: str) -> Any:
    run = job_row(demo, township, key)
    return run if run is not None and run.status == "done" else None


def test_nothing_configured_queues_nothing(demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    key = f"test:{uuid.uuid4().hex[:12]}"
    _tell(demo, bd, key, [Owner(UnitKind.SCHOOL, None, membership_id=membership_of(demo, "bd_mid_academic"))])
    (n,) = rows(demo, bd, key)
    assert _deliveries(demo, n.id) == {} and job_row(demo, bd, deliver_key(n.id)) is None


def test_each_channel_delivers_once_across_a_redelivery_and_a_rerun(
        demo: Any, townships: dict[str, int], outside: Any, private_broker: Any, app_broker: Any,
        start_worker: Any) -> None:
    app_broker(private_broker)
    start_worker(private_broker, threads=2)
    gateway, mailbox = outside([]), outside.mailbox
    bd = townships["DEMO-BD"]
    key = f"referrals:test:{uuid.uuid4().hex[:8]}"
    me = membership_of(demo, "bd_mid_academic")
    _tell(demo, bd, key, [Owner(UnitKind.SCHOOL, None, membership_id=me)])
    (n,) = rows(demo, bd, key)
    job = deliver_key(n.id)
    run = wait_for(lambda: _done(demo, bd, job), seconds=30)
    assert run.result == {"sent": ["email", "webhook"], "refused": []}
    wait_for(lambda: len(mailbox.messages) == 1 and len(gateway.delivered) == 1, 10, "both channels")
    (_, headers, body), = gateway.delivered
    assert headers["idempotency-key"] == f"baoxue:{bd}:{key}:{me}"
    assert body["key"] == key and body["recipient"]["username"] == "bd_mid_academic"
    assert body["href"] == "https://baoxue.example.cn/referrals/9" and body["kind"] == "ticket"
    mail = mailbox.messages[0]
    assert mail.rcpt_tos == [EMAIL]
    message_id = next(line for line in mail.content.decode().splitlines() if line.lower().startswith("message-id"))
    assert {d.state for d in _deliveries(demo, n.id).values()} == {"sent"}

    send_job(private_broker, "deliver_notification", bd, job)  # a redelivery of the done job
    # ... and a re-run (as if the job's result had been lost): the deliveries are marked sent.
    with cross_township_session("tests: lose the result", demo) as s:
        s.execute(update(JobRun).where(JobRun.township_id == bd, JobRun.key == job).values(status="failed"))
    send_job(private_broker, "deliver_notification", bd, job)
    rerun = wait_for(lambda: _done(demo, bd, job), seconds=30)
    assert rerun.result == {"sent": []}
    _tell(demo, bd, key, [Owner(UnitKind.SCHOOL, None, membership_id=me)])  # the event told again: nothing
    assert len(mailbox.messages) == 1 and len(gateway.received) == 1
    assert message_id.endswith("@bandang.example.cn>")


def test_a_gateway_failing_first_is_retried_with_backoff_then_delivered_once(
        demo: Any, townships: dict[str, int], outside: Any, private_broker: Any, app_broker: Any,
        start_worker: Any) -> None:
    app_broker(private_broker)
    start_worker(private_broker, threads=2)
    gateway, mailbox = outside([500]), outside.mailbox
    lg = townships["DEMO-LG"]
    key = f"referrals:test:{uuid.uuid4().hex[:8]}"
    me = membership_of(demo, "lg_mid_academic")
    _tell(demo, lg, key, [Owner(UnitKind.SCHOOL, None, membership_id=me)])  # no address: the gateway only
    (n,) = rows(demo, lg, key)
    job = deliver_key(n.id)
    run = wait_for(lambda: _done(demo, lg, job), seconds=40)
    assert run.attempts == 2 and run.result == {"sent": ["webhook"], "refused": []}
    assert [status for status, _, _ in gateway.received] == [500, 200]
    assert len({h["idempotency-key"] for _, h, _ in gateway.received}) == 1
    webhook = _deliveries(demo, n.id)
    assert set(webhook) == {"webhook"} and webhook["webhook"].state == "sent" and webhook["webhook"].attempts == 2
    assert mailbox.messages == []


def test_a_failed_mail_server_is_retried_and_what_was_sent_is_not_sent_again(
        demo: Any, townships: dict[str, int], outside: Any, private_broker: Any, app_broker: Any) -> None:
    """Without a worker (the job's message waits on a broker nobody reads): the job's work itself,
    as the first run and the retry would do it."""
    app_broker(private_broker)
    gateway = outside([])
    bd = townships["DEMO-BD"]
    key = f"test:{uuid.uuid4().hex[:8]}"
    _tell(demo, bd, key, [Owner(UnitKind.SCHOOL, None, membership_id=membership_of(demo, "bd_mid_academic"))])
    (n,) = rows(demo, bd, key)
    settings = delivery.get_settings()
    down = dataclasses.replace(settings, notify_smtp_port=free_port())  # nobody listens there
    session = new_session(township_context(bd), demo)
    try:
        with pytest.raises(delivery.Transient):
            delivery.deliver(session, n.id, down)
        assert len(gateway.delivered) == 1  # the gateway took it the first time
        assert delivery.deliver(session, n.id, settings) == {"sent": ["email"], "refused": []}
    finally:
        session.rollback()
        session.close()
    assert len(gateway.delivered) == 1 and len(outside.mailbox.messages) == 1
    assert _deliveries(demo, n.id)["email"].attempts == 2
