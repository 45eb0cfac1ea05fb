"""The Runner seam: who executes a queued task (a local process pool embedded; or Celery)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from photofix.config import Settings

# What a runner's worker processes run, handed to the runner by photofix.runtime: the
# initializer once per process (it opens the back-ends and loads the models), then the target
# once per task id.
WorkerInitializer = Callable[[Settings], None]
WorkerTarget = Callable[[str], None]


class Runner(Protocol):
    # True when queued tasks outlive an API restart (a broker redelivers them): then the API
    # must not re-queue unfinished tasks on start. False for an in-process pool.
    redelivers: bool
    # A task still processing this many seconds after it started was lost with its worker:
    # past every time limit and redelivery of this runner.
    stall_seconds: float

    def start(self) -> None: ...

    def submit(self, task_id: str) -> None:
        """Hand a queued task to a worker. Carries the id only: workers read the store.
        Raises Overloaded (StoreUnavailable for a broker outage) when the queue cannot take it."""
        ...

    def ping(self) -> bool:
        """True when submitted tasks can run; raises Overloaded (StoreUnavailable for a broker
        outage) when they cannot, e.g. no worker process can start."""
        ...

    def shutdown(self) -> None: ...
