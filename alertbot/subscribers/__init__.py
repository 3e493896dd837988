"""Subscribers: one service for every change, one pydantic schema for what people type.

``SubscriberService`` (``service.py``) is what the CLI, Slack's ``/subscribe`` and the
web pages call, refusing with the exceptions of ``refusals.py``; ``spec.py`` validates
a subscriber described by a person (options, an import entry, a form);
``importing.py`` reads ``alertbot subscribers import`` files.
"""

from alertbot.subscribers.accounts import AWAITING_CONFIRMATION
from alertbot.subscribers.refusals import (
    AddressTaken,
    AlreadyThere,
    NameTaken,
    NoSuchItem,
    QueryRefused,
    Refused,
    SlackUserTaken,
    TooMany,
)
from alertbot.subscribers.service import (
    MAX_EMAILS,
    PAUSED_FROM_SLACK,
    STOPPED,
    UNSUBSCRIBED,
    ImportResult,
    NotFound,
    SubscriberService,
)
from alertbot.subscribers.spec import (
    InvalidSubscriber,
    NewSubscriber,
    QueryLimits,
    SubscriberChanges,
    parse,
)

__all__ = [
    "AWAITING_CONFIRMATION",
    "MAX_EMAILS",
    "PAUSED_FROM_SLACK",
    "STOPPED",
    "UNSUBSCRIBED",
    "AddressTaken",
    "AlreadyThere",
    "ImportResult",
    "InvalidSubscriber",
    "NameTaken",
    "NewSubscriber",
    "NoSuchItem",
    "NotFound",
    "QueryLimits",
    "QueryRefused",
    "Refused",
    "SlackUserTaken",
    "SubscriberChanges",
    "SubscriberService",
    "TooMany",
    "parse",
]
