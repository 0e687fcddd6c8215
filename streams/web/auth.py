"""Who may read what on the worker's and the demo's web: tokens, roles, the guard.

Every HTTP endpoint answers only to credentials, except /health (a supervisor's probe).
A token is a random string handed to a person or a program; the server keeps only its
SHA-256 (a token file, `dossierwatch token new` writes one).  Roles, following the
organisation chart (DESIGN principle 6; Decree 13/2023 on personal data, Decree 118/2025
on dossier information):

* `centre` — the operations centre: every unit, every dossier, the officers holding them;
* `unit:<code>` — a unit head: that unit's dossiers, board, unit page and alerts only (a
  dossier is the unit's while the unit holds it, or once it passed through the unit);
* `metrics` — Prometheus: /metrics only.

How a request proves it: `Authorization: Bearer <token>`; or, for a browser, the token in
the URL once (`/?token=…`), exchanged for an HttpOnly, SameSite=Strict cookie and a
redirect that drops it from the address bar; or, behind a reverse proxy that signs people
in (oauth2-proxy style, off by default), the proxy's user and groups headers, trusted only
from the proxy's own addresses.

Pure logic (no web framework) so that the worker (aiohttp, through Faust) and the demo
(WSGI) share it; `streams.web.guard` puts it in front of the worker's pages.
"""

from __future__ import annotations

import hashlib
import http.cookies
import secrets
import tomllib
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from streams.contract.errors import AccessError

CENTRE = "centre"
METRICS = "metrics"
UNIT_PREFIX = "unit:"
COOKIE = "dossierwatch_token"
OPEN_PATHS = frozenset({"/health", "/health/live"})
"""What answers without credentials: the readiness and liveness probes, which say nothing
of dossiers."""


class AuthConfigError(AccessError):
    """A token file or setting that cannot be used; the message names the file and key."""


def digest(token: str) -> str:
    """What the token file stores: tokens are random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random token that never begins with "-": one in 64 would, and `--token -x…` on a
    command line reads as an option, not the token."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


def valid_role(role: str) -> bool:
    return role in (CENTRE, METRICS) or (role.startswith(UNIT_PREFIX) and len(role) > 5)


@dataclass(frozen=True)
class Identity:
    """Who is asking, and with what credentials (to ask the other workers as them)."""

    name: str
    roles: frozenset[str]
    forward: Mapping[str, str] = field(default_factory=dict)
    """Headers that carry these credentials to another worker."""

    @property
    def is_centre(self) -> bool:
        return CENTRE in self.roles

    @property
    def units(self) -> frozenset[str]:
        return frozenset(r[len(UNIT_PREFIX) :] for r in self.roles if r.startswith(UNIT_PREFIX))

    def reads_dossiers(self) -> bool:
        return self.is_centre or bool(self.units)

    def scrapes(self) -> bool:
        return self.is_centre or METRICS in self.roles


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    sha256: str
    roles: list[str]


class _File(msgspec.Struct, forbid_unknown_fields=True):
    token: list[_Entry] = []


@dataclass(frozen=True)
class TrustedProxy:
    """Sign-in done by a reverse proxy (oauth2-proxy and the like): its headers name the
    user and their groups; only requests from its addresses are believed.  A group
    `dossierwatch:<role>` gives the role (e.g. `dossierwatch:unit:DEPT_LAND`)."""

    addresses: frozenset[str]
    user_header: str = "X-Forwarded-User"
    groups_header: str = "X-Forwarded-Groups"
    prefix: str = "dossierwatch:"


class Guard:
    """Tells who a request comes from (or nobody)."""

    def __init__(
        self,
        tokens: Mapping[str, tuple[str, frozenset[str]]],
        *,
        public_metrics: bool = False,
        proxy: TrustedProxy | None = None,
    ) -> None:
        self._tokens = dict(tokens)  # sha256 hex → (name, roles)
        self.public_metrics = public_metrics
        self.proxy = proxy

    @classmethod
    def from_file(cls, path: str | Path, **options: object) -> Guard:
        try:
            raw = tomllib.loads(Path(path).read_text("utf-8"))
            parsed = msgspec.convert(raw, _File)
        except OSError as err:
            raise AuthConfigError(f"{path}: cannot read the token file: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise AuthConfigError(f"{path}: not valid TOML: {err}") from None
        except msgspec.ValidationError as err:
            raise AuthConfigError(f"{path}: {err}") from None
        tokens: dict[str, tuple[str, frozenset[str]]] = {}
        for i, entry in enumerate(parsed.token):
            where = f"{path}: token[{i}] ({entry.name!r})"
            if len(entry.sha256) != 64 or any(c not in "0123456789abcdef" for c in entry.sha256):
                raise AuthConfigError(f"{where}: sha256 must be 64 lowercase hex digits")
            bad = [r for r in entry.roles if not valid_role(r)]
            if bad or not entry.roles:
                raise AuthConfigError(
                    f"{where}: roles must be centre, metrics or unit:<code>, got {entry.roles!r}"
                )
            tokens[entry.sha256] = (entry.name, frozenset(entry.roles))
        return cls(tokens, **options)  # type: ignore[arg-type]

    @classmethod
    def single(cls, token: str, **options: object) -> Guard:
        """One centre token, made at start-up when no token file is configured."""
        return cls({digest(token): ("start-up token", frozenset({CENTRE}))}, **options)  # type: ignore[arg-type]

    def by_token(self, token: str) -> Identity | None:
        found = self._tokens.get(digest(token)) if token else None
        if found is None:
            return None
        return Identity(found[0], found[1], {"Authorization": f"Bearer {token}"})

    def identify(
        self,
        header: Callable[[str], str | None],
        cookie: Callable[[str], str | None],
        remote: str | None,
    ) -> Identity | None:
        """The caller of one request, from its headers, cookies and address."""
        auth = header("Authorization") or ""
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return self.by_token(credentials.strip())
        token = cookie(COOKIE)
        if token:
            return self.by_token(token)
        return self._from_proxy(header, remote)

    def _from_proxy(
        self, header: Callable[[str], str | None], remote: str | None
    ) -> Identity | None:
        proxy = self.proxy
        if proxy is None or remote not in proxy.addresses:
            return None
        user = header(proxy.user_header)
        if not user:
            return None
        groups = [g.strip() for g in (header(proxy.groups_header) or "").split(",")]
        roles = frozenset(
            g[len(proxy.prefix) :]
            for g in groups
            if g.startswith(proxy.prefix) and valid_role(g[len(proxy.prefix) :])
        )
        if not roles:
            return None
        forward = {proxy.user_header: user, proxy.groups_header: ",".join(groups)}
        return Identity(user, roles, forward)


def allowed(identity: Identity | None, path: str, *, public_metrics: bool) -> int:
    """200 when `identity` may open `path`, else 401 (nobody) or 403 (not theirs).

    Deny by default: a page added later is the centre's until someone decides otherwise."""
    if path in OPEN_PATHS:
        return 200
    if path == "/metrics":
        if public_metrics:
            return 200
        return 401 if identity is None else 200 if identity.scrapes() else 403
    if identity is None:
        return 401
    # A dossier page (and acknowledging from it) and a unit page answer to the API's
    # readers; the view applies the finer rule (a unit head: their unit's dossiers and
    # alerts only, their own unit's page only).
    if path in ("/", "/wallboard") or path.startswith(
        ("/api/", "/static/", "/dossiers/", "/units/")
    ):
        return 200 if identity.reads_dossiers() else 403
    return 200 if identity.is_centre else 403


