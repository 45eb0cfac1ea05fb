"""The TaskStore seam: where task records live (SQLite embedded; Redis when scaled out)."""

from __future__ import annotations

from typing import Any, Protocol

from photofix.tasks.model import Task

# Columns `update` may change. `progress` never goes down and a finished task never changes:
# that is how a late worker, a watchdog and a sweeper can race without corrupting a task.
UPDATABLE_FIELDS = frozenset(
    {
        "state",
        "state_detail",
        "progress",
        "source_blob",
        "result_blob",
        "result_content_type",
        "meta",
        "processed_at",
        "completed_at",
        "expires_at",
        "attempts",
    }
)


class TaskStore(Protocol):
    def create(self, task: Task) -> None: ...

    def admit(self, task: Task, max_unfinished: int) -> bool:
        """Insert `task` unless `max_unfinished` tasks are unfinished already; True if inserted.
        One atomic step, so concurrent admissions (threads, processes, API nodes) never overrun
        the cap."""
        ...

    def delete(self, task_id: str) -> None:
        """Remove the task whatever its state (a create that could not be completed)."""
        ...

    def get(self, task_id: str) -> Task | None: ...

    def update(self, task_id: str, **changes: Any) -> bool:
        """Apply `changes` unless the task is finished or gone; True if it was applied."""
        ...

    def unfinished(self) -> list[Task]: ...

    def count_unfinished(self) -> int: ...

    def pop_expired(self, now: float) -> list[Task]:
        """Delete and return the tasks whose `expires_at` has passed."""
        ...

    def ping(self) -> bool:
        """True when the store answers; raises StoreUnavailable when it does not."""
        ...

    def close(self) -> None: ...
