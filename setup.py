"""The build, pure Python unless asked otherwise; pyproject.toml holds the metadata.

With DOSSIERWATCH_COMPILE=1 the detection core (the modules every event passes through)
is compiled with mypyc into C extensions beside the same sources:

    DOSSIERWATCH_COMPILE=1 .venv/bin/pip wheel --no-deps --no-build-isolation -w build/wheels .
    make compiled         # that wheel, unpacked into build/compiled (PYTHONPATH=build/compiled)

The pure-Python modules stay the reference: tests/real_logs/test_compiled_core.py
builds the compiled wheel and checks it gives the same alerts and report, byte for byte,
on the public logs and the simulator.  Left pure: the modules whose classes are
msgspec Structs (streams/core/dossier.py, streams/core/clock.py), which msgspec must read
as ordinary Python classes, and everything outside the per-event path."""

from __future__ import annotations

import os

from setuptools import setup

COMPILED = [
    "streams/core/boundary.py",
    "streams/core/calendar.py",
    "streams/core/context.py",
    "streams/core/engine.py",
    "streams/core/layouts.py",
    "streams/core/machine.py",
    "streams/core/policy.py",
    "streams/core/store.py",
    "streams/core/timers.py",
    "streams/core/detectors/__init__.py",
    "streams/core/detectors/citizen.py",
    "streams/core/detectors/consultation.py",
    "streams/core/detectors/deadline.py",
    "streams/core/detectors/one_stop.py",
    "streams/core/detectors/referrals.py",
    "streams/core/detectors/routing.py",
    "streams/core/detectors/stall.py",
]


def extensions() -> list[object]:
    if os.environ.get("DOSSIERWATCH_COMPILE") != "1":
        return []
    from mypyc.build import mypycify  # mypy is a build dependency only when compiling

    return list(mypycify(COMPILED, opt_level="3"))


setup(ext_modules=extensions())
