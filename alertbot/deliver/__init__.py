"""Delivery: the channels (email, Slack, files) and the outbox that feeds them.

``queue_due`` puts due digests in the outbox, ``send_due`` drains it through the
channels ``build_channels`` makes from the settings. See ``outbox.py`` for the states
and the exactly-once rules, ``email.py`` for what an SMTP failure means.
"""

from alertbot.deliver.base import Channel, DeliveryError, Rendered
from alertbot.deliver.outbox import STATES, Backlog
from alertbot.deliver.queue import Planned, plan_due, queue_due
from alertbot.deliver.worker import (
    CHANNEL_CLASSES,
    Delivery,
    SendReport,
    build_channels,
    outbox_backlog,
    send_due,
    unsubscribe_url_builder,
)

__all__ = [
    "CHANNEL_CLASSES",
    "STATES",
    "Backlog",
    "Channel",
    "Delivery",
    "DeliveryError",
    "Planned",
    "Rendered",
    "SendReport",
    "build_channels",
    "outbox_backlog",
    "plan_due",
    "queue_due",
    "send_due",
    "unsubscribe_url_builder",
]
