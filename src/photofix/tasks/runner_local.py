"""Embedded Runner: a pool of long-lived worker processes (pebble), one per core by default,
and a supervisor that keeps that pool working.

pebble gives what concurrent.futures lacks: a per-task timeout that kills a stuck worker, and a
replacement for a worker that dies while it runs a task (that task alone fails, with
ProcessExpired). What pebble 5.2.3 does not survive is a worker that dies while no task is
running (SIGKILL, the OOM killer): PoolManager.find_expired_task takes it for "All workers
expired", the pool turns to ERROR, fails the tasks it holds with BrokenProcessPool and refuses
every later schedule() ("Unexpected error within the Pool"). It cannot be told apart from
workers whose initializer fails, which is what pebble guards against.

So the supervisor replaces a pool in that state with a new one and hands it the tasks the old
one held (they were not at fault). A pool whose workers never finish starting is the one case
that cannot work: then waiting tasks fail, `ping` says so and new tasks are refused (503) until
a new pool's workers start.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import signal
import threading
import time
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.sharedctypes import Synchronized

from pebble import ProcessExpired, ProcessPool

from photofix.config import Settings
from photofix.errors import Overloaded
from photofix.storage.base import ResultStore
from photofix.tasks.model import State
from photofix.tasks.runner import WorkerInitializer, WorkerTarget
from photofix.tasks.service import fail_task
from photofix.tasks.store import TaskStore

log = logging.getLogger(__name__)

_CHECK_INTERVAL = 0.5  # seconds between the supervisor's looks at the pool
# Pools in a row that broke before any of their workers finished starting: the workers cannot
# start (a broken model file, no memory). One such pool may be bad luck (a worker killed while
# it loaded its models); two are not.
_MAX_FAILED_STARTS = 2
_RETRY_INTERVAL = 10.0  # seconds between new pools while the workers cannot start
_REAP_TIMEOUT = 10.0  # seconds to wait for a broken pool's threads and processes to end
_CANNOT_START = "no image worker can start (see the server log); retry later"


def kill_after(task_timeout: float) -> float:
    """When pebble kills a task's process: a backstop. The worker's own deadline
    (service.execute_task) fires first and ends the task without losing the warm process."""
    return 1.1 * task_timeout + 1.0


class LocalRunner:
    redelivers = False

    def __init__(
        self,
        settings: Settings,
        store: TaskStore,
        results: ResultStore,
        *,
        initializer: WorkerInitializer,
        target: WorkerTarget,
    ) -> None:
        """`initializer` and `target` are module-level functions: spawn pickles them by name."""
        self._settings = settings
        self._store = store
        self._results = results
        self._target = target
        self._initializer = initializer
        # spawn, not fork: the API process runs threads (uvicorn, SQLite) that fork would copy
        # mid-flight, and every worker loads its own onnxruntime sessions anyway.
        self._mp = multiprocessing.get_context("spawn")
        self.stall_seconds = 2 * kill_after(settings.task_timeout) + 60.0
        self._lock = threading.Lock()  # the pool: replacing it, scheduling on it
        self._pool: ProcessPool | None = None
        self._ready: Synchronized[int] | None = None  # workers of this pool that have started
        self._failed_starts = 0
        self._last_start = 0.0
        # Tasks handed to the current pool and not finished there. pebble's threads change it
        # too (in _on_done), under its own lock, never under the pool's.
        self._queued: dict[str, Future[None]] = {}
        self._queued_lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self._replace_pool("starting")
        self._supervisor = threading.Thread(
            target=self._supervise, name="photofix-pool-supervisor", daemon=True
        )
        self._supervisor.start()

    def submit(self, task_id: str) -> None:
        with self._lock:
            if self._stopping.is_set() or self._supervisor is None:
                raise RuntimeError("runner not running")
            if self._cannot_start():  # until a new pool's workers start (see _check)
                raise Overloaded(_CANNOT_START, retry_after=int(_RETRY_INTERVAL))
            if not self._working():
                self._replace_pool("it broke")
            try:
                self._schedule(task_id)
            except RuntimeError:  # it broke since we looked (pebble raises RuntimeError)
                self._replace_pool("it broke")
                if not self._working():
                    raise Overloaded(_CANNOT_START, retry_after=int(_RETRY_INTERVAL)) from None
                self._schedule(task_id)

    def ping(self) -> bool:
        # A pool that broke is no failure of its own: the supervisor replaces it within
        # _CHECK_INTERVAL, and submit() at once. Workers that cannot start are.
        if self._cannot_start():
            raise Overloaded(_CANNOT_START, retry_after=int(_RETRY_INTERVAL))
        if self._stopping.is_set() or self._supervisor is None:
            raise Overloaded("the image worker pool is not running")
        return True

    def shutdown(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=_CHECK_INTERVAL * 4)
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=10)

    def _working(self) -> bool:
        pool = self._pool
        return pool is not None and pool.active

    def _cannot_start(self) -> bool:
        return self._failed_starts >= _MAX_FAILED_STARTS

    def _supervise(self) -> None:
        while not self._stopping.wait(_CHECK_INTERVAL):
            try:
                with self._lock:
                    if not self._stopping.is_set():
                        self._check()
            except Exception:  # the supervisor must outlive whatever went wrong this round
                log.exception("image worker pool supervisor")

    def _check(self) -> None:
        """One look at the pool (lock held): replace it if broken, note when it has started."""
        if self._working():
            if self._failed_starts and self._ready is not None and self._ready.value > 0:
                log.info("image workers started again")
                self._failed_starts = 0
            return
        if self._cannot_start() and time.monotonic() - self._last_start < _RETRY_INTERVAL:
            return
        self._replace_pool("it broke")

    def _replace_pool(self, reason: str) -> None:
        """Stop the current pool, if any, and start a new one with the tasks it held (lock
        held). When the workers cannot start, those tasks fail instead: none would run."""
        old, ready = self._pool, self._ready
        self._pool = self._ready = None
        if old is not None:
            started = ready is not None and ready.value > 0
            self._failed_starts = 0 if started else self._failed_starts + 1
            log.warning("image worker pool replaced: %s", reason)
            _reap(old)
        self._last_start = time.monotonic()
        try:
            self._pool, self._ready = self._new_pool()
        except (OSError, RuntimeError):  # pebble raises BrokenProcessPool if spawning fails
            log.exception("could not start image worker processes")
            self._failed_starts += 1
        with self._queued_lock:
            waiting, self._queued = self._queued, {}
        self._hand_over(waiting)

    def _hand_over(self, waiting: dict[str, Future[None]]) -> None:
        """Give a replaced pool's tasks to the new one; keep them for the next if it is not
        working; fail them if no pool can work."""
        for task_id in list(waiting):
            if self._cannot_start():
                self._fail(task_id, State.FAILED, _CANNOT_START)
                continue
            try:
                self._schedule(task_id)
            except RuntimeError:  # no pool, or it broke already: the next one takes them
                with self._queued_lock:
                    self._queued.update(waiting)
                return
            del waiting[task_id]

    def _new_pool(self) -> tuple[ProcessPool, Synchronized[int]]:
        ready: Synchronized[int] = self._mp.Value("i", 0)
        pool = ProcessPool(
            max_workers=self._settings.workers,
            initializer=_initialize,
            initargs=(self._initializer, self._settings, ready),
            context=self._mp,
        )
        # pebble starts a pool on first use; this is it: the workers warm their models now.
        if not pool.active:
            raise BrokenProcessPool("the new pool did not start")
        return pool, ready

    def _schedule(self, task_id: str) -> None:
        if self._pool is None:
            raise RuntimeError("no image worker pool")
        future = self._pool.schedule(
            self._target,
            args=(task_id,),
            timeout=kill_after(self._settings.task_timeout),
        )
        with self._queued_lock:
            self._queued[task_id] = future
        future.add_done_callback(functools.partial(self._on_done, task_id))

    def _on_done(self, task_id: str, future: Future[None]) -> None:
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            return  # the pool broke, not the task: the supervisor gives it to the next pool
        with self._queued_lock:
            if self._queued.get(task_id) is not future:
                return  # a replaced pool's leftover: the task went to the new pool
            del self._queued[task_id]
        try:
            future.result()
            return
        except FutureTimeout:
            state, detail = (
                State.TIMED_OUT,
                f"processing took longer than {self._settings.task_timeout:g} s",
            )
        except ProcessExpired as exc:
            state, detail = State.FAILED, _death_detail(exc.exitcode)
        except CancelledError:
            return  # shutting down: recover() re-queues it on the next start
        except Exception as exc:  # the worker itself records image errors; this is a bug
            log.exception("task %s crashed its worker call", task_id)
            state, detail = State.FAILED, f"internal error: {type(exc).__name__}"
        self._fail(task_id, state, detail)

    def _fail(self, task_id: str, state: State, detail: str) -> None:
        try:
            task = self._store.get(task_id)
            if task is not None:
                fail_task(self._store, self._results, task, state, detail)
        except Exception:  # the store is down: the sweeper fails it once it has stalled
            log.exception("could not fail task %s (%s)", task_id, detail)


def _initialize(
    initializer: WorkerInitializer, settings: Settings, ready: Synchronized[int]
) -> None:
    """Worker-process initializer: the real one, then count this worker as started."""
    initializer(settings)
    with ready.get_lock():
        ready.value += 1


def _reap(pool: ProcessPool) -> None:
    """Stop a broken pool: its threads end and its worker processes are killed, so none of them
    still runs a task the new pool is given. Bounded: a wedged pebble thread is left behind."""
    pool.stop()
    reaper = threading.Thread(target=pool.join, name="photofix-pool-reaper", daemon=True)
    reaper.start()
    reaper.join(_REAP_TIMEOUT)
    if reaper.is_alive():
        log.warning("a replaced image worker pool did not stop within %g s", _REAP_TIMEOUT)


def _death_detail(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker process died: killed by {name} (out of memory, or by the operator)"
    return f"worker process died (exit code {exitcode})"
