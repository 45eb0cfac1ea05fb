"""Scale-out Runner: Celery on a Redis broker. API nodes send task ids; `photofix worker`
processes run them with models loaded once per process and kept warm.

Delivery is at least once and the task store makes it exactly once for the client: a message
is acknowledged only after its task ran (acks_late), a worker process that dies mid-task gets
its message redelivered (reject_on_worker_lost; for a whole worker node lost, the broker
restores unacknowledged messages after the visibility timeout), and `execute_task` ignores a
task that is already finished and fails one whose workers keep dying.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from photofix.config import Settings
from photofix.errors import StoreUnavailable
from photofix.tasks.runner import WorkerInitializer, WorkerTarget

log = logging.getLogger(__name__)

RUN_TASK = "photofix.run_task"
QUEUE = "photofix"
_BROKER_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
# Seconds between the broker's sweeps that restore messages of vanished workers.
_RESTORE_INTERVAL = 10


def hard_time_limit(task_timeout: float) -> float:
    """When Celery kills a task's process: a backstop well after the task's own deadline."""
    return 1.25 * task_timeout + 5.0


def visibility_timeout(task_timeout: float) -> float:
    """How long an unacknowledged message stays with its worker: past the hard time limit, so
    a running task is never handed out twice; a vanished worker's task returns after it."""
    return hard_time_limit(task_timeout) + 10.0


def create_celery(settings: Settings) -> Celery:
    """The Celery app for these settings: API nodes send task ids by name with it; workers
    register the task that runs them (run_worker)."""
    app = Celery("photofix", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the task store, not in Celery
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=False,  # a hard time limit re-queues; attempts cap it
        task_time_limit=hard_time_limit(settings.task_timeout),
        worker_prefetch_multiplier=1,  # a worker holds only the task it runs
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility_timeout(settings.task_timeout),
            "unacked_restore_interval": _RESTORE_INTERVAL,
            "unacked_restore_throttle": 1,
            "global_keyprefix": f"{settings.redis_prefix}:celery:",
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
        },
    )
    return app


class CeleryRunner:
    redelivers = True

    def __init__(self, settings: Settings) -> None:
        self._app = create_celery(settings)
        # A lost worker's task comes back after the visibility timeout and restarts (its
        # processed_at renewed); twice that, and nothing will bring it back.
        self.stall_seconds = 2 * visibility_timeout(settings.task_timeout) + 2 * _RESTORE_INTERVAL

    def start(self) -> None:
        pass  # the workers are other processes; the broker connects on first send

    def submit(self, task_id: str) -> None:
        try:
            self._app.send_task(
                RUN_TASK,
                args=[task_id],
                queue=QUEUE,
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
            )
        except OperationalError as exc:
            raise StoreUnavailable(f"task queue unavailable: {exc}") from exc

    def ping(self) -> bool:
        """The broker answers (the workers are other processes, scaled on their own: a task
        sent while none runs waits in the queue, which is what the broker is for)."""
        try:
            with self._app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
                return bool(connection.default_channel.client.ping())
        except (OperationalError, *_BROKER_ERRORS) as exc:
            raise StoreUnavailable(f"task queue unavailable: {exc}") from exc

    def shutdown(self) -> None:
        self._app.close()


def run_worker(
    settings: Settings,
    *,
    concurrency: int,
    initializer: WorkerInitializer,
    target: WorkerTarget,
    loglevel: str = "INFO",
) -> None:
    """Run a Celery worker (blocks): `concurrency` prefork processes, each calling
    `initializer(settings)` once when it starts (it loads the models), then `target(task_id)`
    for each task id it is given: the Celery task is that plain function."""

    def load_models_once(**_: Any) -> None:
        initializer(settings)

    worker_process_init.connect(load_models_once, weak=False)
    app = create_celery(settings)
    app.task(name=RUN_TASK, ignore_result=True)(target)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--pool=prefork",
            f"--queues={QUEUE}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
