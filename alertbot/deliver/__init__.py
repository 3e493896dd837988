"""Delivery: the channels (email, Slack, files) and the outbox that feeds them.

``queue_due`` puts due digests in the outbox, ``send_due`` drains it through the
channels ``build_channels`` makes from the settings. See ``alertbot/store/outbox.py`` for
the states, ``alertbot/store/attempts.py`` for the exactly-once rules, ``email.py`` for
what an SMTP failure means.
"""

from alertbot.deliver.base import Channel, DeliveryError, Rendered
from alertbot.deliver.channels import build_channels, unsubscribe_url_builder
from alertbot.deliver.outcome import Outcome
from alertbot.deliver.plan import Planned
from alertbot.deliver.queue import TickCaches, plan_due, queue_due
from alertbot.deliver.worker import Delivery, SendReport, send_due

__all__ = [
    "Channel",
    "Delivery",
    "DeliveryError",
    "Outcome",
    "Planned",
    "Rendered",
    "SendReport",
    "TickCaches",
    "build_channels",
    "plan_due",
    "queue_due",
    "send_due",
    "unsubscribe_url_builder",
]
