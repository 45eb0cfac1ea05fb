"""Prometheus metrics: tasks created, finished (by type and state code) and their latency,
plus queue depth read from the task store at scrape time.

Tasks finish in worker processes, not in the API process, so the counters use
prometheus_client's multiprocess mode: the CLI sets PROMETHEUS_MULTIPROC_DIR before anything
imports this module, every process of a node writes its samples there, and `/metrics` (API)
or `photofix worker --metrics-port` add them up. Without it (e.g. in a library user's
process) the metrics still count, per process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

_ENV = "PROMETHEUS_MULTIPROC_DIR"

TASKS_CREATED = Counter("photofix_tasks_created_total", "Tasks accepted by the API", ["type"])
TASKS_FINISHED = Counter(
    "photofix_tasks_finished_total",
    "Tasks that reached a final state, by type and state code (1 succeeded, < 0 failed)",
    ["type", "state"],
)
TASK_SECONDS = Histogram(
    "photofix_task_seconds",
    "Seconds from a task's creation to its final state, by type and state code",
    ["type", "state"],
    buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120, 300),
)


def task_finished(task_type: int, state: int, seconds: float) -> None:
    labels = {"type": str(task_type), "state": str(state)}
    TASKS_FINISHED.labels(**labels).inc()
    TASK_SECONDS.labels(**labels).observe(max(seconds, 0.0))


class QueueDepth(Collector):
    """Unfinished tasks (queued, waiting or running), read from the task store per scrape."""

    def __init__(self, count_unfinished: Callable[[], int]) -> None:
        self._count = count_unfinished

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "photofix_tasks_unfinished", "Tasks accepted and not yet finished (queue depth)"
        )
        gauge.add_metric([], float(self._count()))
        yield gauge


def registry(*extra: Collector) -> CollectorRegistry:
    """What /metrics serves: every process's samples (multiprocess mode) and `extra`."""
    target = CollectorRegistry()
    if os.environ.get(_ENV):
        MultiProcessCollector(target)
    else:
        target.register(_Forward(REGISTRY))
    for collector in extra:
        target.register(collector)
    return target


class _Forward(Collector):
    """This process's default registry, as one collector of another registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[object]:
        yield from self._source.collect()


def render(target: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(target), CONTENT_TYPE_LATEST
