# The DossierWatch image: one image, one console script, one subcommand per container
# (`worker`, `simulate`, `bridge`, `zalo-adapter`, `publish`, `replay`, `report`, ...).
#
#   docker build -t dossierwatch .
#   docker run --rm dossierwatch replay --help
#
# Two stages: the first installs the package and its locked dependencies
# (requirements.lock: every one pinned with its hashes) into a virtualenv; the second
# copies only that virtualenv onto a clean base, so no build tools, caches or sources end
# up in the image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/dossierwatch
ENV PATH=/opt/dossierwatch/bin:$PATH

WORKDIR /src

# Dependencies first, from the lock alone: this layer is rebuilt only when the pins
# change, not on every source edit.  pip refuses anything whose hash differs.
COPY requirements.lock pyproject.toml ./
RUN pip install --require-hashes -r requirements.lock

# Then the package itself (streams, producers, alerts; policy files as package data).
COPY streams ./streams
COPY producers ./producers
COPY alerts ./alerts
RUN pip install --no-deps --no-build-isolation . \
    && pip check \
    && dossierwatch --help > /dev/null


FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="dossierwatch" \
      org.opencontainers.image.description="Real-time watchdog for administrative procedures: deadlines, stalls, ping-pong referrals and rule breaches"

ENV PATH=/opt/dossierwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DOSSIERWATCH_DATA_DIR=/data

# DejaVu Sans for `dossierwatch report --format pdf`: Vietnamese needs a Unicode TrueType
# font, and the slim base has none.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# A fixed non-root uid/gid, so volume ownership is predictable across rebuilds.
# /data (the worker's RocksDB tables) is created here and owned by that user: a named
# volume mounted on it starts with the same ownership.
RUN groupadd --system --gid 10001 dossierwatch \
    && useradd --system --uid 10001 --gid dossierwatch --home-dir /home/dossierwatch \
        --create-home --shell /usr/sbin/nologin dossierwatch \
    && mkdir -p /data \
    && chown dossierwatch:dossierwatch /data

COPY --from=build /opt/dossierwatch /opt/dossierwatch

USER dossierwatch
WORKDIR /home/dossierwatch
VOLUME ["/data"]

# The worker's /metrics and /health (JSON); other subcommands serve nothing here.
EXPOSE 6066

# Health without curl: a container that sets DOSSIERWATCH_HEALTH_URL (the worker:
# http://127.0.0.1:6066/health) is healthy while that URL answers 200 with
# {"status": "ok"}; one that serves no web page (simulate, bridge) leaves it unset and
# is reported healthy while it runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 \
    CMD ["python", "-c", "import json, os, sys, urllib.request as u; url = os.environ.get('DOSSIERWATCH_HEALTH_URL'); sys.exit(0 if not url or json.load(u.urlopen(url, timeout=4)).get('status') == 'ok' else 1)"]

ENTRYPOINT ["dossierwatch"]
CMD ["--help"]
