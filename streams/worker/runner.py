"""The Faust worker that runs the app, with our logging kept in place."""

from __future__ import annotations

import logging

import faust

from streams.infra.logs import adopt_root_handlers


class DossierWatchWorker(faust.Worker):
    """`faust.Worker` whose log handlers keep our format and rate limit.

    mode's Worker sets logging up itself when it starts (`_setup_logging`: it clears the
    root handlers and installs its own), after `configure_logging` ran; this hook runs
    right after that, on the root logger it has just configured."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        adopt_root_handlers()
