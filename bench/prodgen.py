"""Product photos with exact ground-truth alpha, for bench/products.py.

Synthetic products are drawn at `supersample` x their size and area-averaged down, so each
pixel's alpha is its exact coverage: anti-aliased edges, thin parts of 2-6 px, semi-transparent
glass. Real objects are cut-outs from ../shared/samples/product: other tools' predictions, used
here only as objects to re-composite, so the alpha of a composite is still exact. Objects go on
studio backdrops (white, grey, seamless paper, light gradients) or cluttered ones (wood,
fabric, blotches, shelves of boxes, crops of the sample photos), over a soft shadow that
darkens the background and is not part of the alpha. Every case is a pure function of
(seed, index).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
FRAME = (1600, 1200)
SUPERSAMPLE = 4
OBJECT_SIZE = (0.15, 0.7)  # the object's longer extent, as a fraction of the frame's
# Products cycle in this order, each twice in a row (studio, then cluttered).
SCHEDULE = (
    "bottle",
    "box",
    "mug",
    "shoe",
    "necklace",
    "headphones",
    "glass",
    "white",
    "real",
    "real",
)
WHITE_SHAPES = ("bottle", "box", "mug", "shoe")
# Real cut-outs: (name, colour file, alpha file or None for RGBA, alpha levels mapped to 0 / 1).
# The u2net masks are blurry at full size, so their ramp is steepened to a plausible edge.
REAL_OBJECTS = (
    ("car-1", "rembg/car-1.rembg_out.png", None, (0.05, 0.95)),
    ("car-3", "rembg/car-3.rembg_out.png", None, (0.05, 0.95)),
    ("lamp", "U-2-Net/lamp2_meitu_1.jpg", "U-2-Net/lamp2_meitu_1.u2net_out.png", (0.3, 0.7)),
    ("bike", "U-2-Net/bike.jpg", "U-2-Net/bike.u2net_out.png", (0.3, 0.7)),
    ("teddy", "AIM/aim_1.jpg", "AIM/aim_1.aim_alpha.png", (0.05, 0.95)),
)
MAX_REAL_UPSCALE = 2.5  # beyond this a small cut-out is too blurry to pass for a photo
# Sample photos used as cluttered backgrounds: desks, papers, shelves, produce. Photos dominated
# by one object of their own (bike, lamp, teddy) are left out: it would compete with the product.
BACKGROUND_PHOTOS = (
    "doc_photo/detect-document/IMG_20190321_015234.jpg",
    "doc_photo/detect-document/IMG_20190321_015602.jpg",
    "doc_photo/detect-document/o_5.jpg",
    "doc_photo/detect-document/img62.jpg",
    "doc_photo/page_dewarp/boston_cooking_a.jpg",
    "product/rembg/plants-1.png",
    "product/GroceryStoreDataset/natural_Anjou_001.jpg",
)
WORDS = ("FRESH", "NOVA", "AQUA", "PURE", "ZEST", "OAT", "MILK", "SOLEIL", "KAFFE", "BIO")

Colour = tuple[float, float, float]
Fill = Colour | Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Layer:
    """An object: straight (not premultiplied) colour in [0, 255] and alpha in [0, 1]."""

    rgb: np.ndarray
    alpha: np.ndarray
    flat: bool = False  # lying flat (jewellery): a drop shadow rather than a contact shadow


@dataclass(frozen=True)
class Case:
    name: str
    product: str
    background: str  # "studio" or "cluttered"
    backdrop: str
    rgb: np.ndarray  # the photo (uint8), after a JPEG round trip
    alpha: np.ndarray  # exact ground truth (float32)
    colour: np.ndarray  # the object's own colour (uint8), for contact sheets
    shadow: np.ndarray  # how much the background was darkened (float32): not the object


@dataclass(frozen=True)
class Look:
    body: Colour
    accent: Colour
    ink: Colour
    depth: float  # how much the shading darkens the sides (white products: little)


def make_case(
    index: int,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    supersample: int = SUPERSAMPLE,
) -> Case:
    rng = np.random.default_rng([seed, index])
    background = ("studio", "cluttered")[index % 2]
    product = _scheduled(index)
    width, height = size or (FRAME if rng.random() < 0.8 else FRAME[::-1])
    fraction = rng.uniform(*OBJECT_SIZE)
    max_w, max_h = fraction * width, fraction * height
    if product != "real":
        layer, product = _synthetic(rng, product, max_w, max_h, supersample)
    elif _real_objects():
        # Real objects take turns, so that a few dozen cases show each of them.
        turn = sum(_scheduled(i) == "real" for i in range(index))
        layer, product = _real_layer(turn, max_w, max_h)
    else:
        layer, product = _synthetic(rng, str(rng.choice(SCHEDULE[:8])), max_w, max_h, supersample)
    if background == "studio":
        backdrop = "white" if product.startswith("white") and rng.random() < 0.7 else None
        backdrop, scene = studio(rng, width, height, backdrop)
    else:
        backdrop, scene = cluttered(rng, width, height)
    name = f"p{index:03d}-{product}-{background}"
    return Case(name, product, background, backdrop, *_place(rng, scene, layer))


def _scheduled(index: int) -> str:
    return SCHEDULE[(index // 2) % len(SCHEDULE)]


# --- drawing at supersampled resolution ------------------------------------------------------


class Canvas:
    """Premultiplied colour and alpha at `scale` x the object's final size. Coordinates and
    thicknesses are final pixels; shapes return binary masks to paint (or intersect)."""

    def __init__(self, width: float, height: float, scale: int) -> None:
        self.width, self.height, self.scale = round(width), round(height), scale
        shape = (self.height * scale, self.width * scale)
        self.premult = np.zeros((*shape, 3), np.float32)
        self.alpha = np.zeros(shape, np.float32)

    def _pts(self, points: object) -> np.ndarray:
        return np.round(np.asarray(points, np.float64) * self.scale).astype(np.int32)

    def _px(self, length: float) -> int:
        return max(1, round(length * self.scale))

    def polygon(self, points: object) -> np.ndarray:
        mask = np.zeros(self.alpha.shape, np.uint8)
        cv2.fillPoly(mask, [self._pts(points)], 255)
        return mask

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        return self.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def ellipse(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        arc: tuple[float, float] = (0, 360),
        thickness: float | None = None,
    ) -> np.ndarray:
        mask = np.zeros(self.alpha.shape, np.uint8)
        line = -1 if thickness is None else self._px(thickness)
        centre_px = tuple(int(v) for v in self._pts(centre))
        axes_px = tuple(int(v) for v in self._pts(axes))
        cv2.ellipse(mask, centre_px, axes_px, 0, arc[0], arc[1], 255, line)
        return mask

    def line(self, points: object, thickness: float, closed: bool = False) -> np.ndarray:
        mask = np.zeros(self.alpha.shape, np.uint8)
        cv2.polylines(mask, [self._pts(points)], closed, 255, self._px(thickness))
        return mask

    def dots(self, centres: np.ndarray, radius: float) -> np.ndarray:
        mask = np.zeros(self.alpha.shape, np.uint8)
        for x, y in self._pts(centres):
            cv2.circle(mask, (int(x), int(y)), self._px(radius), 255, -1)
        return mask

    def text(self, words: str, origin: tuple[float, float], width: float) -> np.ndarray:
        """`words` in a Hershey font scaled to `width` final px, baseline at `origin`."""
        mask = np.zeros(self.alpha.shape, np.uint8)
        font = cv2.FONT_HERSHEY_DUPLEX
        (text_w, _), _ = cv2.getTextSize(words, font, 1.0, 2)
        scale = width * self.scale / text_w
        weight = max(1, round(2 * scale))
        cv2.putText(mask, words, tuple(int(v) for v in self._pts(origin)), font, scale, 255, weight)
        return mask

    def paint(self, mask: np.ndarray, fill: Fill, opacity: float = 1.0) -> None:
        x, y, w, h = cv2.boundingRect(mask)
        if w == 0 or h == 0:
            return
        region = np.s_[y : y + h, x : x + w]
        cover = mask[region].astype(np.float32) * (opacity / 255.0)
        if callable(fill):
            yy, xx = np.mgrid[y : y + h, x : x + w].astype(np.float32) / self.scale
            colour = fill(xx, yy)
        else:
            colour = np.asarray(fill, np.float32)
        self.premult[region] = colour * cover[..., None] + self.premult[region] * (
            1 - cover[..., None]
        )
        self.alpha[region] = cover + self.alpha[region] * (1 - cover)

    def layer(self, flat: bool = False) -> Layer:
        size = (self.width, self.height)
        # An integer factor makes INTER_AREA an exact box average: alpha = coverage.
        premult = cv2.resize(self.premult, size, interpolation=cv2.INTER_AREA)
        alpha = np.clip(cv2.resize(self.alpha, size, interpolation=cv2.INTER_AREA), 0, 1)
        rgb = premult / np.maximum(alpha, 1e-6)[..., None]
        return Layer(np.clip(rgb, 0, 255), alpha, flat)


def turned(
    colour: Colour,
    centre: float,
    radius: float | Callable[[np.ndarray], np.ndarray],
    depth: float,
    gloss: float = 0.3,
) -> Fill:
    """Shading of a surface of revolution about a vertical axis, lit from the front left."""
    base = np.asarray(colour, np.float32)

    def fill(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = radius(y) if callable(radius) else radius
        t = np.clip((x - centre) / np.maximum(r, 1e-3), -1, 1)
        light = 1 - depth * (1 - np.sqrt(1 - t * t))
        highlight = gloss * np.exp(-(((t + 0.45) / 0.12) ** 2))
        return np.clip(base * light[..., None] + 255 * highlight[..., None], 0, 255)

    return fill


def vertical(colour: Colour, top: float, bottom: float, lo: float, hi: float) -> Fill:
    """`colour` brightened from `hi` at y=top to `lo` at y=bottom."""
    base = np.asarray(colour, np.float32)

    def fill(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        t = np.clip((y - top) / max(bottom - top, 1e-3), 0, 1)
        return np.clip(base * (hi + (lo - hi) * t)[..., None], 0, 255)

    return fill


def smooth(points: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Chaikin corner cutting of a closed polygon."""
    for _ in range(rounds):
        nxt = np.roll(points, -1, axis=0)
        points = np.stack([0.75 * points + 0.25 * nxt, 0.25 * points + 0.75 * nxt], 1)
        points = points.reshape(-1, 2)
    return points


