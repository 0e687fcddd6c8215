"""Soak: a worker's resident memory under a steady live load through the real broker.

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 2000] [--plot soak.png]

A producer sends `--rate` events/s to one worker with the RocksDB store and the default
memory budget (--rocksdb-* flags, docs/operations.md), each event dated when sent, as a
live source does: first the receipts of `--population` dossiers, then, round and round,
each one's assignment to its officer again (a handling system's periodic update).  The
open dossiers, so the engine's deadline index, stay at the population once received,
while every event rewrites a dossier's state in RocksDB (memtables filled and flushed,
files compacted): what grows after the warm-up is what the stores keep, which the
budget bounds.  (A load of ever new dossiers would measure the index instead, which
grows by design: bench/memory_per_dossier.py.)  The worker's RSS (VmRSS of
/proc/<pid>/status) is sampled every `--every` seconds.  The baseline is the mean RSS over
the minute after the first `--warmup` minutes; the figure is the growth from there to the
mean over the last minute (the first and last single samples are printed too: RSS swings
by about ±10 MiB as memtables fill and flush), and the least-squares slope over the
last half.  Target (issue #17): growth ≤ 10 % after the first 5 minutes
over 30 minutes at 2,000 events/s.  `--plot PATH` draws RSS against time as a PNG
(Pillow: axes, ticks, labels, the warm-up marked).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchlib import emit, environment, table
from kafka import KafkaProducer
from kafka_bench import (
    BOOTSTRAP,
    delete_topics,
    ensure_broker,
    fresh_topics,
    live_event,
    metrics_text,
    start_worker,
    stop,
    web_port,
)
from PIL import Image, ImageDraw

TARGET_GROWTH = 0.10


WINDOW = 60.0
"""Seconds averaged at each end of the measured span."""


def window_mean(samples: list[tuple[float, int]], start: float, end: float) -> float:
    """The mean value of the samples taken in [start, end] (seconds into the load)."""
    inside = [v for t, v in samples if start <= t <= end]
    if not inside:
        raise ValueError(f"no sample between {start:.0f} s and {end:.0f} s")
    return sum(inside) / len(inside)


def fitted_slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of value against time (per second): steadier than two samples."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    spread = sum((t - mt) ** 2 for t, _ in samples)
    return sum((t - mt) * (v - mv) for t, v in samples) / spread if spread else float("nan")


def vm_rss(pid: int) -> int:
    """Resident set size of `pid` in bytes (VmRSS of /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_gauges(port: int) -> tuple[int, int]:
    """From the worker's own /metrics: what RocksDB holds (block cache + memtables, bytes)
    and the events waiting to be read (consumer lag, all partitions); -1 each when the
    scrape fails.  A lag that grows would put the growth in fetched records, not a leak."""
    text = metrics_text(port, timeout=10)
    if text is None:
        return -1, -1

    def total(name: str) -> int:
        return int(
            sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith(name + "{")
            )
        )

    return total("dossierwatch_rocksdb_memory_bytes"), total("dossierwatch_consumer_lag_messages")


def story_event(n: int, population: int) -> tuple[bytes, bytes]:
    """The n-th event of the load: a receipt for each of the first `population`, then the
    assignment of dossier n % population to its officer again."""
    dossier = f"SK-{n % population:07d}"
    if n < population:
        kind = "dossier.received"
        data: dict[str, object] = {"procedure": "P", "unit": "A", "time_limit": "15wd"}
    else:
        kind = "dossier.assigned"
        data = {"unit": "A", "officer": f"O-{n % population % 40}"}
    body = live_event(dossier, f"{dossier}-{n}", kind, data, source="soak")
    return dossier.encode(), json.dumps(body).encode()


def load(topic: str, rate: float, population: int, until: float, sent: list[int]) -> None:
    """`rate` events/s until the monotonic instant `until`, paced per 10 ms slice."""
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5, acks=1)
    n, started = 0, time.monotonic()
    while (now := time.monotonic()) < until:
        due = int((now - started) * rate)
        while n < due:
            key, value = story_event(n, population)
            producer.send(topic, key=key, value=value)
            n += 1
        sent[0] = n
        time.sleep(0.01)
    producer.flush(30)
    producer.close()