def write_token(path: str | Path, name: str, roles: Iterable[str]) -> str:
    """Add a new token to the file (created if missing); return the token itself, which
    is shown once and never stored."""
    roles = list(roles)
    bad = [r for r in roles if not valid_role(r)]
    if bad or not roles:
        raise AuthConfigError(f"roles must be centre, metrics or unit:<code>, got {roles!r}")
    path = Path(path)
    if path.exists():
        Guard.from_file(path)  # refuse to add to a file that is already broken
    token = new_token()
    entry = (
        f"\n[[token]]\nname = {_toml_string(name)}\nsha256 = {_toml_string(digest(token))}\n"
        f"roles = [{', '.join(_toml_string(r) for r in roles)}]\n"
    )
    with path.open("a", encoding="utf-8") as out:
        out.write(entry)
    path.chmod(0o600)
    return token


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- WSGI (the demo's server) ---------------------------------------------------------

SECURITY_HEADERS = (
    # No inline script or style anywhere: pages load theirs from /static.
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def identify_environ(guard: Guard, environ: Mapping[str, Any]) -> Identity | None:
    """Who a WSGI request comes from, by its headers, cookie and peer address."""
    jar = http.cookies.SimpleCookie(environ.get("HTTP_COOKIE", ""))

    def header(name: str) -> str | None:
        value: str | None = environ.get("HTTP_" + name.upper().replace("-", "_"))
        return value

    def cookie(name: str) -> str | None:
        return jar[name].value if name in jar else None

    return guard.identify(header, cookie, environ.get("REMOTE_ADDR"))


def wsgi_guard(inner: WsgiApp, guard: Guard, *, home: str = "/metrics") -> WsgiApp:
    """The same guard in front of a WSGI application (the demo's /metrics)."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def reply(status: str, headers: list[tuple[str, str]], body: bytes = b"") -> list[bytes]:
            start_response(status, [*headers, *SECURITY_HEADERS])
            return [body]

        path = environ.get("PATH_INFO") or "/"
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if "token" in query:
            token = query["token"][0]
            if guard.by_token(token) is None:
                return reply("401 Unauthorized", [("Content-Type", "text/plain")], b"invalid\n")
            set_cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            where = home if path == "/" else path
            return reply("303 See Other", [("Location", where), ("Set-Cookie", set_cookie)])
        identity = identify_environ(guard, environ)
        status = allowed(identity, path, public_metrics=guard.public_metrics)
        if status == 401:
            return reply(
                "401 Unauthorized",
                [
                    ("WWW-Authenticate", 'Bearer realm="dossierwatch"'),
                    ("Content-Type", "text/plain"),
                ],
                b"sign in: a bearer token, or the link with ?token= printed at start-up\n",
            )
        if status == 403:
            return reply("403 Forbidden", [("Content-Type", "text/plain")], b"not your role\n")

        def secured(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            return start_response(status, [*headers, *SECURITY_HEADERS], *rest)

        return inner(environ, secured)

    return guarded
