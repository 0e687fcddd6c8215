"""One root for every error DossierWatch raises on purpose, one branch per area.

A command maps each branch to a one-line message and an exit code (streams/cli); code
that only needs to know "this is ours, not a bug" catches `DossierWatchError`.
"""

from __future__ import annotations


class DossierWatchError(Exception):
    """Anything DossierWatch refuses or cannot do, said in one line."""


class ContractError(DossierWatchError, ValueError):
    """Input that breaks the event contract (streams/contract/events.py: `InvalidEvent`)."""


class EventLogError(DossierWatchError, ValueError):
    """A log file that cannot be read as events (streams/eventlogs: `LogFormatError`)."""


class PolicyError(DossierWatchError, ValueError):
    """A policy or holiday file that cannot be used; the message names the file and key."""


class CalendarError(DossierWatchError, ValueError):
    """A date the working calendar cannot count (streams/core/calendar.py)."""


class KafkaIOError(DossierWatchError):
    """Kafka, not the data, is the problem: unreachable, refused, misconfigured."""


class AlertDeliveryError(DossierWatchError):
    """An alert could not be handed on (Alertmanager, Zalo, a webhook)."""


class AccessError(DossierWatchError, ValueError):
    """Web access cannot be set up as configured (token files, keys)."""
