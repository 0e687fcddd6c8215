"""How every Kafka client of DossierWatch authenticates: TLS and SASL settings, one place.

The worker, the producers (`simulate`, `publish`), the alert bridge and any future
client (the ingest gateway) read the same settings: a small TOML file (`--kafka-config
PATH` or KAFKA_CONFIG_FILE), then KAFKA_* environment variables over it, so that a
deployment can keep the file in the image and the secret in the environment:

    security_protocol   KAFKA_SECURITY_PROTOCOL   PLAINTEXT (default), SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism      KAFKA_SASL_MECHANISM      SCRAM-SHA-512 (default), SCRAM-SHA-256, PLAIN
    sasl_username       KAFKA_SASL_USERNAME
    sasl_password       KAFKA_SASL_PASSWORD       or, from a file (a Docker secret):
    sasl_password_file  KAFKA_SASL_PASSWORD_FILE  its first line is the password
    ssl_cafile          KAFKA_SSL_CAFILE          PEM CA bundle (default: the system's)
    ssl_certfile        KAFKA_SSL_CERTFILE        PEM client certificate (mutual TLS)
    ssl_keyfile         KAFKA_SSL_KEYFILE         PEM key of that certificate
    ssl_key_password    KAFKA_SSL_KEY_PASSWORD    if that key is encrypted
    ssl_check_hostname  KAFKA_SSL_CHECK_HOSTNAME  true (default) or false

Relative paths in the file are read from the file's directory.  Every mistake is a
`KafkaSecurityError` whose text is one line naming the variable or key to fix.  Standard
library only: Faust and kafka-python load when a client is built, not with the settings.
"""

from __future__ import annotations

import argparse
import os
import ssl
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

from streams.contract.errors import KafkaIOError

__all__ = [
    "CONFIG_ENV",
    "ENV",
    "KafkaAuthError",
    "KafkaSecurity",
    "KafkaSecurityError",
    "add_kafka_config_option",
]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]

PROTOCOLS: Final = cast("tuple[SecurityProtocol, ...]", get_args(SecurityProtocol))
MECHANISMS: Final = cast("tuple[SaslMechanism, ...]", get_args(SaslMechanism))

CONFIG_ENV: Final = "KAFKA_CONFIG_FILE"
"""Where the config file is when no --kafka-config is given."""

ENV: Final = {
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "sasl_username": "KAFKA_SASL_USERNAME",
    "sasl_password": "KAFKA_SASL_PASSWORD",
    "sasl_password_file": "KAFKA_SASL_PASSWORD_FILE",
    "ssl_cafile": "KAFKA_SSL_CAFILE",
    "ssl_certfile": "KAFKA_SSL_CERTFILE",
    "ssl_keyfile": "KAFKA_SSL_KEYFILE",
    "ssl_key_password": "KAFKA_SSL_KEY_PASSWORD",
    "ssl_check_hostname": "KAFKA_SSL_CHECK_HOSTNAME",
}
"""Config file key → the environment variable that overrides it."""

_PATHS: Final = ("sasl_password_file", "ssl_cafile", "ssl_certfile", "ssl_keyfile")
_PASSWORD: Final = ("sasl_password", "sasl_password_file")
_SSL_KEYS: Final = ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_key_password")
_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})


class KafkaSecurityError(KafkaIOError, ValueError):
    """The Kafka security settings are wrong or unusable; `str()` is one line for the user."""


class KafkaAuthError(KafkaSecurityError):
    """The broker refused the credentials (or the TLS peer): a setting to fix, not a retry."""


@dataclass(frozen=True)
class _Setting:
    """A raw value and where it came from, to name the culprit in an error."""

    value: str | bool
    origin: str


