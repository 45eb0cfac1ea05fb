"""Peak resident memory of one worker-like process handling one image twice, models included.

    .venv/bin/python bench/peak_rss.py TYPE IMAGE [--threads N]

Run it as a fresh process per measurement; prints one JSON line with megabytes. `peak_mb` is
the kernel's high-water mark of this program (VmHWM, reset by exec). `ru_maxrss_mb` is
getrusage's figure, which is the same when started from a shell, but on Linux a process
started from a big parent inherits that parent's peak through fork + exec, so a benchmark
spawning this script reads VmHWM.
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

from photofix.imaging.codec import ImageLimits
from photofix.models import load_models
from photofix.pipelines import PipelineOptions
from photofix.process import process_image


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("type", type=int)
    parser.add_argument("image", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    data = args.image.read_bytes()
    models = load_models(args.threads)
    loaded = vm_hwm_mb()
    # Twice: onnxruntime's arena grows again on the second run, and a worker runs many.
    for _ in range(2):
        process_image(data, PipelineOptions(type=args.type), models, ImageLimits())
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    result = {"models_mb": loaded, "peak_mb": vm_hwm_mb(), "ru_maxrss_mb": ru_maxrss}
    print(json.dumps({"type": args.type} | {k: round(v) for k, v in result.items()}))


if __name__ == "__main__":
    main()
