"""The playground as a person sees it, at a laptop's size and a phone's: after Go the work and
then the result are in view, the before / after halves show the same region, the keyboard
drives it, and the API docs load from this server alone.

Screenshots of every state go to test-artifacts/playground/ (named by size) to be looked at."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, Route, expect

from tests.conftest import FileServer
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_playground import (
    TASK_SECONDS,
    TASK_URLS,
    TASKS_PATH,
    fake_server,
    task_posts,
    wait_done,
)
from tests.synth import document_scene, encode, product_scene

SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


def size_name(page: Page) -> str:
    return "phone" if page.viewport_size["width"] < 600 else "desktop"  # type: ignore[index]


def shot(page: Page, artifacts: Path, name: str) -> None:
    """What the viewport shows now (not the full page: what is out of view matters)."""
    page.screenshot(path=artifacts / f"{size_name(page)}-{name}.png")


def in_view(page: Page, locator: Locator, *, whole: bool) -> bool:
    box = locator.bounding_box()
    assert box is not None
    width, height = page.viewport_size["width"], page.viewport_size["height"]  # type: ignore[index]
    if whole:
        return (
            box["y"] >= -1
            and box["y"] + box["height"] <= height + 1
            and box["x"] >= -1
            and box["x"] + box["width"] <= width + 1
        )
    return box["y"] < height and box["y"] + box["height"] > 0


class HeldPolls:
    """Answers the page's polls with "processing" until released: the working state, held
    still long enough to be looked at."""

    def __init__(self, page: Page) -> None:
        self.held = True
        self.progress = [5, 30, 30, 30]
        page.route(f"**{TASKS_PATH}/*", self._answer)

    def _answer(self, route: Route) -> None:
        if not self.held:
            route.fallback()
            return
        task_id = urlsplit(route.request.url).path.rsplit("/", 1)[1]
        progress = self.progress.pop(0) if len(self.progress) > 1 else self.progress[0]
        data = {"task_id": task_id, "state": 4, "progress": progress}
        route.fulfill(json={"status": 200, "message": "success", "data": data})


def start(page: Page, base: str, key: str, photo: Path) -> None:
    page.goto(base + "/")
    page.get_by_label("API key").fill(key)
    page.locator("#file").set_input_files(photo)


@SIZES
def test_after_go_the_work_then_the_whole_result_is_in_view(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path
) -> None:
    base, key = served
    scene, _ = document_scene(size=(1200, 900))
    photo = tmp_path / "page.jpg"
    photo.write_bytes(encode(scene, "JPEG", quality=90))
    start(page, base, key, photo)
    shot(page, artifacts, "01-ready")

    polls = HeldPolls(page)
    page.get_by_role("radio", name="Scan document").check()
    page.get_by_role("button", name="Go", exact=True).click()
    status = page.locator("#status")
    expect(page.locator("#status-text")).to_contain_text("Processing")
    assert in_view(page, status, whole=True), "Go must visibly start something"
    expect(page.locator("#result-none")).to_have_text("Working on it…")
    # The bar creeps on between the server's few steps, and never goes back.
    seen = []
    for _ in range(6):
        seen.append(int(page.locator("#progress").evaluate("p => p.value")))
        page.wait_for_timeout(300)
    assert seen == sorted(seen) and seen[-1] > 30 and seen[-1] < 100, seen
    assert page.locator("#result-none").is_visible()
    shot(page, artifacts, "02-working")

    polls.held = False
    result = wait_done(page)
    assert in_view(page, result, whole=True), "the whole result is in view"
    assert in_view(page, page.get_by_role("link", name="Download"), whole=True)
    expect(page.locator("#result-heading")).to_be_focused()
    shot(page, artifacts, "03-result")
    page.locator("#compare").scroll_into_view_if_needed()
    shot(page, artifacts, "04-before-after")
    # Corner handles are finger-sized.
    for handle in page.locator("#overlay .handle").all():
        box = handle.bounding_box()
        assert box is not None and min(box["width"], box["height"]) >= 44, box
    page.locator("#overlay").scroll_into_view_if_needed()
    shot(page, artifacts, "05-corners")

    # Another type: the old result goes, it was not made for this one.
    page.get_by_role("radio", name="Crop product").check()
    expect(result).to_be_hidden()
    expect(page.locator("#compare-panel")).to_be_hidden()
    expect(page.locator("#result-none")).to_have_text("Press Go to see the result.")
    shot(page, artifacts, "06-type-switched")


@SIZES
def test_a_text_file_is_refused_at_once_and_errors_come_into_view(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path
) -> None:
    base, key = served
    notes = tmp_path / "notes.txt"
    notes.write_text("these are my notes, not a photo\n" * 20)
    posts = task_posts(page)
    page.goto(base + "/")

    # No key: the prompt says so, and the key box is where the focus goes.
    page.get_by_role("button", name="Go", exact=True).click()
    prompt = page.locator("#key-prompt")
    expect(prompt).to_contain_text("An API key is needed")
    assert in_view(page, prompt, whole=True)
    expect(page.get_by_label("API key")).to_be_focused()
    shot(page, artifacts, "10-key-needed")

    page.get_by_label("API key").fill(key)
    page.locator("#file").set_input_files(notes)
    message = page.locator("#message")
    expect(message).to_contain_text("This file is not a photo")
    expect(message).to_contain_text("“notes.txt” is a text file")
    expect(page.locator("#file-name")).to_have_text("")
    assert in_view(page, message, whole=True)
    shot(page, artifacts, "11-text-file-refused")
    page.get_by_role("button", name="Go", exact=True).click()
    expect(message).to_contain_text("Nothing to process yet")
    assert posts == [], "nothing is sent for a file that is not a photo"

    # A failed task: the plain message in view, and no raw code beside it.
    page.route(TASK_URLS, fake_server("state", -3, "connection refused"))
    page.get_by_label("or an image URL").fill("http://127.0.0.2:1/missing.jpg")
    page.get_by_role("button", name="Go", exact=True).click()
    expect(message).to_contain_text("could not download the image URL")
    assert in_view(page, message, whole=True)
    expect(page.locator("body")).not_to_contain_text("state -3")
    expect(page.locator("body")).not_to_contain_text("Failed (")
    shot(page, artifacts, "12-task-failed")


def split_views(page: Page) -> tuple[np.ndarray, np.ndarray]:
    """The before / after box all before (split at 100 %), then all after (at 0 %), as grey
    levels, the tags' band at the top left out."""
    compare = page.locator("#compare")
    compare.scroll_into_view_if_needed()
    views = []
    for value in ("100", "0"):
        page.locator("#compare-range").fill(value)
        pixels = Image.open(io.BytesIO(compare.screenshot())).convert("L")
        views.append(np.asarray(pixels, np.float64))
    before, after = views
    band = int(0.12 * before.shape[0])
    return before[band:], after[band:]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def best_shift(before: np.ndarray, after: np.ndarray, reach: int = 10) -> tuple[int, int]:
    """The (dx, dy) that lines `before` up with `after` best, as screen pixels."""
    height, width = after.shape
    core = after[reach : height - reach, reach : width - reach]
    scores = {
        (dx, dy): correlation(
            before[reach + dy : height - reach + dy, reach + dx : width - reach + dx], core
        )
        for dx in range(-reach, reach + 1, 2)
        for dy in range(-reach, reach + 1, 2)
    }
    return max(scores, key=scores.__getitem__)


