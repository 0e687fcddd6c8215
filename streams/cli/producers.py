"""`dossierwatch simulate`, `publish` and `kafka`: put events on the `dossier-events` topic.

(Over 400 lines: three commands sharing their Kafka options and pacing; argument
parsing only, the work is in producers/.)

The producers themselves (simulator, Kafka producer, pacing) are in producers/; this
module is their command line.  Kafka clients load only when a command talks to Kafka.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, TypeVar, cast

from streams.cli.common import non_negative, positive, positive_count
from streams.infra.kafka_security import add_kafka_config_option

if TYPE_CHECKING:
    from producers.kafka_producer import EventProducer
    from streams.contract.events import DossierEvent
    from streams.eventlogs.mapping import Mapping

__all__ = ["KAFKACTL", "register"]

KAFKACTL = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafkactl.sh"
"""The local broker's control script; only a source checkout has it."""

DEFAULT_START: Final = "2025-07-07"
"""A Monday under Decree 118/2025: a fixed default keeps `simulate` output reproducible."""
DEFAULT_BOOTSTRAP: Final = "127.0.0.1:9092"
DEFAULT_TOPIC: Final = "dossier-events"
ICT: Final = timezone(timedelta(hours=7))
KAFKA_ACTIONS: Final = ("up", "down", "status", "topics", "reset", "install")

E = TypeVar("E")


def register(sub: Any) -> None:
    """Add the producer-side subcommands to `dossierwatch`'s subparsers."""
    _register_simulate(sub)
    _register_publish(sub)
    _register_kafka(sub)


# -- argument types --------------------------------------------------------------------


def _instant(text: str) -> datetime:
    """An ISO date (midnight) or datetime; without an offset it is Vietnamese local time."""
    try:
        value = (
            datetime.fromisoformat(text)
            if "T" in text or " " in text.strip()
            else datetime.combine(date.fromisoformat(text), datetime.min.time())
        )
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or datetime: {text!r} (e.g. 2025-07-07 or 2025-07-07T08:00+07:00)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=ICT)


def _start_or_now(text: str) -> tuple[datetime, bool]:
    """(the instant, whether it is the present)."""
    if text == "now":
        return _now(), True
    return _instant(text), False


def _now() -> datetime:
    return datetime.now(ICT).replace(microsecond=0)


def _add_kafka_options(g: argparse._ActionsContainer, *, default_bootstrap: str | None) -> None:
    g.add_argument(
        "--bootstrap",
        default=default_bootstrap,
        metavar="HOST:PORT",
        help=f"Kafka bootstrap server (default: {default_bootstrap})"
        if default_bootstrap
        else "send to the Kafka broker at this address instead of writing JSON Lines",
    )
    g.add_argument(
        "--topic", default=DEFAULT_TOPIC, help=f"topic to send to (default: {DEFAULT_TOPIC})"
    )
    g.add_argument(
        "--timeout",
        type=positive,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the broker to answer at start (default: 10)",
    )
    add_kafka_config_option(g)


def _add_rate_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rate", type=positive, metavar="N", help="at most N events per second (default: no cap)"
    )


# -- shared machinery ------------------------------------------------------------------


class _Counted(Iterator[E]):
    """Counts what passes through, so the count survives an interruption."""

    def __init__(self, items: Iterable[E]) -> None:
        self._items = iter(items)
        self.count = 0

    def __next__(self) -> E:
        item = next(self._items)
        self.count += 1
        return item


def _pace_dicts(
    events: Iterable[dict[str, object]], compression: float | None, rate: float | None
) -> Iterable[dict[str, object]]:
    from producers.pacing import paced

    if compression is None and rate is None:
        return events
    return paced(events, compression=compression or math.inf, rate_limit=rate)


def _pace_events(
    events: Iterable[DossierEvent], compression: float | None, rate: float | None
) -> Iterator[DossierEvent]:
    # `paced` reads the time from a mapping; a one-key wrapper spares re-encoding.
    wrapped: Iterator[dict[str, object]] = ({"time": e.time, "event": e} for e in events)
    for item in _pace_dicts(wrapped, compression, rate):
        yield cast("DossierEvent", item["event"])


