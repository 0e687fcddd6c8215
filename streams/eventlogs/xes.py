"""Streaming XES reader: one `LogTrace` per `<trace>`, never the whole file in memory.

Built on `xml.parsers.expat` rather than ElementTree: expat gives line numbers for
error messages, and with no tree to build, the per-element cost is one small Python
callback.  The input is fed in fixed-size chunks, so memory holds the current trace
plus the few finished ones from the last chunk, whatever the file size.

Everything at log level (extensions, globals, classifiers, and the large nested
`meta_*` statistics blocks that OpenXES writes) is skipped: replays only need cases.
Nested attributes keep the outer value and drop their children, which in XES carry
metadata about the value rather than the value itself.
"""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import BinaryIO
from xml.parsers import expat

from streams.eventlogs.logs import LogFormatError, LogTrace, open_log

CHUNK_BYTES = 64 * 1024
"""Small enough that a chunk holds few finished traces, large enough that the
per-chunk overhead is noise next to the per-element callbacks."""

_CACHE_LIMIT = 10_000
"""Size at which a value cache is emptied and starts again.  Event values repeat a
small vocabulary (activities, units, day-precision dates) that refills it at once,
while unique ids and millisecond timestamps must not make it grow with the file."""

# Element depths: <log>=1, <trace>=2, trace attributes and <event>=3, event
# attributes=4.  Anything deeper is the child of a nested attribute and is ignored.
_LOG, _TRACE, _EVENT, _EVENT_ATTR = 1, 2, 3, 4

# Compound attributes have no scalar value to keep; they are skipped whole.
_COMPOUND = frozenset({"list", "container"})
_SCALAR = frozenset({"string", "date", "int", "float", "boolean", "id"})
_BOOLEANS = {"true": True, "false": False}


def read_xes(path: str) -> Iterator[LogTrace]:
    """Yield the traces of the XES file at `path` (plain or gzip) in file order.

    Attributes are typed (str, int, float, bool, timezone-aware datetime; `id` as
    str).  The case id is the trace's `concept:name`.  Raises `LogFormatError` on
    malformed XML, truncated or corrupt gzip, a bad typed value, a date without a
    UTC offset, or a trace without `concept:name`; the traces completed before the
    fault are yielded first, so a replay gets everything that was readable.
    """
    with open_log(path) as stream:
        yield from _XesParser(path).run(stream)


