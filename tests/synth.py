"""Synthetic test images with exact ground truth (no test may depend on real sample photos)."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "invoice",
    "total",
    "amount",
    "date",
    "page",
    "number",
    "section",
    "report",
    "summary",
    "results",
    "method",
    "table",
    "figure",
    "analysis",
    "payment",
    "due",
    "account",
]


def text_page(width: int = 850, height: int = 1100, seed: int = 0) -> np.ndarray:
    """A white page with a heading and lines of dark text, upright (RGB)."""
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (width, height), (250, 250, 247))
    draw = ImageDraw.Draw(page)
    margin = width // 12
    heading = ImageFont.load_default(size=max(width // 22, 12))
    body = ImageFont.load_default(size=max(width // 40, 9))
    draw.text((margin, margin), "Quarterly Report 2026", font=heading, fill=(20, 20, 20))
    y = margin + width // 10
    line_height = max(width // 28, 12)
    while y < height - margin - line_height:
        words, line = rng.integers(6, 11), []
        for _ in range(words):
            line.append(WORDS[rng.integers(len(WORDS))])
        draw.text((margin, y), " ".join(line).capitalize(), font=body, fill=(25, 25, 30))
        y += line_height
    return np.asarray(page)


def desk(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A dark wooden-ish textured background."""
    rng = np.random.default_rng(seed)
    base = np.zeros((height, width, 3), np.float32)
    base[:] = (96, 70, 50)
    grain = cv2.GaussianBlur(rng.normal(0, 18, (height, width)).astype(np.float32), (0, 0), 3)
    streaks = np.sin(np.linspace(0, 40, width))[None, :] * 8
    base += (grain + streaks)[..., None]
    return np.clip(base, 0, 255).astype(np.uint8)


# Page corners as fractions of the scene (TL, TR, BR, BL of the page as it lies in the photo).
DEFAULT_QUAD = ((0.22, 0.12), (0.80, 0.16), (0.84, 0.88), (0.18, 0.84))