@dataclass(frozen=True)
class KafkaSecurity:
    """Validated settings; the default is PLAINTEXT, which changes nothing in any client."""

    protocol: SecurityProtocol = "PLAINTEXT"
    mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    # Out of repr: settings objects end up in logs and tracebacks.
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    key_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True

    @property
    def sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
    ) -> KafkaSecurity:
        """The config file (`path`, else $KAFKA_CONFIG_FILE, else none), then the
        environment over it; raises KafkaSecurityError."""
        env = os.environ if env is None else env
        file = path if path is not None else env.get(CONFIG_ENV) or None
        settings = _read_file(Path(file)) if file is not None else {}
        return cls._from_settings(_overlay(settings, _from_env(env)))

    @classmethod
    def from_kafka_kwargs(cls, kwargs: Mapping[str, Any]) -> KafkaSecurity:
        """The settings that `kafka_kwargs()` gave `kwargs` (defaults for what is absent):
        for code that is handed a client's keyword arguments, such as ensure_topics."""
        protocol = str(kwargs.get("security_protocol") or "PLAINTEXT").upper()
        mechanism = str(kwargs.get("sasl_mechanism") or MECHANISMS[0]).upper()
        if protocol not in PROTOCOLS or mechanism not in MECHANISMS:
            raise KafkaSecurityError(f"unsupported Kafka security {protocol} / {mechanism}")
        return cls(
            protocol=protocol,  # narrowed to the Literal by the test above
            mechanism=mechanism,
            username=kwargs.get("sasl_plain_username"),
            password=kwargs.get("sasl_plain_password"),
            cafile=kwargs.get("ssl_cafile"),
            certfile=kwargs.get("ssl_certfile"),
            keyfile=kwargs.get("ssl_keyfile"),
            key_password=kwargs.get("ssl_password"),
            check_hostname=bool(kwargs.get("ssl_check_hostname", True)),
        )

    @classmethod
    def _from_settings(cls, s: Mapping[str, _Setting]) -> KafkaSecurity:
        protocol = cast(SecurityProtocol, _choice(s, "security_protocol", PROTOCOLS, "PLAINTEXT"))
        mechanism = cast(SaslMechanism, _choice(s, "sasl_mechanism", MECHANISMS, MECHANISMS[0]))
        security = cls(
            protocol=protocol,
            mechanism=mechanism,
            username=_text(s, "sasl_username"),
            password=_password(s),
            cafile=_readable(s, "ssl_cafile"),
            certfile=_readable(s, "ssl_certfile"),
            keyfile=_readable(s, "ssl_keyfile"),
            key_password=_text(s, "ssl_key_password"),
            check_hostname=_flag(s, "ssl_check_hostname", default=True),
        )
        security._check(s)
        return security

    def _check(self, s: Mapping[str, _Setting]) -> None:
        if self.sasl:
            if not self.username:
                raise KafkaSecurityError(
                    f"{self.protocol} needs a user name: set KAFKA_SASL_USERNAME"
                    " (or sasl_username in the Kafka config file)"
                )
            if not self.password:
                raise KafkaSecurityError(
                    f"{self.protocol} needs a password: set KAFKA_SASL_PASSWORD or"
                    " KAFKA_SASL_PASSWORD_FILE (or sasl_password / sasl_password_file in"
                    " the Kafka config file)"
                )
        else:
            # Credentials with a protocol that never sends them: a forgotten
            # KAFKA_SECURITY_PROTOCOL, which would otherwise connect unauthenticated.
            _refuse_unused(s, ("sasl_username", *_PASSWORD), self.protocol, "SASL_PLAINTEXT")
        if not self.tls:
            _refuse_unused(s, _SSL_KEYS, self.protocol, "SSL")
            return
        if self.keyfile and not self.certfile:
            raise KafkaSecurityError(f"{s['ssl_keyfile'].origin} is set without a certificate")
        # The PEM files are loaded now: a bad one is a start-up error, named as it was given.
        self._ssl_context(lambda key: s[key].origin if key in s else key)

    # -- what the clients take ---------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of an SSL or SASL_SSL connection (None otherwise), built as
        kafka-python builds its own from the same files: TLS 1.2 or later."""
        return self._ssl_context(lambda key: key) if self.tls else None

    def _ssl_context(self, name: Callable[[str], str]) -> ssl.SSLContext:
        try:
            ctx = ssl.create_default_context(cafile=self.cafile)
        except (ssl.SSLError, OSError) as err:
            raise KafkaSecurityError(
                f"{name('ssl_cafile')}: {self.cafile} holds no PEM CA certificate ({err})"
            ) from None
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = self.check_hostname
        if self.certfile:
            try:
                # A password of "" instead of None: OpenSSL would otherwise prompt on
                # the terminal for an encrypted key, and a service would hang there.
                ctx.load_cert_chain(self.certfile, self.keyfile, self.key_password or "")
            except (ssl.SSLError, OSError) as err:
                raise KafkaSecurityError(
                    f"{name('ssl_certfile')}: cannot load the client certificate"
                    f"{' and key' if self.keyfile else ''} from {self.certfile} ({err})"
                ) from None
        return ctx

    def kafka_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer/KafkaConsumer/KafkaAdminClient
        (empty for PLAINTEXT, so that a client is built exactly as before)."""
        if self.protocol == "PLAINTEXT":
            return {}
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.sasl:
            kwargs |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.tls:
            kwargs |= {
                "ssl_cafile": self.cafile,
                "ssl_certfile": self.certfile,
                "ssl_keyfile": self.keyfile,
                "ssl_password": self.key_password,
                "ssl_check_hostname": self.check_hostname,
            }
        return kwargs


# -- reading the settings ------------------------------------------------------------------


