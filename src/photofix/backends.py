"""The one place that picks task-store and result-store back-ends from settings."""

from __future__ import annotations

from photofix.config import Settings
from photofix.storage.base import ResultStore
from photofix.storage.local import LocalResultStore
from photofix.tasks.store import TaskStore
from photofix.tasks.store_sqlite import SqliteTaskStore


def open_task_store(settings: Settings) -> TaskStore:
    return SqliteTaskStore(settings.database_path)


def open_result_store(settings: Settings) -> ResultStore:
    return LocalResultStore(settings.blobs_dir, settings.secret_key())
