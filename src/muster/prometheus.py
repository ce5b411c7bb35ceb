"""The Prometheus exposition of AgentMetrics (`/v1/agent/metrics?format=prometheus`), built on
prometheus-client: one collector turning AgentMetrics.series() into families at each scrape, plus the
client's process, platform and GC collectors. Imported at the first such scrape only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from muster.metrics import COUNTER, GAUGE, SAMPLE, Series

if TYPE_CHECKING:
    from muster.metrics import AgentMetrics

__all__ = ["exposition_registry", "generate_latest"]


def exposition_registry(metrics: AgentMetrics) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_AgentCollector(metrics))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class _AgentCollector(Collector):
    """Builds the Prometheus families from AgentMetrics.series() at each scrape."""

    def __init__(self, metrics: AgentMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for series in self.metrics.series():
            family = families.get(series.name)
            if family is None:
                family = families[series.name] = _family(series)
            values = list(series.labels.values())
            if isinstance(family, SummaryMetricFamily):
                assert series.aggregate is not None
                family.add_metric(values, series.aggregate.count, series.aggregate.total)
            elif isinstance(family, CounterMetricFamily | GaugeMetricFamily):
                family.add_metric(values, series.value)
        return families.values()


def _family(series: Series) -> Metric:
    kinds = {GAUGE: GaugeMetricFamily, COUNTER: CounterMetricFamily, SAMPLE: SummaryMetricFamily}
    family: Metric = kinds[series.kind](series.prometheus_name, series.help, labels=list(series.labels))
    return family