def _from_env(env: Mapping[str, str]) -> dict[str, _Setting]:
    # An empty variable counts as unset, as for the other DOSSIERWATCH_* variables:
    # compose files often pass `KAFKA_SASL_USERNAME: ${KAFKA_SASL_USERNAME:-}`.
    return {key: _Setting(env[var], var) for key, var in ENV.items() if env.get(var)}


def _read_file(path: Path) -> dict[str, _Setting]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise KafkaSecurityError(f"cannot read the Kafka config file {path}: {_why(err)}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise KafkaSecurityError(f"{path}: not valid TOML: {err}") from None
    settings: dict[str, _Setting] = {}
    for key, value in raw.items():
        origin = f"{path}: {key}"
        if key not in ENV:
            raise KafkaSecurityError(f"{origin}: unknown setting (known: {', '.join(ENV)})")
        wanted = bool if key == "ssl_check_hostname" else str
        if not isinstance(value, wanted):
            raise KafkaSecurityError(
                f"{origin}: must be a {'boolean' if wanted is bool else 'string'}"
            )
        if key in _PATHS and isinstance(value, str):
            value = str(path.parent / Path(value).expanduser())
        settings[key] = _Setting(value, origin)
    _one_password(settings)
    return settings


def _overlay(file: Mapping[str, _Setting], env: Mapping[str, _Setting]) -> dict[str, _Setting]:
    """The environment over the file; a password from the environment, inline or from a
    file, replaces the file's whichever way the file gave it."""
    _one_password(env)
    merged = dict(file)
    if any(key in env for key in _PASSWORD):
        for key in _PASSWORD:
            merged.pop(key, None)
    merged.update(env)
    return merged


def _one_password(s: Mapping[str, _Setting]) -> None:
    if all(key in s for key in _PASSWORD):
        a, b = (s[key].origin for key in _PASSWORD)
        raise KafkaSecurityError(f"give {a} or {b}, not both")


def _choice(s: Mapping[str, _Setting], key: str, allowed: tuple[str, ...], default: str) -> str:
    setting = s.get(key)
    if setting is None:
        return default
    value = str(setting.value).strip().upper()
    if value not in allowed:
        raise KafkaSecurityError(
            f"{setting.origin}: unknown value {setting.value!r} (one of {', '.join(allowed)})"
        )
    return value


def _text(s: Mapping[str, _Setting], key: str) -> str | None:
    setting = s.get(key)
    return str(setting.value) if setting is not None and setting.value != "" else None


def _flag(s: Mapping[str, _Setting], key: str, *, default: bool) -> bool:
    setting = s.get(key)
    if setting is None:
        return default
    if isinstance(setting.value, bool):
        return setting.value
    word = setting.value.strip().lower()
    if word not in _TRUE | _FALSE:
        raise KafkaSecurityError(f"{setting.origin}: expected true or false, got {setting.value!r}")
    return word in _TRUE


def _readable(s: Mapping[str, _Setting], key: str) -> str | None:
    """The path of `key`, checked now: an unreadable CA file is found at start-up, in one
    line, not as a TLS failure on every reconnection."""
    setting = s.get(key)
    if setting is None:
        return None
    path = str(setting.value)
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise KafkaSecurityError(f"{setting.origin}: cannot read {path}: {_why(err)}") from None
    return path


def _password(s: Mapping[str, _Setting]) -> str | None:
    if "sasl_password" in s:
        return _text(s, "sasl_password")
    path = _readable(s, "sasl_password_file")
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise KafkaSecurityError(f"{s['sasl_password_file'].origin}: {_why(err)}") from None
    # The first line, without its end: `echo secret > file` writes a newline, which is
    # not part of the password; spaces inside a password are kept.
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise KafkaSecurityError(f"{s['sasl_password_file'].origin}: {path} is empty")
    return password


def _refuse_unused(
    s: Mapping[str, _Setting], keys: tuple[str, ...], protocol: str, needed: str
) -> None:
    for key in keys:
        if key in s:
            raise KafkaSecurityError(
                f"{s[key].origin} is set but the security protocol is {protocol}, which"
                f" does not use it (set {ENV['security_protocol']} to {needed} or SASL_SSL)"
            )


def _why(err: BaseException) -> str:
    return err.strerror if isinstance(err, OSError) and err.strerror else str(err)


# -- command-line option -------------------------------------------------------------------


def add_kafka_config_option(parser: argparse._ActionsContainer) -> None:
    """`--kafka-config PATH`, the same on every command that takes --bootstrap."""
    parser.add_argument(
        "--kafka-config",
        metavar="PATH",
        help="Kafka security settings (TOML: security_protocol, sasl_username, ssl_cafile"
        f" ...; default ${CONFIG_ENV}); KAFKA_* variables override it",
    )
