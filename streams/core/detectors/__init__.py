"""Detectors: each a small set of pure functions over (dossier, event or now, policy).

A detector that waits for time exposes `next_at(d, policy)` (its next instant, exact)
and `fire(ctx, d, now)` (fire what falls due strictly before `now`).  Event checks are
plain functions called by the state machine at the transition they watch.
"""