def _scaled(colour: Colour, factor: float) -> Colour:
    return _rgb(np.minimum(np.float32(colour) * factor, 255))


def _look(rng: np.random.Generator, white: bool) -> Look:
    if white:
        body = _rgb(rng.uniform(236, 250) + rng.uniform(-3, 3, 3))
        accent = _hsv(rng.uniform(0, 1), 0.6, 0.8)
        return Look(body, accent, (60.0, 60.0, 70.0), rng.uniform(0.1, 0.2))
    body = _hsv(rng.uniform(0, 1), rng.uniform(0.4, 0.9), rng.uniform(0.35, 0.9))
    accent = _hsv(rng.uniform(0, 1), rng.uniform(0.0, 0.3), rng.uniform(0.85, 1.0))
    ink = _hsv(rng.uniform(0, 1), rng.uniform(0.5, 1.0), rng.uniform(0.1, 0.4))
    return Look(body, accent, ink, rng.uniform(0.35, 0.55))


def _hsv(h: float, s: float, v: float) -> Colour:
    pixel = np.uint8([[[round(h * 179), round(s * 255), round(v * 255)]]])
    return _rgb(cv2.cvtColor(pixel, cv2.COLOR_HSV2RGB)[0, 0])


def _rgb(values: np.ndarray) -> Colour:
    r, g, b = (float(v) for v in values)
    return (r, g, b)


