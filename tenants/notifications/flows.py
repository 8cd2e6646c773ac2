"""The kinds of notification, the outside channels and a delivery's states."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    TASK = "task"
    TASK_SENT_BACK = "task_sent_back"
    TASK_SUBMITTED = "task_submitted"
    TICKET = "ticket"
    RETURNED_TO_SCHOOL = "returned_to_school"
    OVERDUE = "overdue"
    CIRCULAR = "circular"
    MEETING = "meeting"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {Kind.TASK: "新任务", Kind.TASK_SENT_BACK: "任务退回", Kind.TASK_SUBMITTED: "任务已提交",
               Kind.TICKET: "转介单", Kind.RETURNED_TO_SCHOOL: "学生返校", Kind.OVERDUE: "待办逾期",
               Kind.CIRCULAR: "通报", Kind.MEETING: "会议"}


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


CHANNEL_LABELS = {Channel.EMAIL: "电子邮件", Channel.WEBHOOK: "短信/消息网关"}


class DeliveryState(StrEnum):
    QUEUED = "queued"  # recorded with the notification; the job is on its way
    SENT = "sent"  # the channel took it: never sent again
    FAILED = "failed"  # the channel refused it for good (a 4xx, a refused address): not retried
