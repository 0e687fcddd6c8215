"""The ingest gateway (`dossierwatch ingest`): CloudEvents over HTTP onto `dossier-events`.

A handling system that cannot speak Kafka posts its events to `POST /v1/events`, one
CloudEvent or a batch, with a bearer token bound to its CloudEvents `source`.  Each
request is all or nothing: every event is checked by the worker's own boundary
(`streams.core.boundary.admit`) before any is produced, and 202 comes back only once the
broker has acknowledged every one of them (idempotent producer, acks=all).

Modules, one job each: `settings` (what the command line decides), `auth` (the token
file: hashed tokens bound to a source), `sink` (the Kafka producer and its
acknowledgements), `metrics` (Prometheus), `validate` (a request body into checked
records), `app` (the aiohttp routes, and `ingest` — the path an adapter route reuses),
`server` (serving, signals and shutdown).  See docs/ingest-gateway.md.
"""