def _word(rng: np.random.Generator) -> str:
    return str(rng.choice(WORDS))


# --- synthetic products ----------------------------------------------------------------------


def _bottle(c: Canvas, rng: np.random.Generator, look: Look) -> None:
    w, h = c.width, c.height
    neck, cap, shoulder_top = rng.uniform(0.12, 0.2), rng.uniform(0.05, 0.09), rng.uniform(0.2, 0.3)
    shoulder_end = shoulder_top + rng.uniform(0.08, 0.15)
    corner = rng.uniform(0.02, 0.06)

    def radius(y: np.ndarray) -> np.ndarray:
        v = y / h
        t = np.clip((v - shoulder_top) / (shoulder_end - shoulder_top), 0, 1)
        r = neck + (0.5 - neck) * (1 - np.cos(np.pi * t)) / 2
        bottom = np.clip((v - (1 - corner)) / corner, 0, 1)
        return w * (r - corner * (1 - np.sqrt(1 - bottom**2)))

    ys = np.linspace(cap * h, h, 200)
    r = radius(ys)
    outline = np.concatenate([np.stack([w / 2 - r, ys], 1), np.stack([w / 2 + r, ys], 1)[::-1]])
    body = c.polygon(outline)
    c.paint(body, turned(look.body, w / 2, radius, look.depth))
    label_top = rng.uniform(shoulder_end + 0.05, 0.55) * h
    label = c.rect(0, label_top, w, 0.85 * h) & body
    c.paint(label, turned(look.accent, w / 2, radius, look.depth * 0.8, gloss=0.1))
    c.paint(c.text(_word(rng), (0.18 * w, label_top + 0.12 * h), 0.64 * w) & body, look.ink)
    cap_r = neck * w * 1.15
    cap_colour = _hsv(rng.uniform(0, 1), 0.7, 0.5)
    cap_shape = c.rect(w / 2 - cap_r, 0, w / 2 + cap_r, cap * h + 2)
    c.paint(cap_shape, turned(cap_colour, w / 2, cap_r, 0.5))


