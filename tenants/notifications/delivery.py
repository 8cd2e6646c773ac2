"""Delivering a notification outside the page: e-mail (SMTP) or the township's messaging gateway
(a webhook), by the job `tasks.deliver_notification`, never twice.

Each channel's delivery is a row (`notification_deliveries`) recorded queued with the
notification. The job sends every queued one and marks it sent *at once*, in a short transaction
of its own, so a retry (another channel failed) or a redelivered job never sends it again. A
transient failure (connection refused, a timeout, a 5xx, an SMTP 4xx) is counted on its row and
raised: `run_once` marks the job failed and dramatiq retries it with backoff (`workers/actors`).
A refusal for good (a 4xx from the gateway, an address the mail server refuses) marks the row
failed and is not retried. The one gap every outbox has — a crash after the channel took it and
before the mark commits — sends once more at worst; the gateway's `Idempotency-Key` and the
mail's `Message-ID`, both made from the notification's key, let the far side drop that copy.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from baoxue.platform.clock import CHINA, utcnow
from baoxue.platform.db import tenant_session
from baoxue.platform.jobs import township_context
from baoxue.platform.settings import Settings, get_settings
from baoxue.tenants.notifications.flows import Channel, DeliveryState, Kind
from baoxue.tenants.notifications.models import Notification, NotificationDelivery
from baoxue.tenants.tenancy.models import Township, User


class Transient(RuntimeError):
    """The channel could not take it now: retried by the job."""


class Refused(RuntimeError):
    """The channel refused it for good: not retried."""


@dataclass(frozen=True)
class Outgoing:
    """What a channel sends of one notification."""

    notification_id: int
    key: str  # the event's key
    idempotency_key: str  # this notification's: the township, the event, the person
    township_id: int
    township: str
    username: str
    display_name: str
    email: str
    kind: str
    kind_label: str
    text: str
    href: str  # with BAOXUE_NOTIFY_BASE_URL in front when it is set
    created_at: datetime


def idempotency_key(township_id: int, key: str, membership_id: int) -> str:
    return f"baoxue:{township_id}:{key}:{membership_id}"


def message_id(out: Outgoing, sender: str) -> str:
    """The same Message-ID every time this notification is mailed (a mail system drops a copy)."""
    digest = hashlib.sha256(out.idempotency_key.encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2].strip(" >") or "baoxue.local"
    return f"<notify.{digest}@{domain}>"


# --- the channels --------------------------------------------------------------------------------

def send_webhook(settings: Settings, out: Outgoing) -> None:
    body = json.dumps({
        "township": out.township, "township_id": out.township_id,
        "recipient": {"username": out.username, "display_name": out.display_name},
        "kind": out.kind, "kind_label": out.kind_label, "text": out.text, "href": out.href, "key": out.key,
        "notification_id": out.notification_id, "created_at": out.created_at.isoformat(),
    }, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": out.idempotency_key,
               "User-Agent": "baoxue-notifications"}
    if settings.notify_webhook_token:
        headers["Authorization"] = f"Bearer {settings.notify_webhook_token}"
    request = urllib.request.Request(settings.notify_webhook_url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.notify_timeout_seconds) as response:  # noqa: S310 - the configured gateway
            status = response.status
    except urllib.error.HTTPError as failed:
        if failed.code >= 500 or failed.code in (408, 429):
            raise Transient(f"webhook HTTP {failed.code}") from None
        raise Refused(f"webhook HTTP {failed.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as failed:
        raise Transient(f"webhook: {_reason(failed)}") from None
    if not 200 <= status < 300:
        raise Refused(f"webhook HTTP {status}")


def send_email(settings: Settings, out: Outgoing) -> None:
    if not out.email:
        raise Refused("no e-mail address")
    mail = EmailMessage()
    mail["Subject"] = f"【保学】{out.kind_label}：{out.text}"[:150]
    mail["From"] = settings.notify_smtp_from
    mail["To"] = out.email
    mail["Message-ID"] = message_id(out, settings.notify_smtp_from)
    mail["Date"] = format_datetime(out.created_at.astimezone(CHINA))
    mail["X-Baoxue-Key"] = out.idempotency_key
    mail.set_content(f"{out.display_name}：\n\n{out.text}\n\n" + (f"查看：{out.href}\n\n" if out.href else "")
                     + f"—— {out.township} 控辍保学工作平台（保学）\n")
    try:
        with smtplib.SMTP(settings.notify_smtp_host, settings.notify_smtp_port,
                          timeout=settings.notify_timeout_seconds) as smtp:
            if settings.notify_smtp_starttls:
                smtp.starttls()
            if settings.notify_smtp_user:
                smtp.login(settings.notify_smtp_user, settings.notify_smtp_password)
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _ in refused.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise Refused(f"smtp refused the address ({codes[0]})") from None
        raise Transient(f"smtp recipient deferred ({codes[0] if codes else '?'})") from None
    except smtplib.SMTPResponseException as failed:
        if failed.smtp_code >= 500 and not isinstance(failed, smtplib.SMTPConnectError):
            raise Refused(f"smtp {failed.smtp_code}") from None
        raise Transient(f"smtp {failed.smtp_code}") from None
    except (smtplib.SMTPException, OSError, TimeoutError) as failed:
        raise Transient(f"smtp: {_reason(failed)}") from None


def _reason(failed: BaseException) -> str:
    reason = getattr(failed, "reason", None) or failed
    return f"{type(reason).__name__}: {reason}"[:200] if not isinstance(reason, socket.timeout) else "timeout"


SENDERS: dict[str, Callable[[Settings, Outgoing], None]] = {Channel.EMAIL.value: send_email,
                                                            Channel.WEBHOOK.value: send_webhook}


def _configured(settings: Settings, channel: str) -> bool:
    if channel == Channel.EMAIL:
        return bool(settings.notify_smtp_host and settings.notify_smtp_from)
    return channel == Channel.WEBHOOK and bool(settings.notify_webhook_url)


# --- the job's work ------------------------------------------------------------------------------

def deliver(session: Session, notification_id: int, settings: Settings | None = None) -> dict[str, Any]:
    """Send the notification's queued deliveries. Reads only in `session` (the job's, which
    commits the job's result); each delivery's outcome commits on its own, at once."""
    settings = settings or get_settings()
    notification = session.scalar(select(Notification).where(Notification.id == notification_id))
    if notification is None:
        return {"sent": [], "note": "gone"}
    pending = list(session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.notification_id == notification.id,
        NotificationDelivery.state == DeliveryState.QUEUED.value).order_by(NotificationDelivery.id)))
    if not pending:
        return {"sent": []}
    out = _outgoing(session, notification, settings)
    sent, refused, transient = [], [], None
    for delivery in pending:
        if not _configured(settings, delivery.channel):
            _settle(settings, delivery, DeliveryState.FAILED, "该通道已不再配置")
            refused.append(delivery.channel)
            continue
        try:
            SENDERS[delivery.channel](settings, out)
        except Refused as failed:
            _settle(settings, delivery, DeliveryState.FAILED, str(failed))
            refused.append(delivery.channel)
            continue
        except Transient as failed:
            _settle(settings, delivery, None, str(failed))
            transient = failed
            continue
        _settle(settings, delivery, DeliveryState.SENT, "")
        sent.append(delivery.channel)
    if transient is not None:
        raise transient  # the job fails and dramatiq retries it; what was sent stays sent
    return {"sent": sent, "refused": refused}


def _outgoing(session: Session, notification: Notification, settings: Settings) -> Outgoing:
    users, townships = User.__table__, Township.__table__
    username, display_name, email = session.execute(select(users.c.username, users.c.display_name, users.c.email)
                                                    .where(users.c.id == notification.user_id)).one()
    township = session.scalar(select(townships.c.name).where(townships.c.id == notification.township_id)) or ""
    kind = Kind(notification.kind)
    href = notification.href
    if href and settings.notify_base_url:
        href = settings.notify_base_url + href
    return Outgoing(notification_id=notification.id, key=notification.key,
                    idempotency_key=idempotency_key(notification.township_id, notification.key,
                                                    notification.membership_id),
                    township_id=notification.township_id, township=township, username=username,
                    display_name=display_name, email=email or "", kind=kind.value, kind_label=kind.label,
                    text=notification.text, href=href, created_at=notification.created_at)


def _settle(settings: Settings, delivery: NotificationDelivery, state: DeliveryState | None, error: str) -> None:
    """Count the attempt and, with a state, settle it: committed at once, only while still queued."""
    values: dict[str, Any] = {"attempts": NotificationDelivery.attempts + 1, "last_error": error[:300]}
    if state is not None:
        values["state"] = state.value
    if state == DeliveryState.SENT:
        values["sent_at"] = utcnow()
    with tenant_session(township_context(delivery.township_id), settings) as session:
        session.execute(update(NotificationDelivery).where(
            NotificationDelivery.id == delivery.id, NotificationDelivery.state == DeliveryState.QUEUED.value)
            .values(**values), execution_options={"synchronize_session": False})
