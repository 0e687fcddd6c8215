"""Known vulnerabilities in the locked dependencies: `make audit`, run by `make test`.

Audits every pin of a hashed lock file (requirements-dev.lock holds the runtime pins too)
with the first vulnerability service that answers:

1. pip-audit against PyPI's per-release JSON (pypi.org/pypi/NAME/VERSION/json), the
   database PyPI itself shows (OSV's PYSEC and GitHub advisories);
2. pip-audit against OSV's API (api.osv.dev, or AUDIT_OSV_URL: an OSV-compatible mirror,
   for instance one served from a dated copy of the advisory database);
3. PyPI's per-project JSON (pypi.org/pypi/NAME/json), for a registry mirror that serves
   only that: its `vulnerabilities` are those of the project's *latest* release, so it
   audits the pins that are the latest release and names the others as not audited.

Exit status: 1 on any known vulnerability (but those named with --ignore-vuln ID, for an
advisory that was looked at and accepted); 1 with one line saying so when no service answers
at all (an offline machine does not pass silently); pins that could not be audited are named
on one line and fail the run only with --strict.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PYPI = "https://pypi.org/pypi"
OSV = "https://api.osv.dev/v1/query"
TIMEOUT_S = 20.0

# `name==version \` at the start of a line: pip-compile's pins (extras stripped, no markers).
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def read_pins(lock: Path) -> dict[str, str]:
    """The lock's pins, by normalised name (PEP 503)."""
    pins = {}
    for name, version in _PIN.findall(lock.read_text()):
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


@dataclass
class Outcome:
    """What the fallback (per-project JSON) found."""

    findings: list[str] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)
    audited: int = 0


def _get_json(url: str, body: bytes | None = None) -> object:
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        return json.load(resp)


def _answers(url: str, body: bytes | None = None) -> bool:
    try:
        _get_json(url, body)
    except (OSError, ValueError):  # URLError/HTTPError (404 included), timeouts, bad JSON
        return False
    return True


def judge_project(
    name: str,
    pinned: str,
    project: dict[str, object],
    out: Outcome,
    ignore: frozenset[str] = frozenset(),
) -> None:
    """Fold one project's per-project JSON into `out` (pure: the unit tests feed it)."""
    info = project.get("info")
    latest = info.get("version") if isinstance(info, dict) else None
    if latest != pinned:
        out.unaudited.append(f"{name} {pinned} (latest {latest})")
        return
    out.audited += 1
    vulns = project.get("vulnerabilities")
    seen: set[str] = set()  # PyPI lists one advisory under each of its ids (PYSEC, GHSA)
    for vuln in vulns if isinstance(vulns, list) else []:
        if not isinstance(vuln, dict) or vuln.get("withdrawn") or vuln.get("id") in seen:
            continue
        ids = {str(vuln.get("id")), *(vuln.get("aliases") or [])}
        seen |= ids
        if ids & ignore:
            continue
        aliases = ", ".join(vuln.get("aliases") or [])
        fixed = ", ".join(vuln.get("fixed_in") or []) or "none"
        out.findings.append(f"{name} {pinned}: {vuln.get('id')} ({aliases}); fixed in: {fixed}")


def audit_latest_releases(pins: dict[str, str], ignore: frozenset[str]) -> Outcome | None:
    """The per-project fallback; None when not one project's JSON could be fetched."""
    out = Outcome()

    def fetch(name: str) -> dict[str, object] | None:
        try:
            data = _get_json(f"{PYPI}/{name}/json")
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = dict(zip(pins, pool.map(fetch, pins), strict=True))
    if all(p is None for p in projects.values()):
        return None
    for name, project in sorted(projects.items()):
        if project is None:
            out.unaudited.append(f"{name} {pins[name]} (no answer)")
        else:
            judge_project(name, pins[name], project, out, ignore)
    return out


def pip_audit(lock: Path, service: str, osv_url: str | None, ignore: frozenset[str]) -> int:
    cmd = [sys.executable, "-m", "pip_audit", "-r", str(lock), "--require-hashes"]
    cmd += ["--disable-pip", "--strict", "--progress-spinner", "off", "-s", service]
    if osv_url:
        cmd += ["--osv-url", osv_url]
    for vuln_id in sorted(ignore):
        cmd += ["--ignore-vuln", vuln_id]
    print(f"audit: pip-audit -s {service} on {lock}", flush=True)
    return subprocess.run(cmd, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path, nargs="?", default=Path("requirements-dev.lock"))
    parser.add_argument("--strict", action="store_true", help="fail on any pin not audited")
    parser.add_argument("--osv-url", default=None, help="an OSV-compatible /v1/query URL")
    parser.add_argument(
        "--ignore-vuln", action="append", default=[], metavar="ID", help="an accepted advisory"
    )
    args = parser.parse_args(argv)
    ignore = frozenset(args.ignore_vuln)

    pins = read_pins(args.lock)
    if not pins:
        print(f"audit FAILED: no pins in {args.lock}", file=sys.stderr)
        return 1
    name, version = next(iter(pins.items()))

    if _answers(f"{PYPI}/{name}/{version}/json"):
        return pip_audit(args.lock, "pypi", None, ignore)
    osv_url = args.osv_url or OSV
    query = {"package": {"name": name, "ecosystem": "PyPI"}, "version": version}
    if _answers(osv_url, json.dumps(query).encode()):
        return pip_audit(args.lock, "osv", args.osv_url, ignore)

    out = audit_latest_releases(pins, ignore)
    if out is None:
        print(
            f"audit FAILED: no vulnerability service answered ({PYPI}/NAME/VERSION/json, "
            f"{osv_url}, {PYPI}/NAME/json); {len(pins)} pins in {args.lock} not audited",
            file=sys.stderr,
        )
        return 1
    print(
        f"audit: {len(pins)} pins in {args.lock}; per-release JSON and OSV unreachable, "
        f"so PyPI per-project JSON (latest releases only): {out.audited} audited, "
        f"{len(out.findings)} known vulnerabilities"
    )
    for line in out.findings:
        print(f"  VULNERABLE {line}")
    if out.unaudited:
        print(f"audit: {len(out.unaudited)} pins NOT audited: {'; '.join(out.unaudited)}")
    if out.findings:
        return 1
    return 1 if args.strict and out.unaudited else 0


if __name__ == "__main__":
    sys.exit(main())