class _XesParser:
    """The state of one read.

    The expat callbacks are closures over local variables rather than methods: they
    run once per element (millions of times per log), and a closure cell is cheaper
    to reach than an attribute of `self`.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.finished: list[LogTrace] = []
        # No character-data handler: XES keeps every value in attributes, so the
        # whitespace between elements never costs a callback.
        self.parser = expat.ParserCreate()
        self.depth, self.open_trace_line = self._install_handlers()

    def run(self, stream: BinaryIO) -> Iterator[LogTrace]:
        parser = self.parser
        finished = self.finished
        at_end = False
        try:
            while chunk := self._read(stream):
                parser.Parse(chunk, False)
                if finished:
                    yield from finished
                    finished.clear()
            at_end = True
            parser.Parse(b"", True)
        except expat.ExpatError as err:
            yield from finished
            raise self._expat_error(err, at_end=at_end) from None
        except LogFormatError:
            yield from finished
            raise
        yield from finished

    def _read(self, stream: BinaryIO) -> bytes:
        try:
            return stream.read(CHUNK_BYTES)
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise LogFormatError(
                f"truncated or corrupt gzip data after this line ({err})",
                path=self.path,
                line=self.parser.CurrentLineNumber,
            ) from None

    def _expat_error(self, err: expat.ExpatError, *, at_end: bool) -> LogFormatError:
        message = expat.ErrorString(err.code) or "malformed XML"
        if at_end and self.open_trace_line():
            # Expat's "no element found" at the last line says nothing useful about
            # a file cut off mid-trace; where that trace began does.
            message = (
                f"unclosed <trace> opened at line {self.open_trace_line()}"
                f" (file ends early: {message})"
            )
        elif at_end and self.depth() > 0:
            message = f"unclosed <log> (file ends early: {message})"
        return LogFormatError(message, path=self.path, line=err.lineno, offset=err.offset + 1)

    def _install_handlers(self) -> tuple[Callable[[], int], Callable[[], int]]:
        """Set the expat callbacks; return probes of their state for error messages."""
        path = self.path
        parser = self.parser
        finished = self.finished
        date_cache: dict[str, datetime] = {}
        str_cache: dict[str, str] = {}
        intern = sys.intern
        fromisoformat = datetime.fromisoformat

        depth = 0
        trace_attrs: dict[str, object] | None = None
        trace_events: list[dict[str, object]] = []
        trace_line = 0
        event: dict[str, object] | None = None

        def fail(message: str) -> LogFormatError:
            return LogFormatError(message, path=path, line=parser.CurrentLineNumber)

        def typed(name: str, attrs: dict[str, str], cache: bool = True) -> tuple[str, object]:
            key = attrs.get("key")
            value = attrs.get("value")
            if key is None or value is None:
                missing = "key" if key is None else "value"
                raise fail(f"<{name}> attribute without {missing!r}")
            key = intern(key)
            if name == "string":
                # Sharing one object per repeated value keeps downstream state small.
                cached = str_cache.get(value)
                if cached is not None:
                    return key, cached
                if cache:
                    if len(str_cache) >= _CACHE_LIMIT:
                        str_cache.clear()
                    str_cache[value] = value
                return key, value
            if name == "date":
                when = date_cache.get(value)
                if when is not None:
                    return key, when
                try:
                    when = fromisoformat(value)
                except ValueError:
                    raise fail(f"bad date {value!r} for {key!r}") from None
                if when.tzinfo is None:
                    raise fail(f"date {value!r} for {key!r} has no UTC offset")
                if cache:
                    if len(date_cache) >= _CACHE_LIMIT:
                        date_cache.clear()
                    date_cache[value] = when
                return key, when
            try:
                if name == "int":
                    return key, int(value)
                if name == "float":
                    return key, float(value)
            except ValueError:
                raise fail(f"bad {name} {value!r} for {key!r}") from None
            if name == "boolean":
                flag = _BOOLEANS.get(value.strip().lower())
                if flag is None:
                    raise fail(f"bad boolean {value!r} for {key!r}")
                return key, flag
            # name == "id": a UUID by the standard, kept as text.
            return key, value

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal depth, trace_attrs, trace_events, trace_line, event
            depth += 1
            # Deeper elements are children of nested attributes, and elements under
            # a log-level element never see a trace or event: both fall through.
            if depth == _EVENT_ATTR:
                if event is None:
                    return
                if name in _SCALAR:
                    key, value = typed(name, attrs)
                    event[key] = value
                elif name not in _COMPOUND:
                    raise fail(f"unexpected <{name}> in <event>")
            elif depth == _EVENT:
                if trace_attrs is not None:
                    if name == "event":
                        event = {}
                    elif name in _SCALAR:
                        # Not cached: case ids and per-case dates are mostly unique.
                        key, value = typed(name, attrs, cache=False)
                        trace_attrs[key] = value
                    elif name not in _COMPOUND:
                        raise fail(f"unexpected <{name}> in <trace>")
            elif depth == _TRACE:
                if name == "trace":
                    trace_attrs = {}
                    trace_events = []
                    trace_line = parser.CurrentLineNumber
            elif depth == _LOG and name != "log":
                raise fail(f"root element is <{name}>, not <log>")

        def end(name: str) -> None:
            nonlocal depth, trace_attrs, event
            if depth == _EVENT and event is not None:
                trace_events.append(event)
                event = None
            elif depth == _TRACE and trace_attrs is not None:
                case_id = trace_attrs.get("concept:name")
                if case_id is None:
                    raise LogFormatError(
                        "<trace> without a concept:name attribute (the case id)",
                        path=path,
                        line=trace_line,
                    )
                finished.append(LogTrace(str(case_id), trace_attrs, trace_events, trace_line))
                trace_attrs = None
            depth -= 1

        def current_depth() -> int:
            return depth

        def open_trace_line() -> int:
            return trace_line if trace_attrs is not None else 0

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        return current_depth, open_trace_line
