"""Health, readiness and Prometheus metrics of a live `photofix serve` (real process, real
worker pool: the counters are written by the worker processes and read by the API's)."""

from __future__ import annotations

import httpx

from tests.synth import encode, text_page


def test_health_readiness_and_task_metrics(served):
    base, token = served
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True

    files = {"image_file": ("a.jpg", encode(text_page(300, 400), "JPEG"), "image/jpeg")}
    answer = httpx.post(
        f"{base}/api/tasks/visual/correction",
        data={"sync": "1", "type": "1"},
        files=files,
        headers={"X-API-KEY": token},
        timeout=60,
    )
    assert answer.json()["data"]["state"] == 1

    text = httpx.get(f"{base}/metrics").text
    assert 'photofix_tasks_created_total{type="1"} 1.0' in text
    # Written by the worker process that ran the task, read here by the API process.
    assert 'photofix_tasks_finished_total{state="1",type="1"} 1.0' in text
    assert 'photofix_task_seconds_count{state="1",type="1"} 1.0' in text
    assert "photofix_tasks_unfinished 0.0" in text
