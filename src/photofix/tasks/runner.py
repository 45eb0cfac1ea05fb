"""The Runner seam: who executes a queued task (a local process pool embedded; Celery later)."""

from __future__ import annotations

from typing import Protocol


class Runner(Protocol):
    def start(self) -> None: ...

    def submit(self, task_id: str) -> None:
        """Hand a queued task to a worker. Carries the id only: workers read the store."""
        ...

    def shutdown(self) -> None: ...
