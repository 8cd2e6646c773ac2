"""Notifications (通知): what a person is told in the page (the header's bell and its list, read
and unread) about a new task, a ticket, a send-back, a child back at school, an overdue item, a
circular; and, where the township configures one, by e-mail or its messaging gateway, sent by the
workers after commit, retried with backoff, never twice for one event. Other concepts call
`service.send(...)`; this concept never imports them."""

from baoxue.platform.concepts import Concept

# Its demo builds on the others' (the sweep over their work, their notifications read or not), so
# it comes after the concepts whose demos tell people things; it imports none of them.
concept = Concept(name="notifications", label="通知", requires=("worklist", "attendance", "referrals"))