def _box(c: Canvas, rng: np.random.Generator, look: Look) -> None:
    w, h = c.width, c.height
    d = rng.uniform(0.12, 0.22) * w
    e = d * rng.uniform(0.4, 0.6)
    front = [(0, e), (w - d, e), (w - d, h), (0, h)]
    c.paint(c.polygon([(0, e), (d, 0), (w, 0), (w - d, e)]), _scaled(look.body, 1.15))
    c.paint(c.polygon([(w - d, e), (w, 0), (w, h - e), (w - d, h)]), _scaled(look.body, 0.7))
    c.paint(c.polygon(front), vertical(look.body, e, h, 0.9, 1.02))
    band_top = e + rng.uniform(0.15, 0.35) * (h - e)
    band_bottom = band_top + rng.uniform(0.2, 0.3) * (h - e)
    c.paint(
        c.rect(0, band_top, w - d, band_bottom),
        look.accent,
    )
    fw = w - d
    c.paint(
        c.text(_word(rng), (0.1 * fw, band_bottom - 0.25 * (band_bottom - band_top)), 0.8 * fw),
        look.ink,
    )
    for row in range(3):
        y = band_bottom + (row + 1) * 0.06 * (h - e)
        if y < h - 0.15 * (h - e):
            c.paint(
                c.line([(0.1 * fw, y), (rng.uniform(0.4, 0.8) * fw, y)], 0.012 * h + 1), look.ink
            )
    x = 0.6 * fw
    for _ in range(14):  # barcode: bars of 1-3 px
        bar = rng.uniform(1, 3)
        c.paint(
            c.rect(x, 0.86 * h, x + bar, 0.96 * h),
            (20, 20, 20),
        )
        x += bar + rng.uniform(1, 3)
    c.paint(c.line([(0, e), (w - d, e), (w - d, h)], 1.0), _scaled(look.body, 1.3))


def _mug(c: Canvas, rng: np.random.Generator, look: Look) -> None:
    w, h = c.width, c.height
    body_w = rng.uniform(0.7, 0.78) * w
    rim = body_w * 0.08
    thick = rng.uniform(0.06, 0.1) * h
    handle = c.ellipse(
        (body_w - 0.05 * w, h * 0.5),
        (w - body_w + 0.05 * w - thick / 2, 0.26 * h),
        (-90, 90),
        thick,
    )
    c.paint(handle, turned(look.body, w, thick, look.depth))
    bottom = h - rim * 0.8
    body = c.rect(0, rim, body_w, bottom)
    body |= c.ellipse((body_w / 2, bottom), (body_w / 2, rim * 0.8))
    c.paint(body, turned(look.body, body_w / 2, body_w / 2, look.depth))
    c.paint(c.ellipse((body_w / 2, rim), (body_w / 2, rim)), _scaled(look.body, 1.1))
    c.paint(c.ellipse((body_w / 2, rim), (body_w / 2 - 3, rim - 2)), _scaled(look.body, 0.45))
    if rng.random() < 0.6:
        logo = c.ellipse((body_w / 2, 0.55 * h), (0.16 * body_w, 0.16 * body_w))
        c.paint(logo & body, look.accent)
        c.paint(c.text(_word(rng), (0.38 * body_w, 0.58 * h), 0.24 * body_w), look.ink)


def _shoe(c: Canvas, rng: np.random.Generator, look: Look) -> None:
    w, h = c.width, c.height
    upper = np.array(
        [(0.01, 0.85), (0.0, 0.4), (0.04, 0.1), (0.14, 0.04), (0.3, 0.2), (0.4, 0.0),
         (0.46, 0.05), (0.62, 0.35), (0.86, 0.52), (1.0, 0.72), (1.0, 0.85)]
    )  # fmt: skip
    upper = smooth((upper + rng.normal(0, 0.015, upper.shape)) * (w, h))
    c.paint(c.polygon(upper), vertical(look.body, 0, h, 0.8, 1.05))
    c.paint(
        c.polygon(smooth(np.array([(0.06, 0.1), (0.3, 0.22), (0.38, 0.06)]) * (w, h), 2)),
        (35, 30, 30),
    )
    sole = smooth(
        np.array([(0.0, 0.8), (0.02, 1.0), (0.9, 1.0), (0.99, 0.94), (1.0, 0.8)]) * (w, h), 2
    )
    sole_colour = (245.0, 245.0, 240.0) if rng.random() < 0.5 else (40.0, 38.0, 36.0)
    c.paint(c.polygon(sole), vertical(sole_colour, 0.8 * h, h, 0.85, 1.0))
    stripe = [(0.2, 0.65), (0.45, 0.55), (0.65, 0.42), (0.8, 0.5)]
    c.paint(c.line(np.array(stripe) * (w, h), 0.05 * h), look.accent)
    lace = rng.uniform(2, 4)
    for i in range(5):  # laces: thin crossing strokes over the instep
        t = 0.42 + 0.04 * i
        a, b = (t, 0.08 + 0.55 * (t - 0.4)), (t + 0.06, 0.18 + 0.55 * (t - 0.4))
        c.paint(c.line(np.array([a, b]) * (w, h), lace), look.accent)


