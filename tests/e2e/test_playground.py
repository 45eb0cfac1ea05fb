"""The web playground end to end: a real headless chromium against a live `photofix serve`.

Each test leaves screenshots in test-artifacts/playground/ for a person to look at."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from playwright.sync_api import Locator, Page, Request, Route, expect

from tests.conftest import FileServer
from tests.synth import document_scene, encode, product_scene

TASKS_PATH = "/api/tasks/visual/correction"
TASK_SECONDS = 60_000  # ms: generous for a cold worker on a busy 2-core machine


def natural_size(image: Locator) -> tuple[int, int]:
    width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    return width, height


def to_natural(page: Page, x: float, y: float) -> tuple[float, float]:
    """Screen coordinates over the original photo -> its natural (input) pixels."""
    original = page.locator("#original")
    box = original.bounding_box()
    assert box is not None
    width, height = natural_size(original)
    return (x - box["x"]) * width / box["width"], (y - box["y"]) * height / box["height"]


def handle_centres(page: Page) -> list[tuple[float, float]]:
    """The 4 corner handles where they are drawn on screen."""
    centres = []
    for handle in page.locator("#overlay .handle").all():
        box = handle.bounding_box()
        assert box is not None
        centres.append((box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    return centres


def task_posts(page: Page) -> list[tuple[float, str | None]]:
    """(time, X-API-KEY) of every task the page creates, fulfilled or not. (Chromium does not
    show Playwright a multipart body holding a file, so fields are checked on the server.)"""
    posts: list[tuple[float, str | None]] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith(TASKS_PATH):
            posts.append((time.monotonic(), request.headers.get("x-api-key")))

    page.on("request", record)
    return posts


def server_task(base: str, key: str, result: Locator) -> dict[str, Any]:
    """The task behind the result shown, as the API reports it."""
    task_id = result.get_attribute("data-task-id")
    response = httpx.get(f"{base}{TASKS_PATH}/{task_id}", headers={"X-API-KEY": key})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def go(page: Page, kind: str) -> None:
    page.get_by_role("radio", name=kind).check()
    page.get_by_role("button", name="Go", exact=True).click()


def wait_done(page: Page, previous_src: str | None = None) -> Locator:
    result = page.locator("#result")
    if previous_src is not None:  # a re-run: wait for the new result, not the old one
        expect(result).not_to_have_attribute("src", previous_src, timeout=TASK_SECONDS)
    expect(page.locator("#status")).to_have_attribute("data-state", "done", timeout=TASK_SECONDS)
    expect(result).to_be_visible()
    expect(result).to_have_attribute("src", re.compile(r"^blob:"))
    assert natural_size(result)[0] > 0, "the result image did not decode"
    return result


def test_scan_document_adjust_corners_and_download(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path
) -> None:
    base, key = served
    scene, truth = document_scene(size=(1200, 900))
    photo = tmp_path / "page.jpg"
    photo.write_bytes(encode(scene, "JPEG", quality=90))
    posts = task_posts(page)

    page.goto(base + "/")
    expect(page).to_have_title("photofix playground")
    page.screenshot(path=artifacts / "01-empty.png")
    page.get_by_label("API key").fill(key)
    page.locator("#file").set_input_files(photo)
    expect(page.locator("#file-name")).to_contain_text("page.jpg")
    go(page, "Scan document")
    result = wait_done(page)
    first_size = natural_size(result)
    assert first_size[1] > first_size[0], "the upright page is portrait"
    assert natural_size(page.locator("#original")) == (1200, 900)

    # The detected corners, drawn over the photo, land on the page's true corners.
    handles = page.locator("#overlay .handle")
    expect(handles).to_have_count(4)
    found = [to_natural(page, x, y) for x, y in handle_centres(page)]
    for (x, y), (tx, ty) in zip(found, truth, strict=True):
        assert abs(x - tx) < 0.03 * 1200 and abs(y - ty) < 0.03 * 900, (found, truth.tolist())
    page.screenshot(path=artifacts / "02-document-result.png", full_page=True)

    # Drag the top-right corner well inside the page and apply: a second task with `corners`.
    start = handle_centres(page)[1]
    original_box = page.locator("#original").bounding_box()
    assert original_box is not None
    target = (start[0] - 0.15 * original_box["width"], start[1] + 0.05 * original_box["height"])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*target, steps=8)
    page.mouse.up()
    moved = to_natural(page, *handle_centres(page)[1])
    expected = to_natural(page, *target)
    assert abs(moved[0] - expected[0]) < 3 and abs(moved[1] - expected[1]) < 3, (moved, expected)
    page.screenshot(path=artifacts / "03-corner-dragged.png", full_page=True)

    first_task = server_task(base, key, result)
    assert first_task["meta"]["document"]["method"] != "user"
    previous = result.get_attribute("src")
    page.get_by_role("button", name="Apply corners").click()
    wait_done(page, previous)
    assert [sent_key for _, sent_key in posts] == [key, key]
    second_task = server_task(base, key, result)
    assert second_task["task_id"] != first_task["task_id"] and second_task["type"] == 0
    document = second_task["meta"]["document"]
    assert document["method"] == "user", document  # the server used the corners it was sent
    used = document["corners"]
    assert abs(used[1][0] - moved[0]) < 1 and abs(used[1][1] - moved[1]) < 1, (used, moved)
    for index in (0, 2, 3):  # the untouched corners go back as they were found
        assert abs(used[index][0] - found[index][0]) < 2, (used, found)
        assert abs(used[index][1] - found[index][1]) < 2, (used, found)
    second_size = natural_size(result)
    assert second_size != first_size  # another quad, another page
    page.screenshot(path=artifacts / "04-corners-applied.png", full_page=True)

    # Before / after: clicking a quarter of the way across moves the split there.
    compare = page.locator("#compare")
    compare.scroll_into_view_if_needed()
    box = compare.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + box["height"] / 2)
    split = compare.evaluate("el => parseFloat(el.style.getPropertyValue('--split'))")
    assert 20 <= split <= 30, split
    compare.screenshot(path=artifacts / "05-before-after.png")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "page-scan.jpg"
    with Image.open(download.path()) as image:
        image.load()
        assert image.format == "JPEG"
        assert image.size == second_size

    # A phone photo stored sideways with EXIF orientation 6: the browser shows it upright, in
    # the same frame as the server's corners, so the handles still land on the page.
    sideways = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(scene).transpose(Image.Transpose.ROTATE_90).save(
        sideways, "JPEG", quality=90, exif=exif.tobytes()
    )
    page.locator("#file").set_input_files(sideways)
    page.get_by_role("button", name="Go", exact=True).click()
    wait_done(page)
    assert natural_size(page.locator("#original")) == (1200, 900)
    found = [to_natural(page, x, y) for x, y in handle_centres(page)]
    for (x, y), (tx, ty) in zip(found, truth, strict=True):
        assert abs(x - tx) < 0.03 * 1200 and abs(y - ty) < 0.03 * 900, (found, truth.tolist())
    page.screenshot(path=artifacts / "05b-exif-oriented.png", full_page=True)


def test_cut_out_on_a_checkerboard_then_crop_from_a_url(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path, file_server: FileServer
) -> None:
    base, key = served
    scene, _ = product_scene(size=(900, 700))
    photo = tmp_path / "mug.jpg"
    photo.write_bytes(encode(scene, "JPEG", quality=90))

    page.goto(base + "/")
    page.get_by_label("API key").fill(key)
    page.locator("#file").set_input_files(photo)
    expect(page.get_by_label("Keep shadow")).to_be_hidden()  # cut-outs only
    page.get_by_role("radio", name="Cut out product").check()
    page.get_by_label("Keep shadow").check()
    go(page, "Cut out product")
    result = wait_done(page)
    assert server_task(base, key, result)["meta"]["shadow"] == "kept"  # asked for, and done
    expect(result).to_have_class(re.compile(r"\bchecker\b"))
    expect(page.locator("#overlay")).to_be_hidden()  # corners are for documents only

    # The transparent margin shows the checkerboard: two alternating greys in the corner.
    result.screenshot(path=artifacts / "06-cutout-checkerboard.png")
    pixels = np.asarray(Image.open(artifacts / "06-cutout-checkerboard.png").convert("RGB"))
    corner = pixels[2:30, 2:30].reshape(-1, 3)
    colours = {tuple(int(c) for c in colour) for colour in corner}
    assert (255, 255, 255) in colours and (213, 217, 224) in colours, colours
    page.screenshot(path=artifacts / "07-cutout-page.png", full_page=True)

    # A background colour is a preview of the fill; the download stays the transparent PNG.
    page.get_by_role("button", name="Black").click()
    expect(result).not_to_have_class(re.compile(r"\bchecker\b"))
    expect(result).to_have_css("background-color", "rgb(17, 17, 17)")
    result.screenshot(path=artifacts / "08-cutout-on-black.png")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    assert info.value.suggested_filename == "mug-cutout.png"
    with Image.open(info.value.path()) as image:
        assert image.mode == "RGBA" and image.size == natural_size(result)
        assert np.asarray(image)[..., 3].min() == 0

    # From a URL: the server downloads it, so there is no original to show or compare.
    url = file_server.serve("/mug.jpg", photo.read_bytes(), **{"Content-Type": "image/jpeg"})
    page.get_by_label("or an image URL").fill(url)
    previous = result.get_attribute("src")
    go(page, "Crop product")
    wait_done(page, previous)
    expect(page.locator("#original-none")).to_be_visible()
    expect(page.locator("#compare-panel")).to_be_hidden()
    expect(result).not_to_have_class(re.compile(r"\bchecker\b"))
    expect(page.get_by_role("link", name="Download")).to_have_attribute("download", "mug-crop.jpg")
    page.screenshot(path=artifacts / "09-crop-from-url.png", full_page=True)


def test_error_messages_and_retry_after(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path
) -> None:
    base, key = served
    scene, _ = document_scene(size=(600, 450))
    photo = tmp_path / "page.jpg"
    photo.write_bytes(encode(scene, "JPEG", quality=85))
    notes = tmp_path / "notes.txt"
    notes.write_text("these are my notes, not a photo\n" * 20)
    posts = task_posts(page)
    message = page.locator("#message")

    page.goto(base + "/")
    page.get_by_role("button", name="Go", exact=True).click()
    expect(page.locator("#key-prompt")).to_contain_text("An API key is needed")

    page.get_by_label("API key").fill("pfx_not-a-real-key")
    page.locator("#file").set_input_files(photo)
    go(page, "Scan document")
    expect(message).to_contain_text("API key refused")
    expect(page.locator("#status")).to_have_attribute("data-state", "error")
    expect(message).to_have_attribute("data-code", "HTTP 401")  # kept out of the words
    page.screenshot(path=artifacts / "10-error-401.png", full_page=True)

    # The key is kept in this browser: a reload brings it back.
    page.get_by_label("API key").fill(key)
    page.reload()
    expect(page.get_by_label("API key")).to_have_value(key)

    # A busy server first (503, Retry-After: 1, faked here), then the real answer.
    busy = {"answered": False}

    def busy_once(route: Route) -> None:
        if route.request.method == "POST" and not busy["answered"]:
            busy["answered"] = True
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body='{"status": 503, "message": "too many tasks in flight", "data": null}',
            )
        else:
            route.fallback()

    page.route("**" + TASKS_PATH, busy_once)
    page.locator("#file").set_input_files(photo)
    go(page, "Enhance text")
    expect(page.locator("#status-text")).to_contain_text("retrying in 1 s")
    wait_done(page)
    page.screenshot(path=artifacts / "11-retried-after-503.png", full_page=True)
    retried = posts[-2:]
    assert len(posts) == 3 and retried[1][0] - retried[0][0] >= 0.9, posts

    # A text file is refused in the page, before anything is sent.
    page.locator("#file").set_input_files(notes)
    expect(message).to_contain_text("This file is not a photo")
    assert len(posts) == 3


# What the server can answer, faked in the browser, and the message each must show.
TASK_URLS = re.compile(re.escape(TASKS_PATH) + r"(/[^/?]+)?$")
CREATED = {"status": 200, "message": "success", "data": {"task_id": "t-1"}}
FAILURES = [
    ("post", 413, {"message": "image_file is over the 20 MB limit"}, "The image is too large"),
    ("post", 400, {"message": "corners must be 8 numbers", "field": "corners"}, "“corners” field"),
    ("post", 429, {"message": "rate limited"}, "Too many requests"),
    ("post", 500, {"message": "internal server error"}, "HTTP 500"),
    ("post", None, None, "Cannot reach the server"),
    ("get", 404, {"message": "task not found"}, "Task not found"),
    ("state", -1, "worker died while processing", "Processing failed"),
    ("state", -3, "connection refused", "could not download the image URL"),
    ("state", -5, "image is 9000 x 9000 px", "The image is too large"),
    ("state", -7, "truncated JPEG", "not a valid image file"),
    ("state", -8, "stopped after 120 s", "Processing timed out"),
]


def fake_server(where: str, code: int | None, said: Any) -> Callable[[Route], None]:
    """Answers the page's API calls: fails at `where` (the create, the poll, or the task)."""

    def answer(route: Route) -> None:
        is_post = route.request.method == "POST"
        if where == "post" and is_post:
            if code is None:
                route.abort("connectionrefused")
                return
            # Retry-After 0: the page retries at once, then gives up and says so.
            headers = {"Retry-After": "0"} if code == 429 else {}
            route.fulfill(status=code, json={"status": code, "data": None, **said}, headers=headers)
        elif is_post:
            route.fulfill(json=CREATED)
        elif where == "get":
            route.fulfill(status=code, json={"status": code, "data": None, **said})
        else:
            task = {"task_id": "t-1", "state": code, "state_detail": said, "progress": 30}
            route.fulfill(json={"status": 200, "message": "success", "data": task})

    return answer