def light_desk(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A pale grey, faintly mottled desk: white paper on it has little contrast."""
    rng = np.random.default_rng(seed)
    mottle = cv2.GaussianBlur(rng.normal(0, 6, (height, width)).astype(np.float32), (0, 0), 9)
    base = np.full((height, width, 3), (196, 192, 186), np.float32) + mottle[..., None]
    return np.clip(base, 0, 255).astype(np.uint8)


def document_scene(
    rotation: int = 0,
    size: tuple[int, int] = (1200, 900),
    seed: int = 0,
    quad: tuple[tuple[float, float], ...] = DEFAULT_QUAD,
    background: str = "desk",
) -> tuple[np.ndarray, np.ndarray]:
    """A text page turned by `rotation` degrees clockwise, warped onto a desk at `quad`.

    Returns the scene (RGB) and the page corners in the scene, ordered TL, TR, BR, BL of the
    upright page.
    """
    width, height = size
    page = text_page(seed=seed)
    turned = np.ascontiguousarray(np.rot90(page, k=-(rotation // 90)))
    ph, pw = turned.shape[:2]
    scene_quad = np.array([[width * fx, height * fy] for fx, fy in quad], np.float32)
    source_quad = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    matrix = cv2.getPerspectiveTransform(source_quad, scene_quad)
    scene = (light_desk if background == "light" else desk)(width, height, seed)
    warped = cv2.warpPerspective(turned, matrix, (width, height), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(
        np.full((ph, pw), 255, np.uint8), matrix, (width, height), flags=cv2.INTER_AREA
    )
    alpha = (inside.astype(np.float32) / 255.0)[..., None]
    scene = (warped * alpha + scene * (1 - alpha)).astype(np.uint8)
    # The stored quad is of the turned page: shift it so index 0 is the upright page's TL.
    upright_corners = np.roll(scene_quad, -(rotation // 90), axis=0)
    return scene, upright_corners


def product_scene(
    size: tuple[int, int] = (900, 700), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A red mug-like object on a light studio background; returns (RGB, bool mask)."""
    width, height = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    background = 235 - 20 * (yy / height)
    scene = np.repeat(background[..., None], 3, axis=2).astype(np.float32)
    mask = np.zeros((height, width), np.uint8)
    body = (int(width * 0.35), int(height * 0.25), int(width * 0.62), int(height * 0.8))
    cv2.rectangle(mask, body[:2], body[2:], 255, -1)
    cv2.ellipse(
        mask,
        (body[2], (body[1] + body[3]) // 2),
        (int(width * 0.07), int(height * 0.15)),
        0,
        -90,
        90,
        255,
        thickness=max(width // 40, 4),
    )
    colour = np.array([190, 35, 40], np.float32) + rng.normal(0, 6, (height, width, 1))
    shade = 0.75 + 0.25 * np.cos((xx - width * 0.48) / (width * 0.2))[..., None]
    inside = mask.astype(bool)
    scene[inside] = np.clip(colour * shade, 0, 255)[inside]
    return scene.astype(np.uint8), inside


def encode(rgb: np.ndarray, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **params)
    return buffer.getvalue()


def labelled_box_scene(
    size: tuple[int, int] = (900, 700), *, window: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """An upright blue carton, wider than tall, with a printed label of several text lines, on
    a light studio background; with `window`, a see-through slot (a carry handle) in its right
    end. Returns (RGB, bool mask)."""
    width, height = size
    yy = np.mgrid[0:height, 0:width][0]
    background = np.repeat((238 - 30 * yy / height)[..., None], 3, 2).astype(np.uint8)
    scene = Image.fromarray(background)
    draw = ImageDraw.Draw(scene)
    box = (int(width * 0.2), int(height * 0.3), int(width * 0.8), int(height * 0.72))
    draw.rectangle(box, fill=(40, 70, 160))
    label = (box[0] + 30, box[1] + 25, box[2] - 30, box[3] - 25)
    draw.rectangle(label, fill=(245, 242, 230))
    heading = ImageFont.load_default(size=max(width // 24, 12))
    body = ImageFont.load_default(size=max(width // 45, 9))
    draw.text((label[0] + 20, label[1] + 12), "Organic Oat Drink", font=heading, fill=(20, 30, 80))
    lines = (
        "Barista edition, 1 litre",
        "Made from Swedish oats",
        "Best before: see top",
        "Shake well before use",
        "Keep refrigerated once open",
    )
    for i, text in enumerate(lines):
        draw.text((label[0] + 20, label[1] + 70 + 28 * i), text, font=body, fill=(30, 30, 40))
    mask = np.zeros((height, width), bool)
    mask[box[1] : box[3] + 1, box[0] : box[2] + 1] = True
    pixels = np.array(scene)
    if window:
        slot = (slice(box[1] + 60, box[3] - 60), slice(box[2] - 28, box[2] - 8))
        pixels[slot] = np.asarray(background)[slot]
        mask[slot] = False
    return pixels, mask


def slide(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A presentation slide: a coloured title bar and bullet points on white (float RGB)."""
    slide = Image.new("RGB", (width, height), (248, 248, 250))
    draw = ImageDraw.Draw(slide)
    draw.rectangle([0, 0, width, height // 6], fill=(30, 70, 150))
    title = ImageFont.load_default(size=height // 12)
    draw.text((width // 20, height // 24), "Quarterly results 2026", font=title, fill=(255,) * 3)
    body = ImageFont.load_default(size=height // 18)
    for k in range(5):
        y = height // 4 + k * height // 8
        bullet = (width // 16, y + height // 60, width // 16 + height // 40, y + height // 25)
        draw.ellipse(bullet, fill=(30, 70, 150))
        words = " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), 5))
        draw.text((width // 10, y), words, font=body, fill=(30, 30, 30))
    return np.asarray(slide).astype(np.float32)


def _whiteboard(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A whiteboard's surface with lines of blue, black and red marker (float RGB)."""
    board = Image.new("RGB", (width, height), (238, 240, 238))
    draw = ImageDraw.Draw(board)
    font = ImageFont.load_default(size=height // 14)
    for k in range(6):
        colour = ((20, 40, 160), (20, 20, 20), (180, 30, 30))[k % 3]
        words = " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), 4))
        draw.text((width // 12, height // 10 + k * height // 8), words, font=font, fill=colour)
    return np.asarray(board).astype(np.float32)


def paste(scene: np.ndarray, content: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """`content` warped onto `scene` (both float RGB) at `quad` (TL, TR, BR, BL)."""
    h, w = content.shape[:2]
    source = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(source, np.float32(quad))
    size = (scene.shape[1], scene.shape[0])
    warped = cv2.warpPerspective(content, matrix, size, flags=cv2.INTER_AREA)
    cover = np.ones((h, w), np.float32)
    alpha = cv2.warpPerspective(cover, matrix, size, flags=cv2.INTER_AREA)[..., None]
    return warped * alpha + scene * (1.0 - alpha)


def _inset(quad: np.ndarray, fraction: float) -> np.ndarray:
    centre = quad.mean(axis=0)
    return (centre + (quad - centre) * (1.0 - fraction)).astype(np.float32)


def display_scene(
    kind: str, size: tuple[int, int] = (1200, 900), seed: int = 0, bezel: float = 0.06
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A slide on a monitor in a dim room ("monitor", its screen inset by `bezel` of the
    monitor's size), a slide projected on a wall ("projector"), or a framed whiteboard on a
    wall ("whiteboard"), seen at an angle. Returns the scene (RGB) and its quads: "content"
    (screen, slide or board surface) and "outer" (with the bezel or frame)."""
    width, height = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    fractions = np.float32([[0.15, 0.18], [0.86, 0.14], [0.88, 0.84], [0.13, 0.80]])
    outer = (fractions + rng.uniform(-0.04, 0.04, (4, 2))) * np.float32([width, height])
    noise = rng.normal(0, 2, (height, width, 1))
    if kind == "monitor":
        room = (35 + 25 * yy / height)[..., None] * np.float32([1, 1, 1.1]) + noise
        scene = paste(room, np.full((900, 1600, 3), (18, 18, 20), np.float32), outer)
        content = _inset(outer, bezel)
        glare = 0.85 + 0.15 * np.linspace(1, 0, 1280, dtype=np.float32)[None, :, None]
        scene = paste(scene, slide(1280, 720, rng) * glare, content)
    elif kind == "projector":
        wall = np.float32([120, 112, 100]) * (0.8 + 0.2 * xx / width)[..., None] + noise
        content = outer
        projected = cv2.GaussianBlur(slide(1280, 720, rng) * 0.95 + 5, (0, 0), 1.5)
        scene = cv2.GaussianBlur(paste(wall, projected, content), (0, 0), 1.2)
    elif kind == "whiteboard":
        mottle = cv2.GaussianBlur(rng.normal(0, 4, (height, width)).astype(np.float32), (0, 0), 5)
        wall = np.full((height, width, 3), (205, 198, 186), np.float32) + mottle[..., None]
        scene = paste(wall, np.full((700, 1000, 3), (175, 178, 182), np.float32), outer)
        content = _inset(outer, 0.025)
        light = 0.9 + 0.1 * np.linspace(0, 1, 1400, dtype=np.float32)[None, :, None]
        scene = paste(scene, _whiteboard(1400, 1000, rng) * light, content)
    else:
        raise ValueError(f"unknown display kind {kind!r}")
    return np.clip(scene, 0, 255).astype(np.uint8), {"content": content, "outer": outer}
