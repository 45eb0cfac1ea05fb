"""`photofix` command line: serve the API, run workers, manage keys, process images locally or
through a server.

Only this layer turns typed errors into exit codes (each PhotofixError declares its own, an
errors.ExitCode; EXIT_CODES lists them all for --help). Result lines go to stdout, one per
input; progress, notes, errors and the closing summary go to stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from photofix import errors
from photofix.batch import (
    RESULT_WORDS,
    Batch,
    Done,
    ResultWriter,
    Source,
    Tally,
    collect,
    describe,
    reason,
    shown,
)
from photofix.config import Settings, load_settings
from photofix.errors import ExitCode, InternalError, OutputUnwritable, PhotofixError
from photofix.keys import KeyStore


def _tidy(params: list[Any]) -> list[Any]:
    """Help as a person reads it: a flag shows no "<bool>", an argument with a metavar shows
    no "<list[Path]>" (its metavar says it). Typer 0.29 has no switch for either."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and param.metavar:
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    return params


def _no_type(ctx: object) -> None:
    return None


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """`IMAGE...` in the usage line, not typer's `{inputs}...`."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument) and param.metavar:
                pieces.append(param.metavar)
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))


app = typer.Typer(
    cls=_Group,
    help="photofix: document scanning and product cut-outs, offline, PicWish-compatible.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(
    cls=_Group, help="Manage API keys (stored hashed in the data dir).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")

# soft_wrap: a key or a curl line must never be broken across lines (it is copied and pasted).
err = Console(stderr=True, soft_wrap=True, highlight=False)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="PHOTOFIX_DATA_DIR",
        metavar="DIR",
        help="Task store, results and keys live here.",
    ),
]

EXIT_CODES: list[tuple[ExitCode, str]] = [
    (ExitCode.OK, "every input done"),
    (ExitCode.INTERNAL_ERROR, "internal error (a bug: please report it)"),
    (ExitCode.BAD_REQUEST, "bad option, usage or key name"),
    (ExitCode.UNAUTHORIZED, "the server refused the API key"),
    (ExitCode.NOT_FOUND, "not found (keys revoke: no such key)"),
    (ExitCode.IMAGE_TOO_LARGE, "image too large"),
    (ExitCode.UNSUPPORTED_FORMAT, "unsupported format"),
    (ExitCode.INVALID_IMAGE, "invalid image (broken or truncated)"),
    (ExitCode.DOWNLOAD_FAILED, "the server could not download the image"),
    (ExitCode.TIMED_OUT, "timed out"),
    (ExitCode.RATE_LIMITED, "rate limited by the server"),
    (ExitCode.OVERLOADED, "server overloaded"),
    (ExitCode.MODEL_ERROR, "a model is missing or broken"),
    (ExitCode.STORE_UNAVAILABLE, "the server's store is unavailable"),
    (
        ExitCode.PARTIAL_FAILURE,
        "some inputs failed: others were done, or they failed for several reasons",
    ),
    (ExitCode.INPUT_MISSING, "input missing"),
    (ExitCode.INPUT_UNREADABLE, "input unreadable (permission, a path through a file, no image)"),
    (ExitCode.OUTPUT_EXISTS, "a result exists already (--overwrite replaces it)"),
    (ExitCode.OUTPUT_IS_INPUT, "a result would replace an input (never done)"),
    (ExitCode.OUTPUT_UNWRITABLE, "a result cannot be written"),
    (ExitCode.SERVER_UNREACHABLE, "server unreachable (refused, no such host, timeout)"),
    (ExitCode.SERVER_ERROR, "server error (5xx) or an answer that is no photofix/PicWish answer"),
]

_NAMING = (
    "Results are named after their input and type ("
    + ", ".join(f"{t} -{word}" for t, word in RESULT_WORDS.items())
    + "): page.jpg gives page-scan.jpg for type 2. They go beside their input, or to --out-dir"
    " keeping the inputs' folders below their common folder. An existing file is never"
    " replaced without --overwrite, and an input never. Folders are searched recursively for"
    " images; other files are skipped with a note."
)


def _epilog(examples: list[str]) -> str:
    """Examples, naming and exit codes (typer's rich help keeps the line breaks)."""
    codes = "\n".join(f"  {code:>2}  {text}" for code, text in EXIT_CODES)
    return "\n\n".join(
        [
            "Examples:\n" + "\n".join(f"  {line}" for line in examples),
            _NAMING,
            "Exit codes (when every input failed for one reason, that reason's):\n" + codes,
        ]
    )


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except Exception as exc:  # pydantic's ValidationError lists every bad setting
        err.print(Text(f"invalid settings: {exc}", style="red"))
        raise typer.Exit(errors.BadRequest.exit_code) from exc


def _fail(message: str, code: ExitCode) -> NoReturn:
    err.print(Text(message, style="red"))
    raise typer.Exit(code)


@app.command(cls=_Command)
def serve(
    host: Annotated[
        str | None, typer.Option(metavar="HOST", help="Interface to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port (default 8000).")] = None,
    workers: Annotated[
        int | None, typer.Option(metavar="N", help="Image worker processes.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the HTTP API with its embedded worker pool (no other services needed)."""
    settings = _settings(host=host, port=port, workers=workers, data_dir=data_dir)
    _share_metrics(settings, "api")  # before photofix.api imports prometheus_client
    import uvicorn

    from photofix.api import create_app

    _announce(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command(cls=_Command)
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(metavar="N", help="Worker processes (default: PHOTOFIX_WORKERS, cores)."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(metavar="PORT", help="Serve this worker's Prometheus metrics on this port."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run a Celery worker for the scale-out runtime: it takes task ids from Redis
    (PHOTOFIX_REDIS_URL) and keeps the models warm in each of its processes."""
    settings = _settings(data_dir=data_dir, runtime="celery")
    # One directory per worker sharing the data dir; set before prometheus_client is imported.
    _share_metrics(settings, f"worker-{os.getpid()}")
    from photofix.runtime import run_celery_worker

    if metrics_port is not None:
        from prometheus_client import start_http_server

        from photofix import metrics

        start_http_server(metrics_port, registry=metrics.registry())
    run_celery_worker(settings, concurrency=concurrency or settings.workers)


Inputs = Annotated[
    list[Path],
    typer.Argument(
        metavar="IMAGE...", help="Image files, or folders to search for images (recursively)."
    ),
]


def _check_type(value: int) -> int:
    if value not in RESULT_WORDS:
        raise typer.BadParameter("must be 0, 1, 2, 3 or 4")
    return value


TypeOption = Annotated[
    int,
    typer.Option(
        "--type",
        "-t",
        metavar="0-4",
        callback=_check_type,
        help="0 flatten a document, 1 enhance it, 2 both (a scan), 3 crop a product, 4 cut it out.",
    ),
]
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out-dir",
        "-o",
        metavar="DIR",
        help="Write results here, keeping the inputs' folders (default: beside each input).",
    ),
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace results that exist (never an input).")
]
AsJson = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON object per input (with meta, or the error)."),
]


@app.command(
    cls=_Command,
    epilog=_epilog(
        [
            "photofix remote page.jpg --server http://127.0.0.1:8000 --key pfx_... -t 2",
            "photofix remote photos/ -o scans -c 8  # server, key from the environment",
        ]
    ),
)
def remote(
    inputs: Inputs,
    server: Annotated[
        str, typer.Option(envvar="PHOTOFIX_SERVER", metavar="URL", help="API base URL.")
    ],
    key: Annotated[str, typer.Option(envvar="PHOTOFIX_API_KEY", metavar="KEY", help="API key.")],
    type_: TypeOption = 1,
    out_dir: OutDir = None,
    overwrite: Overwrite = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, metavar="N", help="Images in flight.")
    ] = 4,
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds per image before giving up.")
    ] = 120.0,
    as_json: AsJson = False,
) -> None:
    """Send images to a photofix (or PicWish-compatible) server, N at a time."""
    import asyncio

    from photofix.remote import check_key, check_server, process_remote

    try:
        check_server(server)
        check_key(key)
    except PhotofixError as exc:
        _fail(exc.message, exc.exit_code)
    batch = _collect(inputs, type_, out_dir)
    report = _Report(as_json, type_, batch)
    writer = ResultWriter(batch.inputs, overwrite=overwrite)
    with _progress(len(batch.sources)) as progress:
        bar = progress.add_task("sending", total=len(batch.sources))

        def done(source: Source, outcome: Done | PhotofixError) -> None:
            report.outcome(source.path, outcome)
            progress.advance(bar)

        asyncio.run(
            process_remote(
                batch.sources,
                server=server,
                key=key,
                task_type=type_,
                writer=writer,
                concurrency=concurrency,
                timeout=timeout,
                on_done=done,
            )
        )
    report.finish()


@app.command(
    cls=_Command,
    epilog=_epilog(
        [
            "photofix process page.jpg -t 2         # page-scan.jpg beside page.jpg",
            "photofix process photos -t 4 -o out    # photos/a/x.png: out/a/x-cutout.png",
            "photofix process *.jpg -t 0 --json > report.jsonl",
        ]
    ),
)
def process(
    inputs: Inputs,
    type_: TypeOption = 1,
    out_dir: OutDir = None,
    overwrite: Overwrite = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="png, jpg or webp (default: jpg, or png when the result has transparency).",
        ),
    ] = None,
    enhance: Annotated[
        str | None,
        typer.Option(metavar="MODE", help="Types 1, 2: color (default), gray, bw or none."),
    ] = None,
    margin: Annotated[
        str | None,
        typer.Option(metavar="MARGIN", help="Types 3, 4: crop margin in px (40) or percent (5%)."),
    ] = None,
    aspect: Annotated[
        str | None,
        typer.Option(metavar="W:H", help="Types 3, 4: crop aspect (1:1, 4:5) or 'original'."),
    ] = None,
    bg_color: Annotated[
        str | None,
        typer.Option("--bg-color", metavar="#RRGGBB", help="Type 4: fill the background."),
    ] = None,
    keep_shadow: Annotated[
        bool, typer.Option("--keep-shadow", help="Type 4: keep the contact shadow as soft alpha.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Types 3, 4: segmentation model (u2netp, or one in the models dir).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Process images here, without a server."""
    from photofix.local import LocalProcessor, extension
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
            max_side=settings.max_image_side,
        )
    except PhotofixError as exc:
        _fail(exc.message, exc.exit_code)
    batch = _collect(inputs, type_, out_dir)
    report = _Report(as_json, type_, batch)
    if batch.sources:
        try:
            processor = LocalProcessor(settings, options)
        except PhotofixError as exc:  # a broken model: no image would fare better
            _fail(exc.message, exc.exit_code)
        writer = ResultWriter(batch.inputs, overwrite=overwrite)

        def one(source: Source) -> Done:
            image = processor.run(source.path)
            return Done(writer.write(source, extension(image.format), image.data), image.meta)

        with _progress(len(batch.sources)) as progress:
            bar = progress.add_task("processing", total=len(batch.sources))
            for source in batch.sources:
                progress.update(bar, description=shown(source.path.name))
                report.outcome(source.path, _outcome(one, source))
                progress.advance(bar)
    report.finish()


def _outcome(work: Callable[[Source], Done], source: Source) -> Done | PhotofixError:
    """The result, or what stopped it (a bug on one input must not cost the rest its turn)."""
    try:
        return work(source)
    except PhotofixError as exc:
        return exc
    except Exception as exc:
        return InternalError.of(exc)


def _collect(inputs: list[Path], task_type: int, out_dir: Path | None) -> Batch:
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _fail(f"--out-dir {shown(out_dir)}: {describe(exc)}", OutputUnwritable.exit_code)
    return collect(inputs, RESULT_WORDS[task_type], out_dir)


class _Report:
    """Result lines on stdout, one per input (`input -> output`, or a JSON object with --json);
    notes, errors and the closing summary line on stderr."""

    def __init__(self, as_json: bool, task_type: int, batch: Batch) -> None:
        self._json = as_json
        self._type = task_type
        self.tally = Tally()
        for path, why in batch.skipped:
            self.tally.skipped += 1
            err.print(Text(f"skipped {shown(path)}: {why}", style="dim"))
        for path, error in batch.failed:
            self.outcome(path, error)

    def outcome(self, path: Path, outcome: Done | PhotofixError) -> None:
        if isinstance(outcome, Done):
            self.tally.done += 1
            if self._json:
                self._print_json(
                    input=str(path), output=str(outcome.target), type=self._type, meta=outcome.meta
                )
            else:
                print(f"{shown(path)} -> {shown(outcome.target)}", flush=True)
            return
        self.tally.failures.append(outcome)
        err.print(Text(f"{shown(path)}: {outcome.message}", style="red"))
        if self._json:
            self._print_json(
                input=str(path),
                error=outcome.message,
                reason=reason(outcome),
                code=outcome.exit_code,
            )

    @staticmethod
    def _print_json(**report: Any) -> None:
        print(json.dumps(report), flush=True)

    def finish(self) -> NoReturn:
        err.print(self.tally.summary())
        raise typer.Exit(self.tally.exit_code())


def _progress(count: int) -> Progress:
    """A progress bar on stderr for batches (none for a single image). Only when both streams
    are a terminal do result lines pass through it (to print above the bar): otherwise a line
    written to stdout would end up on stderr."""
    interactive = sys.stdout.isatty() and sys.stderr.isatty()
    return Progress(
        TextColumn("{task.description}", markup=False),  # a file name is no markup
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=count < 2,
        redirect_stdout=interactive,
        redirect_stderr=interactive,
    )


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


@keys_app.command(
    "create",
    cls=_Command,
    epilog="Example:\n  TOKEN=$(photofix keys create ci)\nOnly the key goes to stdout.",
)
def keys_create(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Who or what uses the key, e.g. ci or alice.")
    ],
    data_dir: DataDir = None,
) -> None:
    """Create a key and print it once on stdout; only its hash is stored."""
    settings = _settings(data_dir=data_dir)
    try:
        key, token = KeyStore(settings.keys_path).create(name)
    except PhotofixError as exc:
        _fail(exc.message, exc.exit_code)
    err.print(Text(f"created key {key.name!r} (id {key.key_id}); it is shown only now:"))
    print(token, flush=True)


@keys_app.command("list", cls=_Command)
def keys_list(data_dir: DataDir = None) -> None:
    """List key ids and names (never the keys)."""
    settings = _settings(data_dir=data_dir)
    keys = KeyStore(settings.keys_path).list()
    if not keys:
        err.print("no keys yet: photofix keys create NAME")
    for key in keys:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(key.created_at))
        print(f"{key.key_id}  {key.name}  created {created}")


@keys_app.command("revoke", cls=_Command)
def keys_revoke(
    name_or_id: Annotated[
        str, typer.Argument(metavar="NAME_OR_ID", help="As `photofix keys list` shows it.")
    ],
    data_dir: DataDir = None,
) -> None:
    """Delete a key by name or id: requests with it are refused from now on."""
    settings = _settings(data_dir=data_dir)
    revoked = KeyStore(settings.keys_path).revoke(name_or_id)
    if not revoked:
        _fail(
            f"no key has the name or id {name_or_id!r} (photofix keys list shows them)",
            errors.TaskNotFound.exit_code,
        )
    for key in revoked:
        print(f"revoked key {key.name!r} (id {key.key_id})")
