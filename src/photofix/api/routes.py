"""The PicWish-compatible routes, plus signed result downloads and health checks."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from photofix import fetch, metrics
from photofix.api.deps import AppState, KeyDep, KeyFirstRoute, StateDep
from photofix.api.envelope import envelope, error_response
from photofix.api.schemas import (
    CREATE_ERRORS,
    QUERY_ERRORS,
    CreatedEnvelope,
    TaskEnvelope,
    task_data,
)
from photofix.errors import BadRequest, ImageTooLarge, PhotofixError
from photofix.models.catalog import available_models
from photofix.options import parse_options
from photofix.storage.local import RESULTS_ROUTE
from photofix.tasks.model import State, Task

TASKS_PATH = "/api/tasks/visual/correction"

router = APIRouter()
# Routes that take an upload: the key is checked before the body is read, which the app
# counts against its limit as it streams in (app.create_app).
upload_router = APIRouter(route_class=KeyFirstRoute)


@upload_router.post(
    TASKS_PATH,
    response_model=CreatedEnvelope,
    responses={
        **CREATE_ERRORS,
        200: {
            "description": "async: the task id; sync: the task (or, with return_type 3, the "
            "image bytes with X-Task-* headers)",
            "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
        },
    },
    summary="Create a visual-correction task",
    tags=["tasks"],
)
async def create_task(
    request: Request,
    state: StateDep,
    key: KeyDep,
    image_file: Annotated[UploadFile | None, File(description="source image bytes")] = None,
    image_url: Annotated[str | None, Form(description="source image URL (http/https)")] = None,
    sync: Annotated[int, Form(description="1: wait and return the result")] = 0,
    type: Annotated[int, Form(description="0 scan, 1 enhance, 2 both, 3 crop, 4 cut out")] = 1,
    return_type: Annotated[int, Form(description="1 URL, 2 base64, 3 raw bytes")] = 1,
    output_format: Annotated[
        str | None, Form(alias="format", description="png | jpg | webp (beyond PicWish)")
    ] = None,
    enhance: Annotated[
        str | None, Form(description="types 1, 2: color (default) | gray | bw | none")
    ] = None,
    corners: Annotated[
        str | None,
        Form(description="types 0, 2: use this page quad, 8 numbers x,y of TL TR BR BL"),
    ] = None,
    crop_margin: Annotated[
        str | None, Form(description="types 3, 4: margin in px ('40') or percent ('5%')")
    ] = None,
    aspect: Annotated[
        str | None, Form(description="types 3, 4: crop aspect 'W:H' (e.g. 1:1, 4:5) or 'original'")
    ] = None,
    bg_color: Annotated[
        str | None, Form(description="type 4: fill colour instead of transparency (#RRGGBB)")
    ] = None,
    keep_shadow: Annotated[
        str | None, Form(description="type 4: 1 keeps the contact shadow as soft alpha")
    ] = None,
    model: Annotated[
        str | None, Form(description="types 3, 4: segmentation model offered by this server")
    ] = None,
) -> Any:
    options = parse_options(
        sync=sync,
        type=type,
        return_type=return_type,
        output_format=output_format,
        enhance=enhance,
        corners=corners,
        crop_margin=crop_margin,
        aspect=aspect,
        bg_color=bg_color,
        keep_shadow=keep_shadow,
        model=model,
        models=available_models(state.settings.models_dir),
        max_side=state.settings.max_image_side,
    )
    image_url = image_url or None
    if (image_file is None) == (image_url is None):
        raise BadRequest("give exactly one of image_file or image_url", field="image_file")
    data = None
    if image_file is not None:
        data = await _read_upload(image_file, state.settings.max_image_bytes)
    else:
        image_url = fetch.validate_image_url(image_url or "")
    task = await anyio.to_thread.run_sync(
        lambda: state.service.create(key.key_id, options, image_bytes=data, image_url=image_url)
    )
    if not sync:
        return envelope({"task_id": task.task_id})
    task = await state.service.wait(key.key_id, task.task_id, state.settings.sync_timeout)
    return await _render(request, state, task, binary=options.return_type == 3)


@router.get(
    TASKS_PATH + "/{task_id}",
    response_model=TaskEnvelope,
    responses=QUERY_ERRORS,
    summary="Query a task",
    tags=["tasks"],
)
async def get_task(request: Request, state: StateDep, key: KeyDep, task_id: str) -> Any:
    task = await anyio.to_thread.run_sync(state.service.get, key.key_id, task_id)
    return await _render(request, state, task, binary=False)


@router.get(RESULTS_ROUTE + "/{kind}/{name}", include_in_schema=False)
async def download_result(
    state: StateDep,
    kind: str,
    name: str,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query()],
) -> Response:
    store = state.local_results
    blob = f"{kind}/{name}"
    if store is None or kind != "results" or not store.verify(blob, expires, signature):
        return error_response(403, "result URL is invalid or has expired")
    path = store.path(blob)
    if not path.is_file():
        return error_response(404, "result no longer exists")
    return FileResponse(path, media_type=_media_type(name))


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(state: StateDep) -> JSONResponse:
    """Readiness: the task store and the result store answer, and tasks can run (a worker pool
    that can start, or a broker); 503 otherwise."""
    checks = {}
    for name, ping in (
        ("task_store", state.service.store.ping),
        ("result_store", state.service.results.ping),
        ("runner", state.service.runner.ping),
    ):
        try:
            checks[name] = bool(await anyio.to_thread.run_sync(ping))
        except PhotofixError:
            checks[name] = False
    ready = all(checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(state: StateDep) -> Response:
    """Prometheus metrics of this node (API and its workers) and the queue depth."""
    body, content_type = await anyio.to_thread.run_sync(metrics.render, state.metrics)
    return Response(body, media_type=content_type)


async def _read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageTooLarge(f"image_file is over the {max_bytes / (1024 * 1024):g} MB limit")
    if not data:
        raise BadRequest("image_file is empty", field="image_file")
    return data


async def _render(request: Request, state: AppState, task: Task, *, binary: bool) -> Response:
    """The task as PicWish's envelope, or as the image bytes for a finished return_type 3."""
    finished = task.state == State.SUCCEEDED and task.result_blob is not None
    if binary and finished:
        body = await anyio.to_thread.run_sync(state.service.results.get, task.result_blob)
        return Response(body, media_type=task.result_content_type, headers=_task_headers(task))
    image = None
    if finished:
        image = await _image_field(request, state, task)
    return JSONResponse(envelope(task_data(task, image).model_dump()))


async def _image_field(request: Request, state: AppState, task: Task) -> str | None:
    assert task.result_blob is not None
    if task.options.return_type == 2:
        data = await anyio.to_thread.run_sync(state.service.results.get, task.result_blob)
        return base64.b64encode(data).decode("ascii")
    base_url = state.settings.public_url or str(request.base_url)
    return state.service.results.url(task.result_blob, task.expires_at, base_url)


def _task_headers(task: Task) -> dict[str, str]:
    data = task_data(task, None).model_dump(exclude={"image", "meta"})
    headers = {
        "X-Task-" + name.removeprefix("task_").replace("_", "-").title(): str(value)
        for name, value in data.items()
        if value is not None
    }
    if task.meta is not None:
        headers["X-Task-Meta"] = json.dumps(task.meta, separators=(",", ":"))
    return headers


def _media_type(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    return {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(
        suffix, "application/octet-stream"
    )
