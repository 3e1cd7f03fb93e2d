"""Webhook notifications in Distribution's format: events, endpoints and the notifier."""

from registry.notifications.endpoint import DeliveryObserver, Endpoint
from registry.notifications.events import Event, Reference, RequestRecord, Target
from registry.notifications.notifier import Notifier

__all__ = [
    "DeliveryObserver",
    "Endpoint",
    "Event",
    "Notifier",
    "Reference",
    "RequestRecord",
    "Target",
]
