"""Officers' ids replaced at ingest by keyed pseudonyms (DESIGN principle 6).

Alerts, boards and metrics need to tell officers apart (an officer bouncing a dossier
back and forth), never to know who they are: `o-` + 16 hex digits of HMAC-SHA256 under
a secret key, the same officer always the same pseudonym under one key, and no way back
without it.  The key comes from the deployment's configuration; the core only uses it.
"""

from __future__ import annotations

import hashlib
import hmac

import msgspec

from streams.contract import events as ev

PREFIX = "o-"


def pseudonym(officer: str, key: bytes) -> str:
    digest = hmac.new(key, officer.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:16]


def pseudonymise(event: ev.DossierEvent, key: bytes) -> ev.DossierEvent:
    """The event with its officer (if it names one) replaced by the pseudonym."""
    data = event.data
    officer = getattr(data, "officer", None)
    if not officer:
        return event
    data = msgspec.structs.replace(data, officer=pseudonym(officer, key))
    return msgspec.structs.replace(event, data=data)
