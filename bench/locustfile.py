"""Locust user for bench/load.py: async create, then poll until done, at a steady pace.

Each user creates one task (type from PHOTOFIX_LOAD_TYPE, image from PHOTOFIX_LOAD_IMAGE),
polls it every 0.25 s until it finishes, and counts a failed task or any non-200 answer as
an error. Runs only on loopback: the driver starts the server it points at.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from locust import HttpUser, constant_pacing, events, task

PATH = "/api/tasks/visual/correction"
IMAGE = Path(os.environ["PHOTOFIX_LOAD_IMAGE"]).read_bytes()
KEY = os.environ["PHOTOFIX_LOAD_KEY"]
TYPE = os.environ.get("PHOTOFIX_LOAD_TYPE", "1")
PACING = float(os.environ.get("PHOTOFIX_LOAD_PACING", "4"))
POLL_EVERY = 0.25
TASK_DEADLINE = 120.0


class Client(HttpUser):
    wait_time = constant_pacing(PACING)  # one task per user per PACING seconds

    @task
    def create_and_poll(self) -> None:
        headers = {"X-API-KEY": KEY}
        files = {"image_file": ("load.jpg", IMAGE, "image/jpeg")}
        with self.client.post(
            PATH, data={"type": TYPE}, files=files, headers=headers, name="create",
            catch_response=True,
        ) as answer:  # fmt: skip
            if answer.status_code != 200:
                answer.failure(f"create answered {answer.status_code}")
                return
            task_id = answer.json()["data"]["task_id"]
        started = time.monotonic()
        while time.monotonic() - started < TASK_DEADLINE:
            time.sleep(POLL_EVERY)
            with self.client.get(
                f"{PATH}/{task_id}", headers=headers, name="get", catch_response=True
            ) as answer:
                if answer.status_code != 200:
                    answer.failure(f"get answered {answer.status_code}")
                    return
                state = answer.json()["data"]["state"]
            if state == 1:
                _fire("task", started)
                return
            if state < 0:
                _fire("task", started, error=f"task failed with state {state}")
                return
        _fire("task", started, error="task not finished in time")


def _fire(name: str, started: float, error: str | None = None) -> None:
    """Report a whole task (create to finished) as its own request type in Locust's stats."""
    events.request.fire(
        request_type="TASK",
        name=name,
        response_time=(time.monotonic() - started) * 1000.0,
        response_length=0,
        exception=RuntimeError(error) if error else None,
        context={},
    )
