"""A notification is its person's alone: read and marked by its own membership, nobody else's.

A request's scope names the membership (`Scope.membership_id`); the township's own work (the
job that delivers, an action telling others under `consequences`) names none and reaches the
township's rows. Any other scope sees nothing: it fails closed. Another's notification is the
same 404 as a missing one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.scoping import Criteria, Policy, Scope, nothing
from baoxue.tenants.notifications.models import Notification, NotificationDelivery


class NotificationPolicy(Policy, model=Notification):
    def read(self, scope: Scope) -> Criteria:
        if scope.membership_id is not None:
            membership_id = scope.membership_id
            return lambda c: c.membership_id == membership_id
        return None if scope.whole_township else nothing()


class NotificationDeliveryPolicy(Policy, model=NotificationDelivery):
    """Written and read by the township's own work (send, the delivering job); a person reads
    the deliveries of their own notifications."""

    def read(self, scope: Scope) -> Criteria:
        if scope.membership_id is not None:
            return lambda c: c.notification_id.in_(select(Notification.id))
        return None if scope.whole_township else nothing()

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township and scope.membership_id is None else nothing()


def access_notification(session: Session, notification_id: int, *, for_write: bool = False) -> Notification:
    return access(session, Notification, notification_id, for_write=for_write)
