"""Stand-in worker targets for runner tests: they run in real spawned worker processes."""

from __future__ import annotations

import os
import time

from photofix.config import Settings


def no_init(settings: Settings) -> None:
    pass


def hang(task_id: str) -> None:
    time.sleep(60)


def die(task_id: str) -> None:
    os._exit(9)
