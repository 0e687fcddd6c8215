"""Who receives alerts on their phone: the recipients file, shared by the Zalo and SMS
adapters (deploy/alertmanager/zalo-recipients.toml).

    [unit_head]                      # a role: the last part of the adapter's URL
    "*" = ["zuid-onestop-head"]      # any unit without its own entry
    DEPT_LAND = ["zuid-land-head", "land-deputy"]

    [people.land-deputy]             # optional: how to reach an entry of the lists
    zalo_user_id = "zuid-…"          # a follower of the OA (the id this OA sees)
    phone = "0912 345 678"           # for ZNS and SMS; stored as 84912345678
    channels = ["zalo", "sms"]       # default ["zalo"]

An entry without a [people.<entry>] table is a Zalo user id reached by Zalo only: files
written before the table existed keep their meaning.  Channels:
- "zalo": an OA message while the person can receive one (they wrote to the OA recently),
  otherwise a ZNS template message to their phone;
- "zns": always a ZNS template message (e.g. someone who does not follow the OA);
- "sms": an SMS through the centre's gateway (the SMS adapter).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from alerts.phone import PhoneError, normalise_phone
from streams.contract.errors import AlertDeliveryError

log = structlog.get_logger("dossierwatch.recipients")

ROLES = ("unit_channel", "unit_head", "director", "inspectors", "platform")
"""The last part of the adapters' URLs in alertmanager.yml; any other path is a 404."""

PEOPLE = "people"
"""The table of how to reach each entry; not a role."""

CHANNELS = ("zalo", "zns", "sms")
_PERSON_KEYS = frozenset({"zalo_user_id", "phone", "channels"})


class RecipientsError(AlertDeliveryError):
    pass


@dataclass(frozen=True)
class Person:
    """One entry of the role lists, with how to reach it."""

    key: str
    zalo_user_id: str = ""
    """The id this OA sees for the person; "" when they do not follow it."""
    phone: str = ""
    """84xxxxxxxxx, or "" when not given."""
    channels: frozenset[str] = frozenset({"zalo"})

    @property
    def on_zalo(self) -> bool:
        """Reached by the Zalo adapter (an OA message or a ZNS template)."""
        return bool(self.channels & {"zalo", "zns"})


@dataclass(frozen=True)
class Book:
    roles: dict[str, dict[str, tuple[str, ...]]]
    people: dict[str, Person]

    def person(self, key: str) -> Person:
        return self.people.get(key) or Person(key, zalo_user_id=key)


def _person(key: str, table: Any) -> Person:
    where = f"[people.{key}]"
    if not isinstance(table, dict):
        raise RecipientsError(f"{where} must be a table (zalo_user_id, phone, channels)")
    unknown = sorted(set(table) - _PERSON_KEYS)
    if unknown:
        raise RecipientsError(f"{where}: unknown key {unknown[0]!r}")
    user = table.get("zalo_user_id", "")
    raw_phone = table.get("phone", "")
    channels = table.get("channels", ["zalo"])
    if not isinstance(user, str) or not isinstance(raw_phone, str):
        raise RecipientsError(f"{where}: zalo_user_id and phone must be strings")
    if (
        not isinstance(channels, list)
        or not channels
        or not all(isinstance(c, str) and c in CHANNELS for c in channels)
    ):
        raise RecipientsError(f"{where}: channels must be a non-empty list of {CHANNELS}")
    chosen = frozenset(channels)
    if {"zalo", "zns"} <= chosen:
        raise RecipientsError(f'{where}: "zalo" already falls back to "zns": choose one')
    try:
        phone = normalise_phone(raw_phone) if raw_phone else ""
    except PhoneError as err:
        raise RecipientsError(f"{where}: {err}") from None
    if not phone and chosen & {"zns", "sms"}:
        raise RecipientsError(f"{where}: channels {sorted(chosen)} need a phone")
    if not phone and not user:
        raise RecipientsError(f"{where}: neither a zalo_user_id nor a phone")
    return Person(key, user, phone, chosen)


def parse_book(text: str) -> Book:
    """[role] tables mapping a unit id, or "*" for any other unit, to entries; [people]."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RecipientsError(str(err)) from None
    roles: dict[str, dict[str, tuple[str, ...]]] = {}
    people: dict[str, Person] = {}
    for role, table in data.items():
        if not isinstance(table, dict):
            raise RecipientsError(f"[{role}] must be a table of unit = [user ids]")
        if role == PEOPLE:
            people = {key: _person(key, person) for key, person in table.items()}
            continue
        units: dict[str, tuple[str, ...]] = {}
        for unit, users in table.items():
            if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
                raise RecipientsError(f"[{role}] {unit} must be a list of Zalo user ids")
            units[unit] = tuple(users)
        roles[role] = units
    return Book(roles, people)


def parse_recipients(text: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """The role tables of a recipients file."""
    return parse_book(text).roles


@dataclass
class Recipients:
    """The recipients file, read again whenever it changes: editing it needs no restart."""

    path: Path
    _mtime: float = -1.0
    _book: Book = field(default_factory=lambda: Book({}, {}))

    def users(self, role: str, unit: str | None) -> tuple[str, ...]:
        """The entries of `role` for `unit` (its own, else the "*" ones)."""
        self._reload()
        table = self._book.roles.get(role, {})
        if unit is not None and unit in table:
            return table[unit]
        return table.get("*", ())

    def people(self, role: str, unit: str | None) -> tuple[Person, ...]:
        """The same entries, each with how to reach it."""
        keys = self.users(role, unit)
        return tuple(self._book.person(k) for k in keys)

    def _reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self._mtime:
                return
            self._book = parse_book(self.path.read_text(encoding="utf-8"))
        except (OSError, RecipientsError) as err:
            if self._mtime < 0:
                raise
            # A half-saved edit must not silence the adapters: keep the last good list.
            log.error("recipients_unreadable", path=str(self.path), error=str(err))
            return
        self._mtime = mtime
        log.info(
            "recipients_loaded",
            path=str(self.path),
            roles=sorted(self._book.roles),
            people=len(self._book.people),
        )
