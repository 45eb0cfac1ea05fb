"""Soak: thousands of mixed tasks through one embedded `photofix serve`; does memory level off?

    .venv/bin/python bench/soak.py [--tasks 2000] [--clients 4] [--every 100] [--side 800]

Starts the service on loopback with a throw-away data dir, warms every worker up, then sends
`--tasks` requests from `--clients` threads: all five types, sync and async, URL / base64 /
binary answers, PNG / JPEG / WebP, result downloads, and a share of bad requests (a truncated
JPEG, a text file, a bad field, another key's task) whose error paths must not leak either.
Every `--every` tasks it samples the RSS and open file descriptors of the API process and of
each worker process, and at the end the files left in the data dir. Growth is measured from
the first sample after warm-up to the last (the issue's bound: under 10 %), plus the slope of
the second half in MB per 1,000 tasks, which tells a leak (steady slope) from an allocator that
levels off.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import PATH, _descendants, rss_mb, start  # noqa: E402
from tests.synth import document_scene, encode, product_scene  # noqa: E402

from photofix.keys import KeyStore  # noqa: E402


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def inputs(side: int) -> dict[str, tuple[bytes, str]]:
    """Named request bodies: good photos of both kinds in three formats, and broken ones."""
    page, _ = document_scene(size=(side, side * 3 // 4))
    product = product_scene((side, side * 7 // 9), seed=3)[0]
    jpeg = encode(page, "JPEG", quality=90)
    return {
        "page.jpg": (jpeg, "image/jpeg"),
        "page.png": (encode(page, "PNG"), "image/png"),
        "product.jpg": (encode(product, "JPEG", quality=90), "image/jpeg"),
        "product.webp": (encode(product, "WEBP", quality=90), "image/webp"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "image/jpeg"),
        "notes.txt": (b"not an image at all\n" * 50, "text/plain"),
    }


# (image, form fields, expected HTTP status): one cycle of the mix, repeated.
MIX: list[tuple[str, dict[str, str], int]] = [
    ("page.jpg", {"type": "0"}, 200),
    ("page.jpg", {"type": "2", "sync": "1"}, 200),
    ("page.png", {"type": "1", "return_type": "2"}, 200),
    ("product.jpg", {"type": "3", "sync": "1", "return_type": "3"}, 200),
    ("product.webp", {"type": "4"}, 200),
    ("product.jpg", {"type": "4", "sync": "1", "format": "webp", "return_type": "2"}, 200),
    ("page.jpg", {"type": "2", "enhance": "bw", "format": "png"}, 200),
    ("product.jpg", {"type": "3", "crop_margin": "40", "aspect": "1:1"}, 200),
    ("truncated.jpg", {"type": "1"}, 400),
    ("notes.txt", {"type": "0"}, 415),
    ("page.jpg", {"type": "7"}, 400),
]


class Soak:
    def __init__(self, base: str, key: str, other_key: str, bodies: dict) -> None:
        self.base, self.key, self.other_key, self.bodies = base, key, other_key, bodies
        self.outcomes: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.local = threading.local()

    def client(self) -> httpx.Client:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = httpx.Client(base_url=self.base, timeout=120)
        return client

    def one(self, index: int) -> None:
        name, fields, expected = MIX[index % len(MIX)]
        outcome = self._run(name, fields, expected)
        with self.lock:
            self.outcomes[outcome] += 1

    def _run(self, name: str, fields: dict[str, str], expected: int) -> str:
        client = self.client()
        body, content_type = self.bodies[name]
        headers = {"X-API-KEY": self.key}
        files = {"image_file": (name, body, content_type)}
        response = client.post(PATH, data=fields, files=files, headers=headers)
        if response.status_code != expected:
            return f"unexpected {response.status_code} for {name} {fields}"
        if expected != 200:
            return "refused as expected"
        if fields.get("return_type") == "3":
            return "done" if response.content else "empty body"
        data = response.json()["data"]
        task_id = data["task_id"]
        # Another key must not see it (404), whatever state it is in.
        other = client.get(f"{PATH}/{task_id}", headers={"X-API-KEY": self.other_key})
        if other.status_code != 404:
            return f"isolation broken: {other.status_code}"
        while data.get("state") not in (1,) and not (data.get("state", 0) < 0):
            time.sleep(0.1)
            data = client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]
        if data["state"] != 1:
            return f"failed state {data['state']}: {data.get('state_detail')}"
        if fields.get("return_type", "1") == "1":
            download = client.get(data["image"])
            if download.status_code != 200 or not download.content:
                return f"download {download.status_code}"
        return "done"


def sample(api_pid: int) -> dict[str, tuple[float, int]]:
    """RSS (MB) and open fds of the API process and each of its worker processes."""
    found = {"api": (rss_mb(api_pid), open_fds(api_pid))}
    workers = 0
    for pid in sorted(_descendants(api_pid)):
        if b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes():
            continue  # multiprocessing's helper, not an image worker
        found[f"worker{workers}"] = (rss_mb(pid), open_fds(pid))
        workers += 1
    return found


def files_left(data_dir: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in data_dir.rglob("*"):
        if path.is_file():
            parts = path.relative_to(data_dir).parts
            counts["/".join(parts[:2] if parts[0] == "blobs" else parts[:1])] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--side", type=int, default=800, help="long side of the photos, px")
    args = parser.parse_args()
    bodies = inputs(args.side)
    with tempfile.TemporaryDirectory(prefix="photofix-soak-") as tmp:
        data_dir = Path(tmp)
        keys = KeyStore(data_dir / "keys.json")
        key, other_key = keys.create("soak")[1], keys.create("other")[1]
        stack = start("embedded", data_dir)
        try:
            api_pid = stack.processes[0].pid
            soak = Soak(stack.base, key, other_key, bodies)
            with ThreadPoolExecutor(args.clients) as pool:  # warm-up: one full cycle per client
                list(pool.map(soak.one, range(len(MIX) * args.clients)))
            soak.outcomes.clear()
            samples = [(0, sample(api_pid))]
            started = time.monotonic()
            counter = itertools.count()
            with ThreadPoolExecutor(args.clients) as pool:
                for start_at in range(0, args.tasks, args.every):
                    batch = [next(counter) for _ in range(min(args.every, args.tasks - start_at))]
                    list(pool.map(soak.one, batch))
                    samples.append((start_at + len(batch), sample(api_pid)))
                    print(_row(samples[-1]), flush=True)
            elapsed = time.monotonic() - started
        finally:
            stack.stop()
        left = files_left(data_dir)
    report(samples, soak.outcomes, elapsed, left, args)


def _row(entry: tuple[int, dict[str, tuple[float, int]]]) -> str:
    done, found = entry
    parts = [f"{role} {rss:.0f} MB/{fds} fd" for role, (rss, fds) in found.items()]
    return f"{done:>5} tasks: " + ", ".join(parts)


def report(samples, outcomes: Counter[str], elapsed: float, left: Counter[str], args) -> None:
    print(f"\n{sum(outcomes.values())} requests in {elapsed:.0f} s, {args.clients} clients")
    for outcome, count in outcomes.most_common():
        print(f"  {count:>5}  {outcome}")
    print(f"files left in the data dir after shutdown: {dict(left) or 'none'}")
    first, last = samples[0][1], samples[-1][1]
    half = samples[len(samples) // 2]
    print(f"{'process':<9} {'warm MB':>8} {'end MB':>7} {'growth':>7} {'2nd half MB/1k':>15} fds")
    for role in first:
        if role not in last:
            continue
        warm, end = first[role][0], last[role][0]
        tasks = max(samples[-1][0] - half[0], 1)
        slope = (end - half[1].get(role, (end, 0))[0]) / tasks * 1000
        fds = f"{first[role][1]} -> {last[role][1]}"
        print(
            f"{role:<9} {warm:>8.0f} {end:>7.0f} {(end - warm) / warm:>7.1%} {slope:>15.1f} {fds}"
        )
    worst = max((last[r][0] - first[r][0]) / first[r][0] for r in first if r in last)
    print(f"largest growth after warm-up: {worst:.1%} (bound: 10 %)")


if __name__ == "__main__":
    main()
