"""Who may send what: a token file of hashed tokens, each bound to one CloudEvents source.

The same style as the web's token file (streams/web/auth.py, which producers may not
import): a token is a random string handed to one handling system, the file keeps only
its SHA-256.  An entry either may send the events of one `source`, or may read /metrics:

    [[token]]
    name = "Cổng dịch vụ công tỉnh"
    sha256 = "9f86d0…"            # 64 lowercase hex digits
    source = "dvc-portal"         # the CloudEvents source its events must carry

    [[token]]
    name = "prometheus"
    sha256 = "2c26b4…"
    metrics = true

`dossierwatch ingest token` writes entries and prints each token once.
"""

from __future__ import annotations

import hashlib
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

import msgspec

from streams.contract.errors import AccessError


class TokenFileError(AccessError):
    """A token file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Sender:
    """The holder of one token."""

    name: str
    source: str | None
    """The CloudEvents source it may send; None: a metrics-only token."""
    metrics: bool


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    sha256: str
    source: str | None = None
    metrics: bool = False


class _File(msgspec.Struct, forbid_unknown_fields=True):
    token: list[_Entry] = []


def digest(token: str) -> str:
    """What the file stores: tokens are random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


class SourceTokens:
    """Tokens by digest; `sender(header)` tells who an `Authorization` header is."""

    def __init__(self, senders: dict[str, Sender]) -> None:
        self._by_digest = dict(senders)

    def __len__(self) -> int:
        return len(self._by_digest)

    @classmethod
    def from_file(cls, path: str | Path) -> SourceTokens:
        try:
            parsed = msgspec.convert(tomllib.loads(Path(path).read_text("utf-8")), _File)
        except OSError as err:
            raise TokenFileError(f"{path}: cannot read the token file: {err.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise TokenFileError(f"{path}: not valid TOML: {err}") from None
        except msgspec.ValidationError as err:
            raise TokenFileError(f"{path}: {err}") from None
        senders: dict[str, Sender] = {}
        for i, entry in enumerate(parsed.token):
            where = f"{path}: token[{i}] ({entry.name!r})"
            if len(entry.sha256) != 64 or any(c not in "0123456789abcdef" for c in entry.sha256):
                raise TokenFileError(f"{where}: sha256 must be 64 lowercase hex digits")
            if entry.source is not None and not 1 <= len(entry.source) <= 200:
                raise TokenFileError(f"{where}: source must be 1 to 200 characters")
            if entry.source is None and not entry.metrics:
                raise TokenFileError(f'{where}: give source = "…" or metrics = true')
            senders[entry.sha256] = Sender(entry.name, entry.source, entry.metrics)
        return cls(senders)

    def sender(self, authorization: str | None) -> Sender | None:
        """The holder of a `Bearer <token>` header, or None (no header, another scheme, an
        unknown token)."""
        scheme, _, credentials = (authorization or "").partition(" ")
        token = credentials.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        return self._by_digest.get(digest(token))


def write_token(path: str | Path, name: str, *, source: str | None, metrics: bool = False) -> str:
    """Add a token to the file (created if missing, mode 0600); return the token, which
    is shown once and never stored."""
    if source is None and not metrics:
        raise TokenFileError("a token needs a source to send as, or metrics access")
    if source is not None and not 1 <= len(source) <= 200:
        raise TokenFileError("source must be 1 to 200 characters")
    path = Path(path)
    if path.exists():
        SourceTokens.from_file(path)  # never add to a file that is already broken
    # Never beginning with "-" (one in 64 would): `--token -x…` reads as an option.
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    lines = [
        "",
        "[[token]]",
        f"name = {_toml_string(name)}",
        f"sha256 = {_toml_string(digest(token))}",
    ]
    if source is not None:
        lines.append(f"source = {_toml_string(source)}")
    if metrics:
        lines.append("metrics = true")
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return token


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'