@SIZES
def test_the_slider_halves_show_the_same_region(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path
) -> None:
    base, key = served
    # A page photographed at an angle, and a product off-centre: both are cut from the photo.
    document, _ = document_scene(
        size=(1200, 900), quad=((0.2, 0.1), (0.78, 0.18), (0.85, 0.9), (0.16, 0.82))
    )
    product, _ = product_scene(size=(900, 700))
    cases = [("page.jpg", document, "Scan document"), ("mug.jpg", product, "Crop product")]
    page.goto(base + "/")
    page.get_by_label("API key").fill(key)
    for name, scene, kind in cases:
        photo = tmp_path / name
        photo.write_bytes(encode(scene, "JPEG", quality=92))
        page.locator("#file").set_input_files(photo)
        page.get_by_role("radio", name=kind).check()
        page.get_by_role("button", name="Go", exact=True).click()
        wait_done(page)
        expect(page.locator("#compare-range")).to_have_value("50")  # each result from the middle
        compare = page.locator("#compare")
        compare.scroll_into_view_if_needed()
        compare.screenshot(path=artifacts / f"{size_name(page)}-20-split-{name}.png")
        before, after = split_views(page)
        # The same region, at the same scale: the pictures agree where they are, not shifted.
        score = correlation(before, after)
        assert score > 0.85, (name, score)
        assert best_shift(before, after) == (0, 0), name
        # Under the split itself: the columns either side of the line continue each other.
        middle = before.shape[1] // 2
        under = slice(middle - 12, middle + 12)
        assert correlation(before[:, under], after[:, under]) > 0.8
        page.locator("#compare-range").fill("20")  # moved: the next result starts at 50 again