def _necklace(c: Canvas, rng: np.random.Generator, look: Look) -> None:
    w, h = c.width, c.height
    metal = ((212.0, 175.0, 55.0), (200.0, 200.0, 208.0), (183.0, 110.0, 121.0))[rng.integers(3)]
    theta = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    wobble = 1 + sum(
        rng.uniform(-0.04, 0.04) * np.cos(k * theta + rng.uniform(0, 6)) for k in (2, 3)
    )
    pendant = rng.uniform(0.12, 0.2) * w
    cx, cy, ax, ay = w / 2, (h - pendant) / 2, 0.46 * w, (h - pendant) / 2 - 4
    loop = np.stack([cx + ax * np.sin(theta) * wobble, cy - ay * np.cos(theta) * wobble], 1)
    thick = rng.uniform(2, 6)
    c.paint(c.line(loop, thick * 0.6, closed=True), _scaled(metal, 0.8))
    step = max(1, round(400 * 2.2 * thick / (2 * np.pi * ax)))
    c.paint(c.dots(loop[::step], thick / 2), metal)  # chain links
    bottom = (cx, cy + ay * wobble[200])
    gem = _hsv(rng.uniform(0, 1), 0.8, 0.7)
    c.paint(c.ellipse((bottom[0], bottom[1] + pendant / 2), (pendant / 2.4, pendant / 2)), gem)
    c.paint(
        c.ellipse((bottom[0] - pendant / 8, bottom[1] + pendant / 3), (pendant / 10, pendant / 10)),
        (255, 255, 255),
        0.8,
    )
    c.paint(c.ellipse(bottom, (thick * 1.5, thick * 1.5), thickness=thick * 0.6), metal)


def _headphones(c: Canvas, rng: np.random.Generator, look: Look) -> None:
    w, h = c.width, c.height
    band = 0.05 * w
    cup_w, cup_h, cup_y = 0.15 * w, 0.16 * h, 0.5 * h
    centre = (w / 2, cup_y)
    c.paint(c.ellipse(centre, (w / 2 - cup_w, cup_y - band / 2), (180, 360), band), look.body)
    c.paint(
        c.ellipse(centre, (w / 2 - cup_w, cup_y - band), (200, 340), band * 0.4),
        _scaled(look.body, 0.6),
    )
    for x in (cup_w, w - cup_w):
        c.paint(
            c.ellipse(
                (x, cup_y - cup_h * 0.2), (cup_w * 0.55, cup_h * 0.7), (180, 360), rng.uniform(3, 5)
            ),
            (90, 90, 95),
        )
        c.paint(
            c.ellipse((x, cup_y + cup_h * 0.3), (cup_w * 0.9, cup_h)),
            turned(look.body, x, cup_w, look.depth),
        )
        c.paint(
            c.ellipse((x, cup_y + cup_h * 0.3), (cup_w * 0.5, cup_h * 0.6)),
            _scaled(look.body, 0.75),
        )
    start = np.array([cup_w, cup_y + 1.2 * cup_h])
    end = np.array([rng.uniform(0.3, 0.7) * w, h - 0.07 * h])
    mid = [rng.uniform(0.1, 0.9) * w, rng.uniform(cup_y + 1.4 * cup_h, h)]
    t = np.linspace(0, 1, 200)[:, None]
    cable = (1 - t) ** 2 * start + 2 * t * (1 - t) * np.array(mid) + t**2 * end
    c.paint(c.line(cable, rng.uniform(2, 5)), _scaled(look.body, 0.5))
    jack = c.rect(end[0] - 0.01 * w, end[1], end[0] + 0.01 * w, h)
    c.paint(jack, (150, 150, 155))


def _glass(c: Canvas, rng: np.random.Generator, look: Look) -> None:
    w, h = c.width, c.height
    wine = rng.random() < 0.5
    bowl_end = rng.uniform(0.5, 0.6) * h if wine else h - 4
    opacity = rng.uniform(0.3, 0.6)
    tint = _rgb(rng.uniform(205, 240, 3))

    def radius(y: np.ndarray) -> np.ndarray:
        v = np.clip(y / bowl_end, 0, 1)
        shape = np.sqrt(np.clip(1 - v**4, 0, 1)) if wine else 1 - 0.2 * v
        return np.maximum(shape * (w / 2 - 2), 2)

    ys = np.linspace(0, bowl_end, 200)
    r = radius(ys)
    outline = np.concatenate([np.stack([w / 2 - r, ys], 1), np.stack([w / 2 + r, ys], 1)[::-1]])
    c.paint(c.polygon(outline), turned(tint, w / 2, radius, 0.3, gloss=0.0), opacity)
    if rng.random() < 0.5:  # some drink in it
        level = rng.uniform(0.35, 0.7) * bowl_end
        drink = c.polygon(outline) & c.rect(0, level, w, h)
        c.paint(drink, _hsv(rng.uniform(0, 0.15), 0.8, 0.5), 0.85)
    # Glass reads darker and more opaque at its silhouette and rim (Fresnel), bright at highlights.
    c.paint(c.line(outline, rng.uniform(2, 4)), _scaled(tint, 0.6), 0.85)
    c.paint(
        c.ellipse((w / 2, 3), (w / 2 - 3, 0.03 * w + 2), thickness=2.5), _scaled(tint, 0.7), 0.85
    )
    c.paint(
        c.line([(0.3 * w, 0.12 * bowl_end), (0.28 * w, 0.75 * bowl_end)], 0.04 * w + 2),
        (255, 255, 255),
        0.9,
    )
    if wine:
        stem = rng.uniform(3, 6)
        c.paint(c.line([(w / 2, bowl_end), (w / 2, h - 0.05 * h)], stem), tint, 0.75)
        c.paint(c.ellipse((w / 2, h - 0.04 * h), (0.4 * w, 0.03 * h + 2)), tint, 0.6)
        c.paint(
            c.ellipse((w / 2, h - 0.04 * h), (0.4 * w, 0.03 * h + 2), thickness=2),
            _scaled(tint, 0.6),
            0.85,
        )


