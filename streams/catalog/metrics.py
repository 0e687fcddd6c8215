"""The catalogue's gauges, read at scrape time: how many codes it names, and how many
codes the screens, the API and the alerts met that it does not (shown as bare codes)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.catalog.model import Catalog


class CatalogCollector(Collector):
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        unknown = GaugeMetricFamily(
            "dossierwatch_catalog_unknown_codes",
            "Distinct unit or procedure codes met (on the board, in the API) that the"
            " catalogue does not name: they are shown as codes (remembered up to 1000 per kind)",
            labels=["kind"],
        )
        for kind, n in sorted(self.catalog.unknown_counts().items()):
            unknown.add_metric([kind], n)
        entries = GaugeMetricFamily(
            "dossierwatch_catalog_entries",
            "Units and procedures the catalogue names, by kind",
            labels=["kind"],
        )
        entries.add_metric(["unit"], len(self.catalog.units))
        entries.add_metric(["procedure"], len(self.catalog.procedures))
        yield unknown
        yield entries
