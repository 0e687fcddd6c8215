"""Names vulture (`make lint`) would call dead that are alive: used by frameworks, by
msgspec through their names, by the tests, or kept in the stored state on purpose.

Each line names the use; a name that stops being needed should leave this file."""

# ruff: noqa: B018, F821
# Used by the tests (the alerting config's secret paths; the engine's test helper).
CREDENTIALS  # alerts/amconfig.py, read by tests/alerting/test_alertmanager_config.py
_.drain  # streams/core/engine.py: feeds a list of events (tests, benchmarks)
# Framework hooks and decorated handlers, called by name.
_.on_partitions_revoked  # kafka-python ConsumerRebalanceListener (alerts/bridge.py)
_.on_partitions_assigned
_.describe  # prometheus_client Collector protocol
_.StartElementHandler  # expat parser callbacks (streams/eventlogs/xes.py)
_.EndElementHandler
_.spinner  # mode's Worker attribute set to None (streams/cli/worker.py)
board  # Faust @app.page views (streams/web, streams/worker/app.py)
wallboard
wallboard_css
wallboard_js
process  # Faust @app.agent
watch_the_event_loop  # Faust @app.task
metrics_page
health_page
liveness_page
_dossiers_1_to_2  # migrations, registered by decorator (streams/core/layouts.py)
_clocks_1_to_2
# Context-manager protocol arguments.
exc
tb
# Fields read by name: msgspec structs of the contract and the policy file, the
# simulator's behaviour shares (dataclasses.fields).
from_unit
datacontenttype
monday_hours
tuesday_hours
wednesday_hours
thursday_hours
friday_hours
saturday_hours
sunday_hours
slow_unit
consultation_loop
late_transfer
late_online_acceptance
second_supplement
late_reschedule
withdrawn
# Counted in the state and the statistics for the figures and reports (Decision 766's
# supplement time; evictions and wake-ups in replay reports and benchmarks).
supplement_wait
_.supplement_wait
evicted
_.evicted
wakes
_.wakes
# The report's files (streams/reports): fpdf2 calls `footer` on every page; openpyxl's
# cells, sheets and charts are configured by setting their attributes.
_.footer
_.freeze_panes
_.border
_.alignment
_.number_format
_.grouping
_.tx
_.solidFill
# Read or called by Faust: a RocksDB store opens its databases with
# `rocksdb_options.as_options()`.
as_options
_.rocksdb_options
# Faust's public setter: the app takes its consumer's transport from it
# (streams/worker/rewinding.py).
_.transport
# Called by Faust's consumer when it starts its thread (streams/worker/rewinding.py).
_._new_consumer_thread
# Faust's Recovery service starts `_slurp_changelogs` as its task and reads
# `_last_flush_at` (streams/worker/restoring.py overrides the loop).
_._slurp_changelogs
_._last_flush_at
