"""Steady load on loopback: async create + poll for N minutes, on the embedded runtime and on
Celery with 2 workers; latency, throughput, errors, and the RSS of every process.

    .venv/bin/python bench/load.py [--runtime embedded|celery|both] [--minutes 5]
        [--users 2] [--pacing 4] [--type 2] [--out bench/out/load]

Needs locust (`.venv/bin/pip install -e '.[bench]'`) and, for celery, the Redis on
127.0.0.1:6379 (a key prefix of its own is used and removed). Everything runs on this machine.
Prints p50/p99 of create, get and whole tasks, images/s per worker core, the error count, and
each process's RSS once warm and at the end (growth beyond 10 % would be a leak).
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.synth import document_scene, encode  # noqa: E402

from photofix.keys import KeyStore  # noqa: E402

PATH = "/api/tasks/visual/correction"
REDIS_URL = "redis://127.0.0.1:6379/13"
CORES = os.cpu_count() or 1


@dataclass
class Stack:
    base: str
    processes: list[subprocess.Popen[bytes]]
    prefix: str | None = None

    def pids(self) -> dict[str, int]:
        """Every process of the stack (the servers and their worker children), by role."""
        found: dict[str, int] = {}
        for index, process in enumerate(self.processes):
            role = "api" if index == 0 else f"worker{index}"
            found[role] = process.pid
            for n, child in enumerate(_descendants(process.pid)):
                found[f"{role}.child{n}"] = child
        return found

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.prefix:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for pattern in (f"{{{self.prefix}}}*", f"{self.prefix}:*"):
                keys = list(client.scan_iter(match=pattern))
                if keys:
                    client.delete(*keys)


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    children = [int(line) for line in out.split()]
    return children + [grand for child in children for grand in _descendants(child)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(runtime: str, data_dir: Path) -> Stack:
    port = free_port()
    env = {**os.environ, "PHOTOFIX_DATA_DIR": str(data_dir), "PHOTOFIX_RATE_LIMIT_PER_MINUTE": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    prefix = None
    if runtime == "celery":
        prefix = f"photofix-load-{uuid.uuid4().hex[:8]}"
        env |= {"PHOTOFIX_RUNTIME": "celery", "PHOTOFIX_REDIS_URL": REDIS_URL}
        env["PHOTOFIX_REDIS_PREFIX"] = prefix
    cli = [sys.executable, "-m", "photofix"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, **quiet)]
    if runtime == "celery":
        for _ in range(2):
            worker = [*cli, "worker", "--concurrency", "1"]
            processes.append(subprocess.Popen(worker, env=env, **quiet))
    stack = Stack(f"http://127.0.0.1:{port}", processes, prefix)
    _wait_ready(stack.base)
    return stack


def _wait_ready(base: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{base} did not become ready")


def warm_up(base: str, key: str, image: bytes, task_type: str, count: int = 8) -> None:
    """Tasks in parallel until every worker has run some, so RSS is read once warm."""
    headers = {"X-API-KEY": key}
    files = {"image_file": ("w.jpg", image, "image/jpeg")}
    ids = [
        httpx.post(f"{base}{PATH}", data={"type": task_type}, files=files, headers=headers).json()[
            "data"
        ]["task_id"]
        for _ in range(count)
    ]

    def unfinished(task_id: str) -> bool:
        state = httpx.get(f"{base}{PATH}/{task_id}", headers=headers).json()["data"]["state"]
        return state == 0 or state > 1  # 1 done, < 0 failed

    deadline = time.monotonic() + 300
    while ids and time.monotonic() < deadline:
        time.sleep(0.5)
        ids = [task_id for task_id in ids if unfinished(task_id)]


def run_locust(base: str, env: dict[str, str], args: argparse.Namespace, prefix: Path) -> None:
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless", "--only-summary", "-u", str(args.users), "-r", str(args.users),
        "-t", f"{args.minutes * 60:.0f}s", "--host", base, "--csv", str(prefix),
        "--stop-timeout", "120",
    ]  # fmt: skip
    subprocess.run(command, env={**os.environ, **env}, check=False, capture_output=True)


def read_stats(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as fh:
        return {row["Name"]: row for row in csv.DictReader(fh)}


def measure(runtime: str, args: argparse.Namespace, image: bytes) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"photofix-load-{runtime}-") as tmp:
        data_dir = Path(tmp)
        _, key = KeyStore(data_dir / "keys.json").create("load")
        stack = start(runtime, data_dir)
        try:
            warm_up(stack.base, key, image, args.type)
            before = {role: rss_mb(pid) for role, pid in stack.pids().items()}
            image_path = data_dir / "load.jpg"
            image_path.write_bytes(image)
            env = {
                "PHOTOFIX_LOAD_IMAGE": str(image_path),
                "PHOTOFIX_LOAD_KEY": key,
                "PHOTOFIX_LOAD_TYPE": args.type,
                "PHOTOFIX_LOAD_PACING": str(args.pacing),
            }
            prefix = args.out / runtime
            started = time.monotonic()
            run_locust(stack.base, env, args, prefix)
            elapsed = time.monotonic() - started
            after = {role: rss_mb(pid) for role, pid in stack.pids().items()}
        finally:
            stack.stop()
    stats = read_stats(prefix)
    done = int(stats["task"]["Request Count"]) - int(stats["task"]["Failure Count"])
    return {"stats": stats, "elapsed": elapsed, "done": done, "before": before, "after": after}


def report(runtime: str, result: dict[str, object]) -> None:
    stats = result["stats"]
    assert isinstance(stats, dict)
    print(f"\n== {runtime}: {result['done']} images in {result['elapsed']:.0f} s ==")
    print(f"{'request':<8} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for name in ("create", "get", "task"):
        row = stats.get(name)
        if row:
            print(
                f"{name:<8} {row['Request Count']:>6} {row['Failure Count']:>6}"
                f" {row['50%']:>8} {row['99%']:>8}"
            )
    errors = sum(int(stats[name]["Failure Count"]) for name in ("create", "get", "task"))
    rate = float(result["done"]) / float(result["elapsed"])  # type: ignore[arg-type]
    print(f"throughput {rate:.3f} images/s = {rate / CORES:.3f} per core; errors {errors}")
    before, after = result["before"], result["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    print(f"{'process':<16} {'RSS warm MB':>12} {'RSS end MB':>11} {'growth':>7}")
    for role in sorted(before):
        if role in after:
            growth = (after[role] - before[role]) / max(before[role], 1.0)
            print(f"{role:<16} {before[role]:>12.0f} {after[role]:>11.0f} {growth:>7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=["embedded", "celery", "both"], default="both")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--users", type=int, default=2)
    parser.add_argument("--pacing", type=float, default=4.0, help="seconds per task per user")
    parser.add_argument("--type", default="2")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "load")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    scene, _ = document_scene(size=(1600, 1200))
    image = encode(scene, "JPEG", quality=90)
    runtimes = ["embedded", "celery"] if args.runtime == "both" else [args.runtime]
    print(
        f"{args.users} users, one type {args.type} task each per {args.pacing:g} s, "
        f"{args.minutes:g} min, 1600x1200 JPEG, {CORES} cores"
    )
    for runtime in runtimes:
        report(runtime, measure(runtime, args, image))


if __name__ == "__main__":
    main()