# Each product: aspect range (width / height), drawing, lying flat.
PRODUCTS: dict[
    str, tuple[tuple[float, float], Callable[[Canvas, np.random.Generator, Look], None], bool]
] = {
    "bottle": ((0.28, 0.42), _bottle, False),
    "box": ((0.6, 1.3), _box, False),
    "mug": ((0.9, 1.25), _mug, False),
    "shoe": ((2.0, 2.8), _shoe, False),
    "necklace": ((0.8, 1.2), _necklace, True),
    "headphones": ((0.85, 1.1), _headphones, False),
    "glass": ((0.4, 0.7), _glass, False),
}


def _synthetic(
    rng: np.random.Generator, product: str, max_w: float, max_h: float, supersample: int
) -> tuple[Layer, str]:
    """The object layer fitting (max_w, max_h) at its aspect, and its product name."""
    white = product == "white"
    shape = str(rng.choice(WHITE_SHAPES)) if white else product
    aspect_range, draw, flat = PRODUCTS[shape]
    aspect = rng.uniform(*aspect_range)
    width, height = (max_w, max_w / aspect) if max_w / aspect <= max_h else (max_h * aspect, max_h)
    canvas = Canvas(width, height, supersample)
    draw(canvas, rng, _look(rng, white))
    layer = canvas.layer(flat)
    if shape == "box" and rng.random() < 0.5:
        layer = _rotated(layer, rng.uniform(-5, 5))
    return layer, f"white-{shape}" if white else shape


def _rotated(layer: Layer, degrees: float) -> Layer:
    """The layer turned about its centre on a canvas grown to hold it (colour premultiplied)."""
    h, w = layer.alpha.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos)))
    matrix[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2
    premult = np.dstack([layer.rgb * layer.alpha[..., None], layer.alpha])
    turned_ = cv2.warpAffine(premult, matrix, size, flags=cv2.INTER_LINEAR)
    alpha = np.clip(turned_[..., 3], 0, 1)
    rgb = turned_[..., :3] / np.maximum(alpha, 1e-6)[..., None]
    return Layer(np.clip(rgb, 0, 255), alpha, layer.flat)


# --- real cut-outs ---------------------------------------------------------------------------


@functools.cache
def _real_objects() -> tuple[tuple[str, Layer], ...]:
    root = SAMPLES / "product"
    if not root.is_dir():
        return ()
    found = []
    for name, colour_file, alpha_file, levels in REAL_OBJECTS:
        if (root / colour_file).is_file() and (alpha_file is None or (root / alpha_file).is_file()):
            found.append(
                (name, _cut_out(root / colour_file, alpha_file and root / alpha_file, levels))
            )
    return tuple(found)


def _cut_out(colour_file: Path, alpha_file: Path | None, levels: tuple[float, float]) -> Layer:
    """The largest object of a cut-out, its alpha mapped from `levels` to [0, 1], cropped."""
    image = np.asarray(Image.open(colour_file).convert("RGBA"), np.float32)
    alpha = (
        image[..., 3] / 255
        if alpha_file is None
        else np.asarray(Image.open(alpha_file).convert("L"), np.float32) / 255
    )
    alpha = np.clip((alpha - levels[0]) / (levels[1] - levels[0]), 0, 1)
    _, labels, stats, _ = cv2.connectedComponentsWithStats((alpha > 0.5).astype(np.uint8))
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    reach = max(3, round(0.01 * max(alpha.shape)))
    keep = cv2.dilate((labels == largest).astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8))
    alpha *= keep
    x0, y0, x1, y1 = _box(alpha > 0.01)
    return Layer(image[y0:y1, x0:x1, :3], alpha[y0:y1, x0:x1])


def _real_layer(turn: int, max_w: float, max_h: float) -> tuple[Layer, str]:
    objects = _real_objects()
    name, layer = objects[turn % len(objects)]
    h, w = layer.alpha.shape
    scale = min(max_w / w, max_h / h, MAX_REAL_UPSCALE)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    premult = cv2.resize(layer.rgb * layer.alpha[..., None], size, interpolation=method)
    alpha = np.clip(cv2.resize(layer.alpha, size, interpolation=method), 0, 1)
    rgb = np.clip(premult / np.maximum(alpha, 1e-6)[..., None], 0, 255)
    return Layer(rgb, alpha), f"real-{name}"


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


