"""`photofix remote`: many images through a server with a bounded number in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from photofix.client import AsyncClient, ClientError

_SUFFIX = {"jpeg": "jpg", "png": "png", "webp": "webp"}


async def process_remote(
    inputs: list[Path],
    *,
    server: str,
    key: str,
    task_type: int,
    out_dir: Path,
    concurrency: int,
    timeout: float,
    on_done: Callable[[Path, str], None],
) -> int:
    """Process every input, `concurrency` at a time; returns how many failed. `on_done`
    hears each input with its output path or the error."""
    gate = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(client: AsyncClient, path: Path) -> None:
        nonlocal failures
        async with gate:
            try:
                result = await client.correct(path, type=task_type, timeout=timeout)
            except (ClientError, OSError) as exc:
                failures += 1
                on_done(path, f"error: {exc}")
                return
        suffix = _SUFFIX.get(str(result.meta.get("format")), "jpg")
        target = out_dir / f"{path.stem}.{suffix}"
        target.write_bytes(result.image)
        on_done(path, str(target))

    async with AsyncClient(server, key) as client:
        await asyncio.gather(*(one(client, path) for path in inputs))
    return failures
