"""Reliability over a folder of images nobody here made: every file through upload validation
and all five types, each in a worker process with a deadline; every outcome classified.

    .venv/bin/python bench/corpus.py DIR [--types 0,1,2,3,4] [--timeout 60] [--jobs 2]
        [--out bench/out/corpus.json]

A public regression corpus is the point: Pillow's own test images (Tests/images of
github.com/python-pillow/Pillow: valid files in every mode and format it reads, plus fuzzer
crash, OOM and bomb files) are what the issue's held-out corpus looks like. Never commit them.

Per file and type the outcome is one of: `done` (state 1), `refused <status>` (a typed error:
the HTTP status the API would answer, or the task state a worker would end in), `BUG` (an
untyped exception: a 500 or state -1), `HANG` (over the deadline) or `DIED` (the worker
process crashed). Beside it: whether Pillow itself opens and fully loads the file, so "Pillow
reads it, we refuse" stands out for review (a spec format we should take, or a refusal to
justify). Exit status 1 when there is any BUG, HANG or DIED.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

ROOT = Path(__file__).resolve().parents[1]

_models = None


def _init() -> None:
    global _models
    from photofix.models import load_models

    _models = load_models()


def pillow_reads(data: bytes) -> str:
    """'yes' when Pillow opens and loads the first frame; else the error's class name."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return f"yes ({im.format} {im.mode} {im.size[0]}x{im.size[1]})"
    except Exception as exc:
        return f"no ({type(exc).__name__})"


def check_file(path: str, types: list[int]) -> dict[str, object]:
    """Validation and each type for one file, in this worker process."""
    from photofix.errors import PhotofixError
    from photofix.imaging import codec
    from photofix.pipelines import PipelineOptions
    from photofix.process import process_image

    data = Path(path).read_bytes()
    report: dict[str, object] = {"file": path, "bytes": len(data), "pillow": pillow_reads(data)}
    limits = codec.ImageLimits()

    def outcome(run) -> str:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            run()
        except PhotofixError as exc:
            return f"refused {exc.http_status}/{exc.state}: {exc.message[:120]}"
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            return f"BUG {type(exc).__name__} at {where}: {str(exc)[:120]}"
        return f"done in {time.perf_counter() - started:.2f} s"

    report["validate"] = outcome(lambda: codec.validate(data, limits))
    if not str(report["validate"]).startswith("done"):
        return report
    for task_type in types:
        options = PipelineOptions(type=task_type)
        report[f"type{task_type}"] = outcome(
            lambda options=options: process_image(data, options, _models, limits)
        )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--types", default="0,1,2,3,4")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per file")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "corpus.json")
    args = parser.parse_args()
    types = [int(t) for t in args.types.split(",") if t]
    files = sorted(str(p) for p in args.folder.rglob("*") if p.is_file())
    reports: list[dict[str, object]] = []
    with ProcessPool(max_workers=args.jobs, initializer=_init) as pool:
        futures = [
            (path, pool.schedule(check_file, args=(path, types), timeout=args.timeout))
            for path in files
        ]
        for path, future in futures:
            try:
                reports.append(future.result())
            except FutureTimeout:
                reports.append({"file": path, "validate": "HANG over the deadline"})
            except ProcessExpired as exc:
                reports.append({"file": path, "validate": f"DIED exit code {exc.exitcode}"})
    return summarise(reports, types, args.out)


def summarise(reports: list[dict[str, object]], types: list[int], out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(reports, indent=1))
    counts: Counter[str] = Counter()
    alarming = []
    for report in reports:
        for step in ["validate", *(f"type{t}" for t in types)]:
            value = str(report.get(step, ""))
            if not value:
                continue
            kind = value.split(":")[0].split(" in ")[0]
            counts[f"{step}: {kind}"] += 1
            if value.startswith(("BUG", "HANG", "DIED")):
                alarming.append(f"{report['file']} {step}: {value}")
        if str(report["validate"]).startswith("refused") and str(report["pillow"]).startswith(
            "yes"
        ):
            counts["Pillow reads it, we refuse"] += 1
    print(f"{len(reports)} files; per-step outcomes:")
    for name, count in sorted(counts.items()):
        print(f"  {count:>5}  {name}")
    for line in alarming:
        print("  !", line)
    print(f"details: {out}")
    return 1 if alarming else 0


if __name__ == "__main__":
    sys.exit(main())
