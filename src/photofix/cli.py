"""`photofix` command line: serve the API, manage keys, process files locally.

Only this layer turns typed errors into exit codes (each PhotofixError declares its own).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from photofix.config import Settings, load_settings
from photofix.errors import PhotofixError
from photofix.keys import KeyStore

app = typer.Typer(
    help="photofix: document scanning and product cut-outs, offline, PicWish-compatible.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(
    help="Manage API keys (stored hashed in the data dir).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")

# soft_wrap: a key or a curl line must never be broken across lines (it is copied and pasted).
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="PHOTOFIX_DATA_DIR", help="Task store, results and keys live here."
    ),
]


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except Exception as exc:  # pydantic's ValidationError lists every bad setting
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[int | None, typer.Option(help="Image worker processes.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the HTTP API with its embedded worker pool (no other services needed)."""
    settings = _settings(host=host, port=port, workers=workers, data_dir=data_dir)
    _share_metrics(settings, "api")  # before photofix.api imports prometheus_client
    import uvicorn

    from photofix.api import create_app

    _announce(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Worker processes (default: PHOTOFIX_WORKERS, cores).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on this port.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run a Celery worker for the scale-out runtime: it takes task ids from Redis
    (PHOTOFIX_REDIS_URL) and keeps the models warm in each of its processes."""
    settings = _settings(data_dir=data_dir, runtime="celery")
    # One directory per worker sharing the data dir; set before prometheus_client is imported.
    _share_metrics(settings, f"worker-{os.getpid()}")
    from photofix.tasks.runner_celery import run_worker

    if metrics_port is not None:
        from prometheus_client import start_http_server

        from photofix import metrics

        start_http_server(metrics_port, registry=metrics.registry())
    run_worker(settings, concurrency=concurrency or settings.workers)


@app.command()
def remote(
    inputs: Annotated[list[Path], typer.Argument(help="Image files.")],
    server: Annotated[str, typer.Option(envvar="PHOTOFIX_SERVER", help="API base URL.")],
    key: Annotated[str, typer.Option(envvar="PHOTOFIX_API_KEY", help="API key.")],
    type_: Annotated[
        int, typer.Option("--type", "-t", min=0, max=4, help="0 scan ... 4 cut out.")
    ] = 1,
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Where results go.")] = Path("."),
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1)] = 4,
    timeout: Annotated[float, typer.Option(help="Seconds per image before giving up.")] = 120.0,
) -> None:
    """Send images to a photofix (or PicWish-compatible) server, N at a time."""
    import asyncio

    from photofix.remote import process_remote

    out_dir.mkdir(parents=True, exist_ok=True)
    progress = _batch_progress(len(inputs))
    with progress:
        bar = progress.add_task("sending", total=len(inputs))
        failures = asyncio.run(
            process_remote(
                inputs,
                server=server,
                key=key,
                task_type=type_,
                out_dir=out_dir,
                concurrency=concurrency,
                timeout=timeout,
                on_done=lambda path, outcome: _report_remote(progress, bar, path, outcome),
            )
        )
    raise typer.Exit(1 if failures else 0)


def _batch_progress(count: int) -> Progress:
    """A progress bar on stderr for batches (none for a single image)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=count < 2,
    )


def _report_remote(progress: Progress, bar: TaskID, path: Path, outcome: str) -> None:
    err.print(f"{path} -> {outcome}", highlight=False)
    progress.advance(bar)


