"""Tokens, roles and the guard's decisions, without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.core.dossier import Dossier
from streams.web import views_model as vm
from streams.web.auth import (
    AuthConfigError,
    Guard,
    Identity,
    TrustedProxy,
    allowed,
    digest,
    new_token,
    write_token,
    wsgi_guard,
)


def test_no_token_begins_with_a_dash() -> None:
    """Tokens never begin with "-" (a 1-in-64 draw would), which a command line would read
    as an option: `--token -x…`.  2,000 draws find a regression with near certainty."""
    assert not any(new_token().startswith("-") for _ in range(2000))


def nobody(_: str) -> None:
    return None


def headers(**values: str) -> Any:
    table = {k.replace("_", "-").lower(): v for k, v in values.items()}
    return lambda name: table.get(name.lower())


def test_a_written_token_is_kept_hashed_and_gives_its_roles(tmp_path: Path) -> None:
    """The file holds the token's hash only; the token itself identifies its holder."""
    path = tmp_path / "tokens.toml"
    token = write_token(path, "head of A", ["unit:A"])
    assert token not in path.read_text() and digest(token) in path.read_text()
    who = Guard.from_file(path).identify(headers(Authorization=f"Bearer {token}"), nobody, None)
    assert who is not None and who.name == "head of A" and who.units == {"A"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[token]]\nname = "x"\nsha256 = "abc"\nroles = ["centre"]\n', "sha256"),
        (f'[[token]]\nname = "x"\nsha256 = "{"a" * 64}"\nroles = ["boss"]\n', "roles"),
        (f'[[token]]\nname = "x"\nsha256 = "{"a" * 64}"\nroles = []\n', "roles"),
        ('[[token]]\nname = "x"\nroles = ["centre"]\n', "sha256"),
        ("[[token]\n", "not valid TOML"),
        ('[[tokens]]\nname = "x"\n', "tokens"),
    ],
)
def test_a_bad_token_file_is_one_line_naming_the_file(tmp_path: Path, text: str, says: str) -> None:
    """A token file that cannot be used says which file and what, on one line."""
    path = tmp_path / "tokens.toml"
    path.write_text(text)
    with pytest.raises(AuthConfigError) as err:
        Guard.from_file(path)
    assert str(path) in str(err.value) and says in str(err.value) and "\n" not in str(err.value)


def test_unknown_tokens_cookies_and_schemes_identify_nobody() -> None:
    """A wrong token, an empty one, or another scheme is nobody."""
    guard = Guard.single("right")
    assert guard.identify(headers(Authorization="Bearer wrong"), nobody, None) is None
    assert guard.identify(headers(Authorization="Bearer "), nobody, None) is None
    assert guard.identify(headers(Authorization="Basic right"), nobody, None) is None
    cookie = {"dossierwatch_token": "right"}.get
    assert guard.identify(nobody, cookie, None) is not None


def test_a_proxys_headers_count_only_from_the_proxy() -> None:
    """Trusted-header sign-in: the groups give roles, and only the proxy's address counts."""
    guard = Guard({}, proxy=TrustedProxy(frozenset({"10.0.0.5"})))
    h = headers(X_Forwarded_User="lan", X_Forwarded_Groups="staff,dossierwatch:unit:DEPT_LAND")
    who = guard.identify(h, nobody, "10.0.0.5")
    assert who is not None and who.units == {"DEPT_LAND"} and not who.is_centre
    assert guard.identify(h, nobody, "10.0.0.6") is None
    assert guard.identify(headers(X_Forwarded_User="lan"), nobody, "10.0.0.5") is None


@pytest.mark.parametrize(
    ("roles", "path", "status"),
    [
        (None, "/health", 200),
        (None, "/api/board", 401),
        (None, "/metrics", 401),
        ({"metrics"}, "/metrics", 200),
        ({"metrics"}, "/api/board", 403),
        ({"unit:A"}, "/api/board", 200),
        ({"unit:A"}, "/wallboard", 200),
        ({"unit:A"}, "/metrics", 403),
        ({"unit:A"}, "/table/dossiers", 403),
        ({"centre"}, "/table/dossiers", 200),
        ({"centre"}, "/metrics", 200),
    ],
)
def test_paths_need_the_right_role(roles: set[str] | None, path: str, status: int) -> None:
    """Deny by default: dossier pages need a reader, /metrics a scraper, anything else
    (added later, Faust's own) the centre."""
    who = None if roles is None else Identity("x", frozenset(roles))
    assert allowed(who, path, public_metrics=False) == status


def test_public_metrics_opens_metrics_only() -> None:
    """--public-metrics opens /metrics to anyone and nothing else."""
    assert allowed(None, "/metrics", public_metrics=True) == 200
    assert allowed(None, "/api/board", public_metrics=True) == 401


def test_a_unit_head_reads_dossiers_that_are_or_were_in_the_unit() -> None:
    """Readable: held by the unit now, or passed through it; officers of other units'
    steps, and the current one if another unit holds the dossier, are left out."""
    d = Dossier(id="HS", unit="B", officer="O-B", trail=("A", 1, "B", 2))
    assert vm.readable(d, frozenset({"A"})) and vm.readable(d, None)
    assert not vm.readable(d, frozenset({"C"}))
    view = {
        "unit": "B",
        "officer": "O-B",
        "chain": [
            {"unit": "A", "officers": [{"officer": "O-A"}]},
            {"unit": "B", "officers": [{"officer": "O-B"}]},
        ],
    }
    mine = vm.for_reader(view, frozenset({"A"}))
    assert mine["officer"] is None and [s["officers"] for s in mine["chain"]] == [
        [{"officer": "O-A"}],
        [],
    ]
    assert vm.for_reader(view, None) == view


def call(app: Any, path: str, **environ: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    path, _, query = path.partition("?")
    body = b"".join(app({"PATH_INFO": path, "QUERY_STRING": query, **environ}, start))
    return seen["status"], seen["headers"], body


def test_the_demos_guard_signs_in_and_refuses() -> None:
    """The WSGI guard: 401 anonymous, 403 to a reader on /metrics, the link sets an
    HttpOnly cookie, and pages carry the security headers."""

    def inner(environ: Any, start: Any) -> list[bytes]:
        start("200 OK", [("Content-Type", "text/plain")])
        return [b"metrics"]

    guard = Guard.single("t")
    app = wsgi_guard(inner, guard)
    assert call(app, "/metrics")[0].startswith("401")
    status, head, _ = call(app, "/?token=t")
    assert status.startswith("303") and head["Location"] == "/metrics"
    assert "HttpOnly" in head["Set-Cookie"] and "SameSite=Strict" in head["Set-Cookie"]
    status, head, body = call(app, "/metrics", HTTP_COOKIE="dossierwatch_token=t")
    assert status.startswith("200") and body == b"metrics"
    assert "frame-ancestors 'none'" in head["Content-Security-Policy"]
    reader = wsgi_guard(inner, Guard({digest("u"): ("u", frozenset({"unit:A"}))}))
    assert call(reader, "/metrics", HTTP_AUTHORIZATION="Bearer u")[0].startswith("403")