def _connect(args: argparse.Namespace, client_id: str) -> EventProducer:
    from producers.kafka_producer import EventProducer, ProducerError
    from streams.cli.common import CommandError
    from streams.infra.kafka_security import KafkaSecurity, KafkaSecurityError

    try:
        security = KafkaSecurity.load(args.kafka_config)
    except KafkaSecurityError as err:
        raise CommandError(str(err)) from None
    try:
        return EventProducer(
            args.bootstrap,
            args.topic,
            client_id=client_id,
            timeout=args.timeout,
            client_config=security.kafka_kwargs(),
        )
    except ProducerError as err:
        raise CommandError(str(err), 1) from None


def _open_output(path: str) -> BinaryIO:
    from streams.cli.common import CommandError

    if path == "-":
        return sys.stdout.buffer
    try:
        return cast(BinaryIO, open(path, "wb"))
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror}", 1) from None


# -- simulate --------------------------------------------------------------------------


def _register_simulate(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="generate a synthetic province's dossier events (JSONL or to Kafka)",
        description="Generate the events of a synthetic province's dossiers, in time order:"
        " prompt, slow, ping-pong, shirking and rule-breaking stories mixed. The same"
        " options give the same events, byte for byte.",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    p.add_argument(
        "--dossiers", type=positive_count, metavar="N", help="stop after N dossiers have arrived"
    )
    p.add_argument(
        "--start",
        type=_start_or_now,
        metavar="WHEN",
        help="first arrival: 'now', or an ISO date or datetime, local time unless an offset"
        " is given (default: now when sending to Kafka — a live worker judges on stream"
        f" time, so a believable board starts at the present — else {DEFAULT_START}, a"
        " Monday, so that a file is the same on every run)",
    )
    p.add_argument(
        "--until", type=_instant, metavar="WHEN", help="no arrivals from this instant on"
    )
    p.add_argument(
        "--per-day",
        type=positive,
        default=200.0,
        metavar="N",
        help="arrivals per working day (default: 200)",
    )
    p.add_argument(
        "--compression",
        type=positive,
        metavar="X",
        help="event time runs X times faster than the wall clock (e.g. 3600: an hour a"
        " second; default: as fast as possible). Without --dossiers or --until the"
        " stream is endless and needs this option; stop it with Ctrl-C",
    )
    _add_rate_option(p)
    out = p.add_argument_group("destination: JSON Lines (the default) or Kafka")
    out.add_argument(
        "--output",
        metavar="PATH",
        help="write JSON Lines here ('-': stdout; the default without --bootstrap)",
    )
    _add_kafka_options(out, default_bootstrap=None)
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from producers.jsonl import write_jsonl
    from producers.kafka_producer import ProducerError
    from producers.simulator import simulate
    from streams.cli.common import CommandError

    if args.output is not None and args.bootstrap is not None:
        raise CommandError("give --output or --bootstrap, not both")
    if args.start is None:
        live = args.bootstrap is not None
        args.start = (_now(), True) if live else (_instant(DEFAULT_START), False)
    args.start, now = args.start
    # A run anchored to the present has dossier ids of its own (a restart sends new ones).
    run = args.start.isoformat() if now else None
    if args.dossiers is None and args.until is None and args.compression is None:
        raise CommandError(
            "an endless simulation needs --compression; or bound it with --dossiers or --until"
        )
    if args.until is not None and args.until <= args.start:
        raise CommandError("--until must be after --start")
    sim = simulate(
        run=run,
        seed=args.seed,
        start=args.start,
        dossiers=args.dossiers,
        until=args.until,
        per_working_day=args.per_day,
    )
    events = _Counted(_pace_dicts(sim, args.compression, args.rate))
    began = time.monotonic()
    interrupted = False
    if args.bootstrap is not None:
        target = f"topic {args.topic} at {args.bootstrap}"
        producer = _connect(args, "dossierwatch-simulate")
        try:
            with producer:
                try:
                    for event in events:
                        producer.send(event)
                except KeyboardInterrupt:
                    interrupted = True  # what was queued is still delivered on exit
        except ProducerError as err:
            raise CommandError(f"{err} ({producer.sent:,} events sent)", 1) from None
    else:
        path = args.output or "-"
        target = "stdout" if path == "-" else path
        out = _open_output(path)
        try:
            # Flush per line when paced: a reader at the other end of a pipe sees each
            # event when it is due, not when a buffer fills.
            write_jsonl(events, out, flush=args.compression is not None or args.rate is not None)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if out is sys.stdout.buffer:
                out.flush()
            else:
                out.close()
    seconds = time.monotonic() - began
    sys.stderr.write(
        f"simulate: {events.count:,} events, {sim.started:,}"
        f" dossier{'' if sim.started == 1 else 's'}, {seconds:.1f} s"
        f" -> {target}{' (interrupted)' if interrupted else ''}\n"
    )
    return 130 if interrupted else 0


# -- publish ---------------------------------------------------------------------------


def _register_publish(sub: Any) -> None:
    from streams.cli.common import add_mapping_options
    from streams.cli.replay import add_format_options

    p: argparse.ArgumentParser = sub.add_parser(
        "publish",
        help="send an event log (JSONL, XES, CSV) to Kafka, at full or paced speed",
        description="Send the events of a log file to Kafka, keyed by dossier. JSONL is"
        " sent in file order (it is a time-ordered stream) and is checked whole before"
        " anything is sent. XES and CSV logs are grouped by case, so their events are"
        " mapped, held in memory and sorted by time first (about 600 MB per million"
        " events). A bad file stops with its path:line; events"
        " already sent stay sent, and the message says how many.",
    )
    p.add_argument(
        "file",
        help="JSONL (CloudEvents or a source's payloads), XES or CSV event log, plain or gzip",
    )
    add_format_options(p)
    p.add_argument(
        "--speed",
        type=non_negative,
        default=0.0,
        metavar="X",
        help="event time runs X times faster than the wall clock (3600: an hour a second;"
        " 0, the default: as fast as possible)",
    )
    _add_rate_option(p)
    p.add_argument(
        "--no-check",
        action="store_true",
        help="JSONL: start sending at once instead of checking the whole file first"
        " (a bad line then stops publishing part-way)",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="a source's payloads (--format dvcqg…): skip and count the lines that cannot"
        " be mapped instead of stopping at the first",
    )
    _add_kafka_options(p.add_argument_group("Kafka"), default_bootstrap=DEFAULT_BOOTSTRAP)
    add_mapping_options(p)
    p.set_defaults(func=cmd_publish)


def _check_jsonl(path: str) -> int:
    from streams.eventlogs.jsonl import read_jsonl

    return sum(1 for _ in read_jsonl(path))


def _log_events(
    path: str, fmt: str, mapping: Mapping, zone: tzinfo | None = None
) -> list[DossierEvent]:
    """Every event of an XES/CSV log, in time order (a dossier's own order kept)."""
    from streams.eventlogs.csvlog import read_csv_log
    from streams.eventlogs.mapping import trace_events, with_unit_attr
    from streams.eventlogs.xes import read_xes

    named = (mapping.unit_attr,) if mapping.unit_attr_named else ()
    traces = read_xes(path) if fmt == "xes" else read_csv_log(path, timezone=zone, required=named)
    if mapping.unit_attr_named:  # the default attribute may be absent; a named one not
        traces = with_unit_attr(traces, mapping, path)
    events = [e for trace in traces for e in trace_events(trace, mapping, path)]
    # Stable: events at the same instant keep the order their trace gave them.
    events.sort(key=lambda e: e.time.timestamp())
    return events


class _Skipped:
    """Lines of a source's payloads skipped with --skip-invalid."""

    def __init__(self) -> None:
        self.lines = 0


def _adapted_events(path: str, name: str, skip: _Skipped | None) -> Iterator[DossierEvent]:
    """A source's payloads as events in line order; a bad line stops them with its
    path:line (LogFormatError), or is counted in `skip` and left out."""
    from streams.eventlogs.adapters import InvalidPayload, adapted_lines
    from streams.eventlogs.logs import LogFormatError

    for number, got in adapted_lines(path, name):
        if isinstance(got, InvalidPayload):
            if skip is None:
                raise LogFormatError(str(got), path=path, line=number)
            skip.lines += 1
            continue
        yield from got


def cmd_publish(args: argparse.Namespace) -> int:
    from producers.kafka_producer import DeliveryError, ProducerError
    from streams.cli.common import CommandError, mapping_from
    from streams.contract.events import InvalidEvent
    from streams.eventlogs.adapters import ADAPTERS
    from streams.eventlogs.formats import guess_format
    from streams.eventlogs.jsonl import read_jsonl
    from streams.eventlogs.logs import LogFormatError

    path = args.file
    # Everything that can be wrong with the file is found before connecting, so a
    # bad file never leaves half of itself on the topic.
    try:
        if not os.path.isfile(path):
            raise CommandError(f"{path}: no such file")
        fmt = args.format or guess_format(path)
        skipped = _Skipped() if args.skip_invalid else None
        if fmt == "jsonl":
            if not args.no_check:
                _check_jsonl(path)
            source: Iterable[DossierEvent] = read_jsonl(path)
        elif fmt in ADAPTERS:
            if not args.no_check:
                sum(1 for _ in _adapted_events(path, fmt, _Skipped() if skipped else None))
            source = _adapted_events(path, fmt, skipped)
        else:
            source = _log_events(path, fmt, mapping_from(args), args.timezone)
    except LogFormatError as err:
        raise CommandError(f"{err} (nothing sent)") from None
    except OSError as err:
        raise CommandError(f"{path}: {err.strerror or err} (nothing sent)") from None

    events = _Counted(_pace_events(source, args.speed or None, args.rate))
    producer = _connect(args, "dossierwatch-publish")
    began = time.monotonic()
    interrupted = False
    try:
        with producer:
            try:
                for event in events:
                    producer.send(event)
            except KeyboardInterrupt:
                interrupted = True
            except (LogFormatError, InvalidEvent, OSError) as err:
                # Reached only when the file changed after the check, or with --no-check.
                where = err if isinstance(err, LogFormatError) else f"{path}: {err}"
                try:
                    producer.flush()
                except DeliveryError as lost:
                    where = f"{where}; {lost}"
                raise CommandError(
                    f"{where} ({producer.sent:,} events sent before the error)"
                ) from None
    except DeliveryError as err:
        raise CommandError(f"{err} ({producer.sent:,} events sent)", 1) from None
    except ProducerError as err:
        raise CommandError(f"{err} ({producer.sent:,} events sent)", 1) from None
    seconds = time.monotonic() - began
    skipped_note = (
        f", {skipped.lines:,} invalid line{'' if skipped.lines == 1 else 's'} skipped"
        if skipped is not None
        else ""
    )
    sys.stderr.write(
        f"publish: {producer.sent:,} events sent to topic {args.topic} at {args.bootstrap}"
        f" in {seconds:.1f} s{skipped_note}{' (interrupted)' if interrupted else ''}\n"
    )
    return 130 if interrupted else 0


# -- kafka -----------------------------------------------------------------------------


def _register_kafka(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "kafka",
        help="run the local Kafka broker (deploy/kafka/kafkactl.sh)",
        description="Start, stop or inspect the local single-node Kafka broker that"
        " development and tests use (127.0.0.1:9092). Needs a source checkout.",
    )
    p.add_argument("action", choices=KAFKA_ACTIONS, help="what kafkactl.sh should do")
    p.set_defaults(func=cmd_kafka)


def cmd_kafka(args: argparse.Namespace) -> int:
    from streams.cli.common import CommandError

    script = KAFKACTL
    if not script.is_file():
        raise CommandError(
            f"{script} not found: the kafka command needs a source checkout of DossierWatch"
            " (an installed package does not ship the broker scripts)",
            1,
        )
    try:
        return subprocess.run(["bash", str(script), args.action], check=False).returncode
    except OSError as err:
        raise CommandError(f"cannot run {script}: {err.strerror or err}", 1) from None