def _share_metrics(settings: Settings, role: str) -> None:
    """Point prometheus_client's multiprocess mode at a fresh directory of this node's, before
    anything imports it, so the worker processes' counters reach this process's /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return  # the operator chose one
    root = settings.data_dir / "metrics"
    for old in root.glob("worker-*"):  # samples of workers that are gone
        pid = old.name.removeprefix("worker-")
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            shutil.rmtree(old, ignore_errors=True)
    directory = root / role
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _announce(settings: Settings) -> None:
    """On a first run, create a key and show how to call the service with it."""
    store = KeyStore(settings.keys_path)
    base = f"http://{settings.host}:{settings.port}"
    if store.list():
        err.print(
            f"photofix on {base} (data in {settings.data_dir}); "
            f"{len(store.list())} API key(s) configured. New one: photofix keys create NAME"
        )
        return
    _, token = store.create("default")
    err.print(f"[bold]photofix[/bold] on {base}  (data in {settings.data_dir})")
    err.print(f"Your API key (shown once, stored hashed): [bold green]{token}[/bold green]")
    err.print(
        "Try it:\n"
        f"  curl -H 'X-API-KEY: {token}' -F sync=1 -F type=2 -F return_type=3 \\\n"
        f"       -F image_file=@photo.jpg {base}/api/tasks/visual/correction -o scan.jpg\n"
        f"API docs: {base}/docs"
    )


@keys_app.command("create")
def keys_create(name: str, data_dir: DataDir = None) -> None:
    """Create a key and print it once; only its hash is stored."""
    settings = _settings(data_dir=data_dir)
    key, token = KeyStore(settings.keys_path).create(name)
    err.print(f"created key {key.name!r} (id {key.key_id}); it is shown only now:")
    out.print(token, highlight=False)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List key names and ids (never the keys)."""
    settings = _settings(data_dir=data_dir)
    for key in KeyStore(settings.keys_path).list():
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(key.created_at))
        out.print(f"{key.key_id}  {key.name}  created {created}")


@keys_app.command("revoke")
def keys_revoke(name_or_id: str, data_dir: DataDir = None) -> None:
    """Delete a key by name or id."""
    settings = _settings(data_dir=data_dir)
    if not KeyStore(settings.keys_path).revoke(name_or_id):
        err.print(f"no key named {name_or_id!r}")
        raise typer.Exit(4)


@app.command()
def process(
    inputs: Annotated[list[Path], typer.Argument(help="Image files.", exists=False)],
    type_: Annotated[
        int,
        typer.Option(
            "--type", "-t", min=0, max=4, help="0 scan, 1 enhance, 2 both, 3 crop, 4 cut out."
        ),
    ] = 1,
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Where results go.")] = Path("."),
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="png | jpg | webp (default: by result)")
    ] = None,
    enhance: Annotated[
        str | None, typer.Option(help="types 1, 2: color (default) | gray | bw | none")
    ] = None,
    margin: Annotated[
        str | None, typer.Option(help="types 3, 4: crop margin in px ('40') or percent ('5%')")
    ] = None,
    aspect: Annotated[
        str | None, typer.Option(help="types 3, 4: crop aspect W:H (1:1, 4:5) or 'original'")
    ] = None,
    bg_color: Annotated[
        str | None, typer.Option("--bg-color", help="type 4: fill colour (#RRGGBB)")
    ] = None,
    keep_shadow: Annotated[
        bool, typer.Option("--keep-shadow", help="type 4: keep the contact shadow as soft alpha")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(help="types 3, 4: segmentation model (u2netp, or one in the models dir)"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per image (with meta).")
    ] = False,
) -> None:
    """Process images locally, without a server."""
    from photofix.local import process_file
    from photofix.models.catalog import available_models
    from photofix.options import parse_options

    settings = _settings()
    try:
        options = parse_options(
            type=type_,
            output_format=fmt,
            enhance=enhance,
            crop_margin=margin,
            aspect=aspect,
            bg_color=bg_color,
            keep_shadow="1" if keep_shadow else None,
            model=model,
            models=available_models(settings.models_dir),
        )
    except PhotofixError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(exc.exit_code) from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    exit_code = 0
    progress = _batch_progress(len(inputs))
    with progress:
        bar = progress.add_task("processing", total=len(inputs))
        for path in inputs:
            progress.update(bar, description=path.name)
            try:
                report = process_file(path, out_dir, settings, options)
            except PhotofixError as exc:
                exit_code = exit_code or exc.exit_code
                report = {"input": str(path), "error": exc.message, "code": exc.exit_code}
                if not as_json:
                    err.print(f"[red]{path}: {exc.message}[/red]")
            except OSError as exc:
                exit_code = exit_code or 1
                report = {"input": str(path), "error": str(exc), "code": 1}
                if not as_json:
                    err.print(f"[red]{path}: {exc}[/red]")
            else:
                if not as_json:
                    err.print(f"{path} -> {report['output']}")
            if as_json:
                sys.stdout.write(json.dumps(report) + "\n")
                sys.stdout.flush()
            progress.advance(bar)
    raise typer.Exit(exit_code)