def plot(
    samples: list[tuple[float, int]], held: list[int], warmup_s: float, path: Path, title: str
) -> None:
    """RSS (MiB) against minutes, and RocksDB's own count under it, as a PNG: axes,
    ticks, labels, the warm-up shaded."""
    width, height, left, right, top, bottom = 960, 540, 80, 30, 50, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    xs = [t / 60 for t, _ in samples]
    ys = [r / 2**20 for _, r in samples]
    x_max = max(xs[-1], 1e-9)
    y_max = max(ys) * 1.1
    y_step = _step(y_max)

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + x / x_max * (width - left - right),
            height - bottom - y / y_max * (height - top - bottom),
        )

    draw.rectangle([at(0, y_max), at(min(warmup_s / 60, x_max), 0)], fill=(238, 238, 238))
    draw.line([at(0, 0), at(x_max, 0)], fill="black", width=2)
    draw.line([at(0, 0), at(0, y_max)], fill="black", width=2)
    x_step = _step(x_max)
    tick = 0.0
    while tick <= x_max + 1e-9:
        x, y = at(tick, 0)
        draw.line([(x, y), (x, y + 6)], fill="black")
        draw.text((x - 8, y + 10), f"{tick:g}", fill="black")
        tick += x_step
    tick = 0.0
    while tick <= y_max:
        x, y = at(0, tick)
        draw.line([(x - 6, y), (x, y)], fill="black")
        draw.line([(x + 1, y), (width - right, y)], fill=(225, 225, 225))
        draw.text((x - 50, y - 6), f"{tick:g}", fill="black")
        tick += y_step
    draw.line([at(x, y) for x, y in zip(xs, ys, strict=True)], fill=(30, 90, 200), width=2)
    rocks = [(x, h / 2**20) for x, h in zip(xs, held, strict=True) if h >= 0]
    if len(rocks) > 1:
        draw.line([at(x, y) for x, y in rocks], fill=(220, 110, 20), width=2)
        draw.text(
            (width - 330, top - 25), "blue: RSS   orange: RocksDB cache + memtables", fill="black"
        )
    draw.text((left, 15), title, fill="black")
    draw.text((width // 2 - 30, height - 25), "minutes", fill="black")
    draw.text((10, top - 25), "RSS, MiB", fill="black")
    draw.text(at(0.2, y_max * 0.97), "warm-up", fill=(120, 120, 120))
    image.save(path)


def _step(span: float) -> float:
    """A tick step of 1, 2 or 5 × 10^k giving 5 to 10 ticks over `span`."""
    step = 10 ** int(f"{span / 10:e}".split("e")[1])
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 10:
            return float(step * factor)
    return float(step * 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="events per second")
    parser.add_argument("--population", type=int, default=100_000, help="open dossiers")
    parser.add_argument("--warmup", type=float, default=5.0, help="minutes before the baseline")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--plot", type=Path, help="write the RSS chart here (PNG)")
    parser.add_argument(
        "--worker-args",
        default="",
        help='more worker flags, e.g. "--rocksdb-memtables 32" (a smaller budget fills sooner)',
    )
    args = parser.parse_args()
    if args.warmup >= args.minutes:
        parser.error("--warmup must be shorter than --minutes")
    ensure_broker()
    workdir = Path(tempfile.mkdtemp(prefix="dw-soak-"))
    prefix, topics = fresh_topics("soak")
    group = f"bench-soak-{uuid.uuid4().hex[:6]}"
    worker = start_worker(
        prefix,
        group,
        workdir / "worker.log",
        *args.worker_args.split(),
        store="rocksdb://",
        data_dir=workdir / "data",
    )
    samples: list[tuple[float, int]] = []
    held: list[int] = []  # RocksDB's own count at each sample
    lag: list[int] = []  # events waiting to be read, at each sample
    sent = [0]
    try:
        time.sleep(15)  # joined and assigned before the load starts
        port = web_port(worker)
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        producer = threading.Thread(
            target=load, args=(topics["events"], args.rate, args.population, end, sent)
        )
        producer.start()
        while (now := time.monotonic()) < end:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited {worker.returncode}: {workdir}")
            samples.append((now - t0, vm_rss(worker.pid)))
            rocks, waiting = worker_gauges(port)
            held.append(rocks)
            lag.append(waiting)
            time.sleep(args.every)
        producer.join(60)
    finally:
        stop(worker)
        delete_topics(topics.values())
    warm_from, finish = args.warmup * 60, samples[-1][0]
    # RSS swings by ±10 MiB as memtables fill and flush: one sample at each end would
    # measure where in that swing they fell.  Each end is the mean over a minute.
    times = [t for t, _ in samples]

    def ends(values: list[int]) -> tuple[float, float]:
        """Means of `values` over the baseline minute and over the last minute."""
        timed = list(zip(times, values, strict=True))
        return (
            window_mean(timed, warm_from, warm_from + WINDOW),
            window_mean(timed, finish - WINDOW, finish),
        )

    base, last = ends([r for _, r in samples])
    base_held, last_held = ends(held)
    base_lag, last_lag = ends(lag)
    growth = last / base - 1
    warm = [(t, r) for t, r in samples if t >= warm_from]
    one_sample_growth = warm[-1][1] / warm[0][1] - 1
    slope = fitted_slope([(t, r) for t, r in warm if t >= (warm_from + finish) / 2]) * 60 / 2**20
    mib = 2**20
    print(
        f"one worker (RocksDB, {args.worker_args or 'default budget'}),"
        f" {args.population:,} open dossiers,"
        f" {args.rate:,.0f} events/s for"
        f" {args.minutes:g} min ({sent[0]:,} sent), RSS every {args.every:g} s; logs: {workdir}"
    )
    print(
        table(
            ["MiB", "RSS", "RocksDB (cache + memtables)", "RSS - RocksDB"],
            [
                [
                    "at start of load",
                    samples[0][1] / mib,
                    held[0] / mib,
                    (samples[0][1] - held[0]) / mib,
                ],
                [
                    f"minute after {args.warmup:g} min (baseline)",
                    base / mib,
                    base_held / mib,
                    (base - base_held) / mib,
                ],
                ["last minute", last / mib, last_held / mib, (last - last_held) / mib],
                ["peak", max(r for _, r in samples) / mib, max(held) / mib, float("nan")],
                ["fitted slope, last half, MiB/min", slope, float("nan"), float("nan")],
            ],
        )
    )
    print(
        f"events waiting to be read (consumer lag): {base_lag:,.0f} in the baseline minute,"
        f" {last_lag:,.0f} in the last, at most {max(lag):,}"
    )
    print(
        f"growth after the warm-up {growth:+.1%}, minute means (first sample to last:"
        f" {one_sample_growth:+.1%}); target ≤ {TARGET_GROWTH:.0%}:"
        f" {'MET' if growth <= TARGET_GROWTH else 'NOT MET'}"
    )
    if args.plot:
        plot(
            samples,
            held,
            args.warmup * 60,
            args.plot,
            f"worker RSS, {args.rate:,.0f} events/s through Kafka, growth after"
            f" {args.warmup:g} min {growth:+.1%}",
        )
        print(f"plot: {args.plot}")
    emit(
        {
            "bench": "soak",
            "minutes": args.minutes,
            "rate": args.rate,
            "population": args.population,
            "sent": sent[0],
            "rss_start_mib": round(samples[0][1] / mib, 1),
            "rss_baseline_mib": round(base / mib, 1),
            "rss_end_mib": round(last / mib, 1),
            "rocksdb_baseline_mib": round(base_held / mib, 1),
            "rocksdb_end_mib": round(last_held / mib, 1),
            "lag_baseline": round(base_lag),
            "lag_end": round(last_lag),
            "growth": round(growth, 4),
            "one_sample_growth": round(one_sample_growth, 4),
            "slope_mib_per_min": round(slope, 2),
            "met": growth <= TARGET_GROWTH,
            **environment(),
        }
    )


if __name__ == "__main__":
    main()