@pytest.mark.parametrize("viewport", [DESKTOP], ids=["desktop"])
def test_the_keyboard_alone_runs_a_task(
    served: tuple[str, str], page: Page, artifacts: Path, tmp_path: Path, file_server: FileServer
) -> None:
    base, key = served
    scene, _ = product_scene(size=(900, 700))
    url = file_server.serve("/mug.jpg", encode(scene, "JPEG"), **{"Content-Type": "image/jpeg"})
    page.goto(base + "/")

    def tab_to(element_id: str, limit: int = 20) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}")

    tab_to("api-key")
    page.keyboard.type(key)
    tab_to("drop")  # the drop zone is a control too (Enter opens the file chooser)
    tab_to("image-url")
    page.keyboard.type(url)
    page.keyboard.press("Tab")  # into the types: the checked one, then arrows choose
    assert page.evaluate("document.activeElement.value") == "1"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="Crop product")).to_be_checked()
    shot(page, artifacts, "30-keyboard-focus")
    tab_to("go")
    page.keyboard.press("Enter")
    result = wait_done(page)
    assert in_view(page, result, whole=True)
    expect(page.locator("#result-heading")).to_be_focused()
    shot(page, artifacts, "31-keyboard-result")


@SIZES
def test_docs_load_from_this_server_alone(
    served: tuple[str, str], page: Page, artifacts: Path
) -> None:
    base, _ = served
    origin = urlsplit(base).netloc
    elsewhere: list[str] = []
    loaded: list[tuple[str, int]] = []

    def only_here(route: Route) -> None:
        if urlsplit(route.request.url).netloc not in (origin, ""):
            elsewhere.append(route.request.url)
            route.abort()
        else:
            route.fallback()

    page.route("**/*", only_here)
    page.on("response", lambda response: loaded.append((response.url, response.status)))

    page.goto(base + "/docs")
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    expect(page.get_by_text("Create a visual-correction task")).to_be_visible()
    shot(page, artifacts, "40-swagger")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("X-API-KEY").first).to_be_visible()
    shot(page, artifacts, "41-swagger-authorize")

    page.goto(base + "/redoc")
    expect(page.locator("h2", has_text="Query a task")).to_be_visible(timeout=TASK_SECONDS)
    shot(page, artifacts, "42-redoc")
    assert not elsewhere, elsewhere
    failed = [(url, status) for url, status in loaded if status >= 400]
    assert not failed, failed
    assert any(url.endswith("/openapi.json") for url, _ in loaded)
    schema = json.loads(page.evaluate("fetch('/openapi.json').then(r => r.text())"))
    assert "ApiKey" in schema["components"]["securitySchemes"]