def test_every_failure_has_its_message(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path
) -> None:
    base, key = served
    photo = tmp_path / "tiny.png"
    photo.write_bytes(encode(np.full((32, 32, 3), 200, np.uint8), "PNG"))
    page.goto(base + "/")
    page.get_by_label("API key").fill(key)
    message = page.locator("#message")
    status = page.locator("#status")

    for where, code, said, shown in FAILURES:
        page.locator("#file").set_input_files(photo)  # a new photo clears the last failure
        expect(status).to_have_attribute("data-state", "idle")
        page.route(TASK_URLS, fake_server(where, code, said))
        page.get_by_role("button", name="Go", exact=True).click()
        expect(status).to_have_attribute("data-state", "error")
        expect(message).to_contain_text(shown)
        if where == "state":  # the server's own words, as a sentence
            expect(message).to_contain_text(said[0].upper() + said[1:] + ".")
        page.unroute(TASK_URLS)
        name = f"{where}-{code}".replace("None", "offline")
        message.screenshot(path=artifacts / f"12-failure-{name}.png")

    # A task that never ends: the page gives up at its deadline (the clock is sped past it).
    page.clock.install()
    page.locator("#file").set_input_files(photo)
    page.route(TASK_URLS, fake_server("state", 4, None))
    page.get_by_role("button", name="Go", exact=True).click()
    expect(page.locator("#status-text")).to_contain_text("Processing…")
    page.clock.fast_forward("03:10")
    expect(message).to_contain_text("Timed out")
    expect(message).to_contain_text("still “processing” after 180 s")
    message.screenshot(path=artifacts / "12-failure-client-timeout.png")
