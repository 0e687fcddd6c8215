"""`dossierwatch bridge`, `zalo-adapter`, `sms-adapter` and `alertmanager-config`: the
alerting commands.

The parser is built at every start, so only the standard library (and alerts.amconfig,
itself standard library only) is imported at the top: Kafka, aiohttp and the rest load
when a command runs.  `python -m streams.cli.alerts COMMAND …` runs the same commands
without the console script.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alerts.amconfig import ENDPOINTS, SOURCE
from streams.cli.common import add_catalog_option, positive, positive_count
from streams.infra.kafka_security import add_kafka_config_option

LOG_LEVELS = ("debug", "info", "warning", "error")


def register(sub: Any) -> None:
    _register_bridge(sub)
    _register_zalo(sub)
    _register_sms(sub)
    _register_amconfig(sub)


def _register_bridge(sub: Any) -> None:
    env = os.environ.get
    p = sub.add_parser("bridge", help="forward alerts from Kafka to Alertmanager")
    p.add_argument(
        "--bootstrap",
        default=env("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        help="Kafka host:port (default 127.0.0.1:9092, env KAFKA_BOOTSTRAP)",
    )
    add_kafka_config_option(p)
    p.add_argument("--topic", default="dossier-alerts", help="alerts topic (dossier-alerts)")
    p.add_argument(
        "--group", default="dossierwatch-bridge", help="consumer group (dossierwatch-bridge)"
    )
    p.add_argument(
        "--alertmanager",
        default=env("ALERTMANAGER_URL", "http://127.0.0.1:9093"),
        metavar="URL",
        help="Alertmanager base URL (default http://127.0.0.1:9093, env ALERTMANAGER_URL)",
    )
    p.add_argument(
        "--link-base",
        default=env("DOSSIERWATCH_LINK_BASE", "http://127.0.0.1:6066"),
        metavar="URL",
        help="alerts link to <URL>/dossiers/<id> (default http://127.0.0.1:6066,"
        " env DOSSIERWATCH_LINK_BASE)",
    )
    p.add_argument(
        "--resend-interval",
        type=positive,
        default=60.0,
        metavar="SECONDS",
        help="re-send firing alerts this often (default 60); unrefreshed, they expire"
        " after 4 intervals",
    )
    add_catalog_option(p)
    p.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    p.set_defaults(func=cmd_bridge)


def cmd_bridge(args: argparse.Namespace) -> int:
    from alerts.bridge import BridgeSettings, serve
    from alerts.labels import Names
    from streams.cli.common import CommandError, catalog
    from streams.infra.kafka_probe import check
    from streams.infra.kafka_security import KafkaAuthError, KafkaSecurity, KafkaSecurityError
    from streams.infra.logs import configure_logging

    found = catalog(args.catalog)  # checked before Kafka: a bad file is the first thing said
    names = Names(found.unit_names(), found.procedure_names()) if found else Names()
    try:
        security = KafkaSecurity.load(args.kafka_config)
        # Refused credentials stop the bridge at once: its consumers would only time out.
        check(security, args.bootstrap)
    except KafkaAuthError as err:
        raise CommandError(str(err), 1) from None
    except KafkaSecurityError as err:
        raise CommandError(str(err)) from None
    configure_logging(args.log_level)
    return serve(
        BridgeSettings(
            bootstrap=args.bootstrap,
            topic=args.topic,
            group=args.group,
            alertmanager=args.alertmanager,
            link_base=args.link_base,
            resend_interval=args.resend_interval,
            client_config=security.kafka_kwargs(),
            names=names,
        )
    )


def _register_zalo(sub: Any) -> None:
    env = os.environ.get
    p = sub.add_parser(
        "zalo-adapter",
        help="send Alertmanager notifications as Zalo OA messages",
        description="Secrets come from the environment only: ZALO_APP_SECRET, and on first"
        " start ZALO_OA_ACCESS_TOKEN / ZALO_OA_REFRESH_TOKEN (then the token file holds the"
        " rotating tokens).  Without them the adapter logs what it would send.  Alertmanager"
        " must send `Authorization: Bearer <token>` (http_config.authorization."
        "credentials_file), the token read from --secret-file; other requests get 401.",
    )
    _add_listener_options(p, 9095, "ZALO_RECIPIENTS")
    p.add_argument(
        "--token-file",
        type=Path,
        default=Path(env("ZALO_TOKEN_FILE", "zalo-tokens.json")),
        metavar="JSON",
        help='the OA\'s {"access_token", "refresh_token"}, rewritten on every refresh'
        " (default ./zalo-tokens.json, env ZALO_TOKEN_FILE)",
    )
    p.add_argument("--app-id", default=env("ZALO_APP_ID", ""), help="Zalo app id (ZALO_APP_ID)")
    p.add_argument(
        "--api-base",
        default="https://openapi.zalo.me",
        metavar="URL",
        help="Zalo OA API (default https://openapi.zalo.me)",
    )
    p.add_argument(
        "--oauth-base",
        default="https://oauth.zaloapp.com",
        metavar="URL",
        help="Zalo OAuth, for token refresh (default https://oauth.zaloapp.com)",
    )
    p.add_argument(
        "--backoff",
        type=positive,
        default=2.0,
        metavar="SECONDS",
        help="first wait after a rate-limit answer, doubling up to 60 s (default 2)",
    )
    p.add_argument("--max-attempts", type=int, default=6, help="tries per message (default 6)")
    p.add_argument(
        "--zns-template",
        type=Path,
        default=_env_path("ZALO_ZNS_TEMPLATE"),
        metavar="TOML",
        help="the ZNS template (template_id and [params]) for people a consultation message"
        " cannot reach; without it they are only logged (env ZALO_ZNS_TEMPLATE)",
    )
    p.add_argument(
        "--zns-base",
        default="https://business.openapi.zalo.me",
        metavar="URL",
        help="ZNS API (default https://business.openapi.zalo.me)",
    )
    add_state_file_option(p, "ZALO_STATE_FILE")
    _add_secret_options(p)
    p.add_argument(
        "--recipient-rate",
        type=positive_count,
        default=10,
        metavar="N",
        help="messages to one person per window at most; more are held and sent as one"
        " digest when the window has room (default 10)",
    )
    p.add_argument(
        "--recipient-window",
        type=positive,
        default=60.0,
        metavar="SECONDS",
        help="the window of --recipient-rate (default 60)",
    )
    p.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    p.set_defaults(func=cmd_zalo)


def cmd_zalo(args: argparse.Namespace) -> int:
    from alerts.zalo import AdapterSettings, serve
    from streams.cli.common import CommandError
    from streams.contract.errors import AlertDeliveryError
    from streams.infra.logs import configure_logging

    env = os.environ.get
    secret_file = _webhook_secret(args)
    from alerts.zns import load_template

    _check_file(load_template, args.zns_template)
    configure_logging(args.log_level)
    settings = AdapterSettings(
        recipients=args.recipients,
        token_file=args.token_file,
        app_id=args.app_id,
        secret_key=env("ZALO_APP_SECRET", ""),
        api_base=args.api_base,
        oauth_base=args.oauth_base,
        backoff=args.backoff,
        max_attempts=args.max_attempts,
        webhook_secret_file=secret_file,
        insecure_no_auth=args.insecure_no_auth,
        recipient_rate=args.recipient_rate,
        recipient_window=args.recipient_window,
        zns_template=args.zns_template,
        zns_base=args.zns_base,
        state_file=args.state_file,
    )
    try:
        serve(
            settings,
            args.host,
            args.port,
            access=env("ZALO_OA_ACCESS_TOKEN", ""),
            refresh=env("ZALO_OA_REFRESH_TOKEN", ""),
        )
    except (OSError, KeyError, ValueError, AlertDeliveryError) as err:
        raise CommandError(f"cannot start: {err}", 1) from None
    return 0


def _register_sms(sub: Any) -> None:
    p = sub.add_parser(
        "sms-adapter",
        help="send Alertmanager notifications as SMS through the centre's gateway",
        description='Sends an SMS to the people whose channels include "sms" in the'
        " recipients file, through the HTTP request the gateway file describes (secrets in it"
        " as ${ENV_VAR}).  Without a gateway file the adapter logs what it would send."
        "  Alertmanager must send `Authorization: Bearer <token>`, the token read from"
        " --secret-file; other requests get 401.",
    )
    _add_listener_options(p, 9096, "SMS_RECIPIENTS")
    p.add_argument(
        "--gateway",
        type=Path,
        default=_env_path("SMS_GATEWAY_CONFIG"),
        metavar="TOML",
        help="the gateway's request, text and retry settings (env SMS_GATEWAY_CONFIG);"
        ' see README.md, "SMS and ZNS"',
    )
    add_state_file_option(p, "SMS_STATE_FILE")
    _add_secret_options(p)
    p.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    p.set_defaults(func=cmd_sms)


def cmd_sms(args: argparse.Namespace) -> int:
    from alerts.sms import SmsSettings, serve
    from alerts.sms_gateway import load_gateway
    from streams.cli.common import CommandError
    from streams.contract.errors import AlertDeliveryError
    from streams.infra.logs import configure_logging

    secret_file = _webhook_secret(args)
    _check_file(load_gateway, args.gateway)
    configure_logging(args.log_level)
    settings = SmsSettings(
        recipients=args.recipients,
        gateway_file=args.gateway,
        webhook_secret_file=secret_file,
        insecure_no_auth=args.insecure_no_auth,
        state_file=args.state_file,
    )
    try:
        serve(settings, args.host, args.port)
    except (OSError, ValueError, AlertDeliveryError) as err:
        raise CommandError(f"cannot start: {err}", 1) from None
    return 0


def _add_listener_options(p: argparse.ArgumentParser, port: int, recipients_env: str) -> None:
    p.add_argument("--port", type=int, default=port, help=f"port to listen on (default {port})")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--recipients",
        type=Path,
        default=Path(os.environ.get(recipients_env, str(SOURCE / "zalo-recipients.toml"))),
        metavar="TOML",
        help="who gets what: [role] unit = [Zalo user ids or people]; [people.<name>] phone"
        " and channels (the Zalo and SMS adapters read the same file); re-read when it"
        f" changes (default deploy/alertmanager/zalo-recipients.toml, env {recipients_env})",
    )


def _add_secret_options(p: argparse.ArgumentParser) -> None:
    # The token itself never goes on the command line (ps, shell history): only its file.
    p.add_argument(
        "--secret-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="file holding the token Alertmanager sends as `Authorization: Bearer <token>`"
        " (the file of its credentials_file; env DOSSIERWATCH_WEBHOOK_SECRET_FILE); required",
    )
    p.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="accept notifications without a token: for local experiments only, anyone who"
        " reaches the port can then message staff",
    )


def _check_file(load: Callable[[Path], object], path: Path | None) -> None:
    """Read a settings file before logging starts: a broken one is the one line said."""
    from streams.cli.common import CommandError
    from streams.contract.errors import AlertDeliveryError

    if path is None:
        return
    try:
        load(path)
    except AlertDeliveryError as err:
        raise CommandError(str(err)) from None


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "")
    return Path(value) if value else None


def add_state_file_option(p: argparse.ArgumentParser, env_name: str) -> None:
    p.add_argument(
        "--state-file",
        type=Path,
        default=_env_path(env_name),
        metavar="PATH",
        help="remember the messages sent here, so that after a restart a retried"
        f" notification still reaches nobody twice (env {env_name}; default: in memory)",
    )


def _webhook_secret(args: argparse.Namespace) -> Path | None:
    """--secret-file, else DOSSIERWATCH_WEBHOOK_SECRET_FILE; refused when missing (unless
    --insecure-no-auth) and when given together with --insecure-no-auth."""
    from streams.cli.common import CommandError

    from_env = os.environ.get("DOSSIERWATCH_WEBHOOK_SECRET_FILE", "")
    secret_file: Path | None = args.secret_file or (Path(from_env) if from_env else None)
    if secret_file is None and not args.insecure_no_auth:
        raise CommandError(
            "no webhook secret: pass --secret-file PATH (or set DOSSIERWATCH_WEBHOOK_SECRET_FILE);"
            " --insecure-no-auth is for local experiments only"
        )
    if secret_file is not None and args.insecure_no_auth:
        raise CommandError("--insecure-no-auth with a webhook secret file: choose one")
    return secret_file


def _register_amconfig(sub: Any) -> None:
    known = "; ".join(f"{k} ({v})" for k, v in ENDPOINTS.items())
    p = sub.add_parser(
        "alertmanager-config",
        help="write deploy/alertmanager with this environment's endpoints",
        description=f"Endpoints in the source: {known}.",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument(
        "--set",
        action="append",
        type=_pair,
        default=[],
        metavar="OLD=NEW",
        help="replace a string of the source (repeatable), e.g. mailrelay:25=10.0.0.5:25",
    )
    p.add_argument("--source", type=Path, default=SOURCE, metavar="DIR", help="source directory")
    p.add_argument("--no-check", action="store_true", help="skip amtool check-config")
    p.set_defaults(func=cmd_amconfig)


def cmd_amconfig(args: argparse.Namespace) -> int:
    from alerts.amconfig import check, write
    from streams.cli.common import CommandError

    try:
        config = write(args.out, dict(args.set), args.source)
    except (ValueError, OSError) as err:
        raise CommandError(str(err)) from None
    if not args.no_check:
        try:
            check(config)
        except FileNotFoundError:
            raise CommandError("amtool not found (or pass --no-check)", 1) from None
        except subprocess.CalledProcessError as err:
            raise CommandError(f"amtool check-config failed:\n{err.stdout}{err.stderr}") from None
    print(config)
    return 0


def _pair(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old:
        raise argparse.ArgumentTypeError(f"expected OLD=NEW, got {text!r}")
    return old, new


def main(argv: Sequence[str] | None = None) -> int:
    from streams.cli.common import CommandError

    parser = argparse.ArgumentParser(prog="python -m streams.cli.alerts")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(sub)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except CommandError as err:
        sys.stderr.write(f"{args.command}: {err}\n")
        return err.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
