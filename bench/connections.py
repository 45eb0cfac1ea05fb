"""The API process's memory and open files under bursts of concurrent tasks (embedded runtime):
what its SQLite task-store connections cost.

    .venv/bin/python bench/connections.py [--src DIR] [--rounds 5] [--concurrency 40]

Starts `photofix serve` (one worker) from the sources in DIR (default: this checkout's src; give
another checkout's to compare), then runs ROUNDS rounds of CONCURRENCY tasks created and polled
at once, and prints one JSON line per round: the API process's RSS, its open file descriptors
and how many of those are the task database (the .sqlite3 file and its -wal), after the round.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.synth import encode, text_page  # noqa: E402

from photofix.keys import KeyStore  # noqa: E402

PATH = "/api/tasks/visual/correction"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="photofix-connections-") as data_dir:
        _, token = KeyStore(Path(data_dir) / "keys.json").create("bench")
        server, base = _serve(args.src, Path(data_dir))
        try:
            image = encode(text_page(300, 400), "JPEG")
            with httpx.Client(base_url=base, headers={"X-API-KEY": token}, timeout=120) as http:
                print(json.dumps({"round": 0, **_usage(server.pid)}), flush=True)
                for number in range(1, args.rounds + 1):
                    _round(http, image, args.concurrency)
                    print(json.dumps({"round": number, **_usage(server.pid)}), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _serve(src: Path, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "PHOTOFIX_WORKERS": "1",
        "PHOTOFIX_RATE_LIMIT_PER_MINUTE": "100000",
    }
    command = [sys.executable, "-m", "photofix", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("photofix serve did not become ready")


def _round(http: httpx.Client, image: bytes, concurrency: int) -> None:
    """`concurrency` creates at once, then every task polled at once until it has finished."""

    def create(_: int) -> str:
        files = {"image_file": ("in.jpg", image, "image/jpeg")}
        answer = http.post(PATH, files=files, data={"type": "1"})
        answer.raise_for_status()
        return str(answer.json()["data"]["task_id"])

    def finish(task_id: str) -> None:
        while True:
            state = http.get(f"{PATH}/{task_id}").json()["data"]["state"]
            if state == 1 or state < 0:
                return
            time.sleep(0.1)

    with ThreadPoolExecutor(concurrency) as pool:
        task_ids = list(pool.map(create, range(concurrency)))
        list(pool.map(finish, task_ids))


def _usage(pid: int) -> dict[str, float | int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue  # closed meanwhile
    database = [t for t in targets if ".sqlite3" in t and not t.endswith("-shm")]
    return {"rss_mb": round(rss_kb / 1024, 1), "open_fds": len(targets), "db_fds": len(database)}


if __name__ == "__main__":
    main()
