"""Worker-process side shared by every runner: build the context once, then run task ids."""

from __future__ import annotations

import logging

from photofix.backends import open_result_store, open_task_store
from photofix.config import Settings
from photofix.imaging.codec import ImageLimits
from photofix.models.catalog import ModelCatalog, catalog_for
from photofix.tasks.service import SourceLimits, WorkerContext, execute_task

_context: WorkerContext | None = None


def build_context(settings: Settings) -> WorkerContext:
    """Back-ends from settings and the warm models, once per worker process."""
    return WorkerContext(
        store=open_task_store(settings),
        results=open_result_store(settings),
        catalog=open_catalog(settings),
        limits=source_limits(settings),
        retention_seconds=settings.retention_seconds,
        task_timeout=settings.task_timeout,
    )


def open_catalog(settings: Settings) -> ModelCatalog:
    """The warm models, with the operator's default product model opened up front so that a
    missing or broken file stops the worker at start, not the first request."""
    catalog = catalog_for(settings.models_dir, settings.model_threads, settings.default_model)
    catalog.model_set(None)
    return catalog


def source_limits(settings: Settings) -> SourceLimits:
    return SourceLimits(
        image=ImageLimits(max_bytes=settings.max_image_bytes, max_side=settings.max_image_side),
        fetch_timeout=settings.fetch_timeout,
        allow_networks=tuple(settings.allow_networks),
    )


def init_worker_process(settings: Settings) -> None:
    """Process-pool initializer: load the models once per worker process, keep them warm."""
    global _context
    logging.basicConfig(level=logging.INFO)
    _context = build_context(settings)


def run_in_worker(task_id: str) -> None:
    if _context is None:
        raise RuntimeError("worker process was not initialised")
    execute_task(_context, task_id)