# --- backgrounds -----------------------------------------------------------------------------


def _noise(rng: np.random.Generator, width: int, height: int, cells: int) -> np.ndarray:
    """Smooth noise in about [0, 1] with `cells` features across the longer side."""
    grid = rng.random(
        (
            max(2, cells * height // max(width, height)) + 1,
            max(2, cells * width // max(width, height)) + 1,
        )
    )
    return cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)


def _axes(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return xx / width, yy / height


def studio(
    rng: np.random.Generator, width: int, height: int, kind: str | None = None
) -> tuple[str, np.ndarray]:
    kind = kind or str(rng.choice(["white", "grey", "paper", "gradient"]))
    x, y = _axes(width, height)
    vignette = 1 - 0.05 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    if kind == "white":
        image = np.full((height, width, 3), rng.uniform(243, 255), np.float32)
    elif kind == "grey":
        image = (
            np.full((height, width, 3), rng.uniform(190, 235), np.float32)
            * (0.97 + 0.06 * y)[..., None]
        )
    elif kind == "paper":  # seamless paper: a colour sweep, lighter where it curves to the floor
        paper = np.float32(
            _hsv(rng.uniform(0, 1), rng.uniform(0.15, 0.45), rng.uniform(0.75, 0.95))
        )
        image = paper * (0.9 + 0.15 * np.clip(y * 1.4 - 0.3, 0, 1))[..., None]
    else:
        a, b = (
            np.float32(_hsv(rng.uniform(0, 1), rng.uniform(0, 0.2), rng.uniform(0.8, 1.0)))
            for _ in range(2)
        )
        angle = rng.uniform(0, np.pi)
        t = np.clip((x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle) + 0.5, 0, 1)
        image = a * (1 - t[..., None]) + b * t[..., None]
    return kind, np.clip(image * vignette[..., None], 0, 255)


def cluttered(rng: np.random.Generator, width: int, height: int) -> tuple[str, np.ndarray]:
    kinds = ["wood", "fabric", "blotches", "shelves"]
    photos = [path for path in BACKGROUND_PHOTOS if (SAMPLES / path).is_file()]
    if photos:
        kinds += ["photo", "photo"]
    kind = str(rng.choice(kinds))
    if kind == "photo":
        path = photos[rng.integers(len(photos))]
        return f"photo:{Path(path).name}", _photo_crop(rng, path, width, height)
    makers = {"wood": _wood, "fabric": _fabric, "blotches": _blotches, "shelves": _shelves}
    return kind, makers[kind](rng, width, height)


def _wood(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    x, y = _axes(width, height)
    plank = rng.uniform(0.15, 0.3)
    index = np.floor(y / plank)
    base = np.float32(_hsv(rng.uniform(0.05, 0.1), rng.uniform(0.4, 0.7), rng.uniform(0.35, 0.8)))
    warp = _noise(rng, width, height, 6) * rng.uniform(0.5, 2)
    grain = np.sin(2 * np.pi * (y * rng.uniform(30, 60) + warp + index * 3.7 + 0.3 * np.sin(x * 9)))
    shade = 0.85 + 0.08 * grain + 0.1 * np.sin(index * 12.9)  # each plank a little different
    seam = np.abs(y / plank - np.round(y / plank)) * plank * height < 1.5
    return np.clip(base * (shade * np.where(seam, 0.5, 1.0))[..., None], 0, 255)


def _fabric(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(3, 6)
    weave = 0.5 + 0.5 * np.sin(2 * np.pi * xx / period) * np.sin(2 * np.pi * yy / period)
    folds = _noise(rng, width, height, 4)
    base = np.float32(_hsv(rng.uniform(0, 1), rng.uniform(0.2, 0.7), rng.uniform(0.4, 0.85)))
    image = base * (0.75 + 0.1 * weave + 0.3 * folds)[..., None]
    if rng.random() < 0.5:  # plaid
        stripe = np.float32(_hsv(rng.uniform(0, 1), 0.7, 0.6))
        bands = ((xx // (width / 12)) % 3 == 0) | ((yy // (height / 9)) % 3 == 0)
        image[bands] = 0.6 * image[bands] + 0.4 * stripe
    return np.clip(image, 0, 255)


def _blotches(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    colours = [
        np.float32(_hsv(rng.uniform(0, 1), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.95)))
        for _ in range(rng.integers(4, 8))
    ]
    weights = np.stack([_noise(rng, width, height, int(rng.integers(3, 8))) for _ in colours])
    weights = np.exp(8 * weights)
    weights /= weights.sum(axis=0)
    return np.einsum("khw,kc->hwc", weights, np.stack(colours)).astype(np.float32)


def _shelves(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    image = np.empty((height, width, 3), np.float32)
    image[:] = _hsv(rng.uniform(0, 1), rng.uniform(0, 0.3), rng.uniform(0.2, 0.5))
    spacing = height / rng.uniform(2.5, 4)
    board = max(6, round(0.04 * spacing))
    for floor in np.arange(spacing, height + spacing, spacing).astype(int):
        x = int(rng.integers(-40, 0))
        while x < width:
            bw, bh = int(rng.uniform(0.04, 0.12) * width), int(rng.uniform(0.5, 0.9) * spacing)
            colour = _hsv(rng.uniform(0, 1), rng.uniform(0.3, 0.9), rng.uniform(0.4, 0.95))
            cv2.rectangle(image, (x, floor - bh), (x + bw, floor), colour, -1)
            cv2.rectangle(
                image,
                (x, floor - bh // 2),
                (x + bw, floor - bh // 3),
                _hsv(rng.uniform(0, 1), 0.2, 0.95),
                -1,
            )
            cv2.putText(
                image,
                _word(rng)[:3],
                (x + 4, floor - int(0.4 * bh)),
                cv2.FONT_HERSHEY_SIMPLEX,
                bw / 90,
                (30, 30, 30),
                2,
            )
            x += bw + int(rng.integers(2, 20))
        cv2.rectangle(image, (0, floor), (width, floor + board), (200, 190, 175), -1)
        cv2.rectangle(image, (0, floor + board), (width, floor + 3 * board), (30, 28, 26), -1)
    return image


@functools.cache
def _photo(path: str) -> np.ndarray:
    image = ImageOps.exif_transpose(Image.open(SAMPLES / path)).convert("RGB")
    image.thumbnail((2000, 2000))
    return np.asarray(image)


def _photo_crop(rng: np.random.Generator, path: str, width: int, height: int) -> np.ndarray:
    """A random frame-shaped crop of a sample photo, resized to the frame."""
    photo = _photo(path)
    ph, pw = photo.shape[:2]
    scale = rng.uniform(0.4, 1.0) * min(pw / width, ph / height)
    cw, ch = int(width * scale), int(height * scale)
    x, y = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    crop = photo[y : y + ch, x : x + cw]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)


# --- compositing -----------------------------------------------------------------------------


def _place(
    rng: np.random.Generator, scene: np.ndarray, layer: Layer
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Composite `layer` at a random position over its shadow; (photo, alpha, colour, shadow)."""
    height, width = scene.shape[:2]
    h, w = layer.alpha.shape
    pad = round(0.01 * max(width, height))
    x = int(rng.integers(pad, max(pad + 1, width - w - pad)))
    y = int(rng.integers(pad, max(pad + 1, height - h - pad)))
    alpha = np.zeros((height, width), np.float32)
    alpha[y : y + h, x : x + w] = layer.alpha[: height - y, : width - x]
    colour = np.zeros((height, width, 3), np.float32)
    colour[y : y + h, x : x + w] = layer.rgb[: height - y, : width - x]
    shadow = _shadow(rng, alpha, layer.flat)
    scene = scene * (1 - shadow)[..., None]
    photo = colour * alpha[..., None] + scene * (1 - alpha[..., None])
    photo += rng.normal(0, rng.uniform(1, 3), photo.shape).astype(np.float32)  # sensor noise
    return (
        _jpeg(np.clip(photo, 0, 255).astype(np.uint8), int(rng.integers(85, 96))),
        alpha,
        colour.astype(np.uint8),
        shadow,
    )


def _shadow(rng: np.random.Generator, alpha: np.ndarray, flat: bool) -> np.ndarray:
    """How much each background pixel is darkened: a soft contact shadow under the object's
    foot, or for flat objects its silhouette offset and blurred (a drop shadow)."""
    x0, y0, x1, y1 = _box(alpha > 0.5)
    size = max(x1 - x0, y1 - y0)
    strength = rng.uniform(0.25, 0.55)
    if flat:
        shift = np.float32([[1, 0, 0.02 * size], [0, 1, 0.03 * size]])
        shadow = cv2.warpAffine(alpha, shift, alpha.shape[::-1])
        return strength * cv2.GaussianBlur(shadow, (0, 0), 0.015 * size + 1)
    foot = np.nonzero(alpha[max(y0, y1 - max(2, (y1 - y0) // 20)) : y1].max(axis=0) > 0.5)[0]
    centre = ((foot.min() + foot.max()) / 2, y1 - 0.01 * size)
    axes = ((foot.max() - foot.min()) * 0.55 + 0.05 * size, 0.03 * size + 3)
    shadow = np.zeros_like(alpha)
    cv2.ellipse(
        shadow, tuple(round(v) for v in centre), tuple(round(v) for v in axes), 0, 0, 360, 1.0, -1
    )
    return strength * cv2.GaussianBlur(shadow, (0, 0), axes[1] * 0.6)


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
