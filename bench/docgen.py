"""Synthetic document photos with exact ground truth, for bench/documents.py.

A page (letter, landscape report or till receipt: heading, paragraphs, a ruled table, a logo and
sometimes a coloured stamp) is rendered with PIL, turned by a known quarter turn, and imaged by a
pinhole camera at a known pose onto a desk (dark wood, light desk, white desk, patterned cloth),
then lit (gradient, vignette, colour cast, soft shadow), blurred, noised and JPEG-compressed.
Everything is drawn from one seeded generator, so a case id always gives the same bytes.

Cases from BASE_CASES on take turns at what breaks simple scanners, one EXTRAS entry each: an
ID card (rounded corners; its truth is the rectangle they round off) and a page held with a
finger over one corner (the truth is the page's corner under it). From DISPLAY_CASES on they
take turns at DISPLAYS: a slide on a monitor in a dim room (the truth is the screen, not the
bezel), a slide projected on a wall, and a framed whiteboard on a wall (frame included).
From COLOURED_CASES on the page is printed on coloured paper (PAPERS, in turn): a scan keeps
that colour, evened out, so the truth for enhancement is the paper colour itself.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUNDS = ("dark_wood", "light_desk", "white_desk", "cloth")
TURNS = (0, 90, 180, 270)
BASE_CASES = 60
EXTRAS = ("id_card", "finger")
DISPLAY_CASES = 80
DISPLAYS = ("monitor", "projector", "whiteboard")
COLOURED_CASES = 92
# Sticky-note yellow, a pink form, a green legal pad, a blue memo, kraft paper (sRGB).
PAPERS = (
    ("yellow", (250, 236, 142)),
    ("pink", (248, 210, 220)),
    ("green", (218, 240, 200)),
    ("blue", (206, 224, 246)),
    ("kraft", (214, 186, 146)),
)
SLIDE_ASPECT = 9 / 16  # height / width
BOARD_ASPECT = 2 / 3
CARD_ASPECT = 53.98 / 85.6  # ISO/IEC 7810 ID-1, height / width
FONT_DIR = Path("/usr/share/fonts/truetype")
# (regular, bold) pairs; whichever are installed are used (bench/setup.sh installs them).
FONT_PAIRS = (
    ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
    ("liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf"),
    ("liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Bold.ttf"),
)
MONO_PAIRS = (
    ("dejavu/DejaVuSansMono.ttf", "dejavu/DejaVuSansMono-Bold.ttf"),
    ("liberation/LiberationMono-Regular.ttf", "liberation/LiberationMono-Bold.ttf"),
)
INK = (28, 28, 32)

_WORD_TEXT = """
account activity agreement amount analysis annual approval area balance board budget business
client committee company contract cost customer data date delivery department design details
development document during each early energy estimate event expected final financial first
following further general group growth health however important improvement increase
information initial issue item last level local main management market meeting member method
month national new next number office order other overall page paid part payment period plan
policy position price process product project proposal quality quarter rate record region
report request required research result review risk sales schedule second section service
share shipment staff standard statement status summary supply support system table team
technical term total training transfer unit update value vendor week within work year
"""
_SHORT_WORD_TEXT = "the of and to in for on with by from as at is are was be this that all"
WORDS = tuple(_WORD_TEXT.split())
SHORT_WORDS = tuple(_SHORT_WORD_TEXT.split())
HEADINGS = (
    "Quarterly Report",
    "Invoice",
    "Meeting Minutes",
    "Project Proposal",
    "Delivery Note",
    "Annual Review",
    "Purchase Order",
    "Service Agreement",
)
COMPANIES = ("Northwind Traders", "Acme Supplies Ltd", "Blue Harbor Inc", "Greenfield & Co")
MONTHS = ("January", "March", "April", "June", "August", "October", "November", "December")
STAMPS = ("PAID", "APPROVED", "COPY", "RECEIVED")


@dataclass(frozen=True)
class Case:
    """One photo and its truth. `quad` holds the scene positions (px) of the corners TL, TR, BR,
    BL of the page image as it was pasted, i.e. of the page turned `turned` degrees clockwise."""

    id: str
    jpeg: bytes
    quad: np.ndarray
    turned: int
    page_size: tuple[int, int]  # (width, height) of the turned page image
    lines: tuple[str, ...]  # the page's text in reading order (stamp excluded)
    conditions: dict[str, Any]  # what was drawn: background, fill, angle, shadow, ...


def make_case(index: int, seed: int = 0, size: tuple[int, int] = (1600, 1200)) -> Case:
    """Case `index` of a seeded series. Quarter turn and background follow the index, so any
    16 consecutive cases cover every (turn, background) pair; the rest is drawn at random."""
    rng = np.random.default_rng([seed, index])
    turned = TURNS[index % 4]
    background = BACKGROUNDS[(index // 4) % 4]
    extra = _extra(index)
    kind = str(rng.choice(["letter", "landscape", "receipt"], p=[0.7, 0.15, 0.15]))
    if extra == "id_card":
        kind = extra
    elif extra in DISPLAYS:
        kind = "whiteboard" if extra == "whiteboard" else "slide"
        background = extra
    # (Draws from `rng` exactly as before the fixed shapes were added: old cases stay as they were.)
    fixed = {"id_card": CARD_ASPECT, "slide": SLIDE_ASPECT, "whiteboard": BOARD_ASPECT}
    aspect = {"letter": rng.choice([1.414, 1.294]), "landscape": 0.707}.get(
        kind, fixed[kind] if kind in fixed else rng.uniform(2.2, 3.0)
    )
    shown_aspect = aspect if turned in (0, 180) else 1.0 / aspect  # height / width in the photo
    frame = _frame_size(size, shown_aspect, rng)
    cut = bool(rng.random() < 0.15) and extra is None
    # A card is shot from close up, but seldom fills the frame.
    high = 0.6 if kind == "id_card" else 0.95
    fill = rng.uniform(0.2, min(high, 0.97 * _max_fill(shown_aspect, frame)))
    pose = _random_pose(rng, float(fill), frame)
    quad = _place(shown_aspect, frame, fill, pose, cut, rng)

    shown_w = max(_dist(quad[0], quad[1]), _dist(quad[3], quad[2]))
    shown_h = max(_dist(quad[0], quad[3]), _dist(quad[1], quad[2]))
    page_w = round(shown_w if turned in (0, 180) else shown_h)  # rendered at about 1:1
    paper = PAPERS[(index - COLOURED_CASES) % len(PAPERS)] if extra == "coloured" else None
    page, lines = render_page(kind, page_w, float(aspect), rng, None if paper is None else paper[1])
    turned_page = np.ascontiguousarray(np.rot90(page, k=-(turned // 90)))
    scene = _background(background, frame, rng)
    if extra == "monitor":
        scene = _bezel(scene, turned_page.shape[:2], quad, rng)
    elif background in BACKGROUNDS:
        _add_distractors(scene, rng)
    shape = _rounded(turned_page.shape[:2], 0.045) if kind == "id_card" else None
    scene = _paste(scene, turned_page, quad, rng, shape, lies_on=extra not in DISPLAYS)
    if extra == "projector":
        scene = cv2.GaussianBlur(scene, (0, 0), 1.2)  # a projection has no crisp edge
    if extra == "finger":
        scene = _finger(scene, quad, rng)
    scene, conditions = _photograph(scene, quad, rng)
    quality = int(rng.integers(60, 93))
    conditions.update(
        kind=kind,
        background=background,
        frame=f"{frame[0]}x{frame[1]}",
        fill=round(_visible_fill(quad, frame), 3),
        cut=cut,
        finger=extra == "finger",
        angle=round(pose["angle"], 1),
        tilt=round(max(abs(pose["pitch"]), abs(pose["yaw"])), 1),
        jpeg=quality,
    )
    if paper is not None:
        conditions.update(paper=paper[0], paper_rgb=list(paper[1]))
    return Case(
        id=f"c{index:03d}",
        jpeg=encode_jpeg(scene, quality),
        quad=quad,
        turned=turned,
        page_size=(turned_page.shape[1], turned_page.shape[0]),
        lines=tuple(lines),
        conditions=conditions,
    )


def _extra(index: int) -> str | None:
    if index >= COLOURED_CASES:
        return "coloured"
    if index >= DISPLAY_CASES:
        return DISPLAYS[(index - DISPLAY_CASES) % len(DISPLAYS)]
    if index >= BASE_CASES:
        return EXTRAS[(index - BASE_CASES) % len(EXTRAS)]
    return None


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _visible_fill(quad: np.ndarray, frame: tuple[int, int]) -> float:
    """Share of the frame covered by the page (the part of it inside the frame)."""
    width, height = frame
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
    return float(mask.mean())


# --- the page -------------------------------------------------------------------------------


def render_page(
    kind: str,
    width: int,
    aspect: float,
    rng: np.random.Generator,
    paper_rgb: tuple[int, int, int] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """An upright page `width` px wide, `aspect` high/wide, and its text lines; on off-white
    paper, or on `paper_rgb`."""
    height = round(width * aspect)
    tint = rng.integers(0, 12, 3) if rng.random() < 0.3 else np.zeros(3, int)
    paper = paper_rgb or tuple(int(v) for v in 252 - tint)
    image = Image.new("RGB", (width, height), paper)
    if kind == "id_card":
        return _card(width, height, rng)
    if kind == "slide":
        return _slide(width, height, rng)
    if kind == "whiteboard":
        return _whiteboard(width, height, rng)
    writer = _Writer(ImageDraw.Draw(image), width, height, rng, kind == "receipt")
    if kind == "receipt":
        writer.receipt()
    else:
        writer.letter()
    if rng.random() < 0.5:
        _stamp(image, writer, rng)
    return np.asarray(image), writer.lines


def _card(width: int, height: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """An ID card: a pale tinted ground, a coloured band with the issuer, a photo, fields."""
    ground = tuple(int(v) for v in rng.uniform(215, 245, 3))
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    band = round(height * 0.2)
    accent = _accent(rng)
    draw.rectangle([0, 0, width, band], fill=accent)
    regular, bold = _font_pair(rng, mono=False)
    title = str(rng.choice(("IDENTITY CARD", "RESIDENCE PERMIT", "DRIVING LICENCE")))
    draw.text(
        (width * 0.05, band * 0.25), title, font=_font(bold, round(band * 0.5)), fill=(250,) * 3
    )
    x0, y0 = round(width * 0.05), round(band + height * 0.08)
    x1, y1 = round(width * 0.3), round(height * 0.9)
    draw.rectangle([x0, y0, x1, y1], fill=tuple(int(v) for v in rng.uniform(120, 170, 3)))
    head = (x1 - x0) * 0.3
    cx, cy = (x0 + x1) / 2, y0 + (y1 - y0) * 0.4
    draw.ellipse([cx - head, cy - head * 1.2, cx + head, cy + head * 1.2], fill=(190, 150, 125))
    size = max(8, round(height * 0.075))
    lines = [
        f"SURNAME {str(rng.choice(WORDS)).upper()}",
        f"GIVEN NAMES {str(rng.choice(WORDS)).capitalize()}",
        f"BORN {_date(rng)}",
        f"NO {rng.integers(10**7, 10**8)}",
        f"EXPIRES {_date(rng)}",
    ]
    y = y0
    for line in lines:
        draw.text((width * 0.36, y), line, font=_font(regular, size), fill=INK)
        y += size * 1.6
    return np.asarray(image), [title, *lines]


def _slide(width: int, height: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A presentation slide: a title bar in an accent colour, then bullet points."""
    image = Image.new("RGB", (width, height), (250, 250, 252))
    draw = ImageDraw.Draw(image)
    accent = _accent(rng)
    bar = round(height * 0.18)
    draw.rectangle([0, 0, width, bar], fill=accent)
    regular, bold = _font_pair(rng, mono=False)
    title = _title(rng, 3)
    draw.text(
        (width * 0.05, bar * 0.25), title, font=_font(bold, round(bar * 0.45)), fill=(250,) * 3
    )
    size = max(8, round(height * 0.05))
    lines = [title]
    y = bar + height * 0.08
    while y + size * 2.2 < height * 0.95:
        dot = size * 0.35
        x = width * 0.07
        draw.ellipse([x, y + size * 0.35, x + dot, y + size * 0.35 + dot], fill=accent)
        line = _title(rng, int(rng.integers(3, 7)))
        draw.text((width * 0.11, y), line, font=_font(regular, size), fill=INK)
        lines.append(line)
        y += size * 2.0
    return np.asarray(image), lines


def _whiteboard(width: int, height: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A whiteboard in its aluminium frame, with lines of blue, black and red marker."""
    frame = max(3, round(width * 0.015))
    image = Image.new("RGB", (width, height), (172, 176, 180))
    draw = ImageDraw.Draw(image)
    draw.rectangle([frame, frame, width - frame - 1, height - frame - 1], fill=(240, 242, 240))
    regular, _ = _font_pair(rng, mono=False)
    size = max(9, round(height * 0.065))
    lines = []
    y = height * 0.1
    for k in range(int(rng.integers(4, 7))):
        colour = ((25, 45, 160), (25, 25, 30), (170, 30, 35))[k % 3]
        line = _title(rng, int(rng.integers(2, 5)))
        draw.text((width * 0.08, y), line, font=_font(regular, size), fill=colour)
        lines.append(line)
        y += size * 1.8
        if y + size > height * 0.9:
            break
    return np.asarray(image), lines


def _rounded(shape: tuple[int, int], radius: float) -> np.ndarray:
    """A float mask of a `shape` (rows, columns) rectangle whose corners are rounded by
    `radius` x its longer side (anti-aliased by supersampling)."""
    height, width = shape
    scale = 4
    r = round(radius * max(shape) * scale)
    big = np.zeros((height * scale, width * scale), np.uint8)
    cv2.rectangle(big, (r, 0), (width * scale - 1 - r, height * scale - 1), 255, -1)
    cv2.rectangle(big, (0, r), (width * scale - 1, height * scale - 1 - r), 255, -1)
    for cx in (r, width * scale - 1 - r):
        for cy in (r, height * scale - 1 - r):
            cv2.circle(big, (cx, cy), r, 255, -1)
    small = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / path), size)


def _font_pair(rng: np.random.Generator, mono: bool) -> tuple[str, str]:
    pairs = [p for p in (MONO_PAIRS if mono else FONT_PAIRS) if (FONT_DIR / p[0]).is_file()]
    if not pairs:
        raise SystemExit(f"no TrueType fonts under {FONT_DIR}: run bench/setup.sh")
    return pairs[int(rng.integers(len(pairs)))]


class _Writer:
    """Lays text out top to bottom on a page and records each visual line it writes."""

    def __init__(
        self,
        draw: ImageDraw.ImageDraw,
        width: int,
        height: int,
        rng: np.random.Generator,
        mono: bool,
    ) -> None:
        self.draw, self.width, self.height, self.rng = draw, width, height, rng
        # Sizes are in hundredths of the page width (of a portrait page of the same height).
        self.unit = min(width, height / 1.3) / 100
        self.margin = round(self.unit * (6 if mono else rng.uniform(7, 10)))
        self.regular, self.bold = _font_pair(rng, mono)
        self.body = max(8, round(self.unit * (4.2 if mono else rng.uniform(1.8, 2.3))))
        self.y = self.margin
        self.free_top = self.height  # where free space starts below the text (for a stamp)
        self.lines: list[str] = []

    @property
    def right(self) -> int:
        return self.width - self.margin

    @property
    def bottom(self) -> int:
        return self.height - self.margin

    def room(self, size: int, rows: int = 1) -> bool:
        return self.y + rows * size * 1.5 <= self.bottom - 2 * self.body

    def text(self, x: float, text: str, size: int, bold: bool = False, fill=INK) -> None:
        font = _font(self.bold if bold else self.regular, size)
        self.draw.text((x, self.y), text, font=font, fill=fill)

    def row(self, cells: list[tuple[str, str]], size: int, bold: bool = False) -> None:
        """One line of left-, centre- or right-aligned pieces ("l" / "c" / "r", text)."""
        font = _font(self.bold if bold else self.regular, size)
        for align, text in cells:
            length = font.getlength(text)
            x = {"l": self.margin, "c": (self.width - length) / 2, "r": self.right - length}
            self.text(x[align], text, size, bold)
        self.lines.append(" ".join(text for _, text in cells))
        self.y += round(size * 1.45)

    def paragraph(self, sentences: int) -> None:
        font = _font(self.regular, self.body)
        words = " ".join(_sentence(self.rng) for _ in range(sentences)).split()
        line: list[str] = []
        for word in words:
            if line and font.getlength(" ".join([*line, word])) > self.right - self.margin:
                if not self.room(self.body):
                    return
                self.row([("l", " ".join(line))], self.body)
                line = []
            line.append(word)
        if line and self.room(self.body):
            self.row([("l", " ".join(line))], self.body)

    def rule(self, colour=(150, 150, 150)) -> None:
        self.y += round(self.body * 0.4)
        self.draw.line([(self.margin, self.y), (self.right, self.y)], colour, self._stroke())
        self.y += round(self.body * 0.8)

    def _stroke(self) -> int:
        return max(1, round(self.unit * 0.18))

    def letter(self) -> None:
        rng = self.rng
        self._logo()
        company = str(rng.choice(COMPANIES))
        self.row([("l", company), ("r", _date(rng))], round(self.body * 1.15), bold=True)
        self.rule(_accent(rng))
        self.y += self.body
        self.row([("l", f"{rng.choice(HEADINGS)} {rng.integers(100, 9999)}")], self.body * 2, True)
        self.y += self.body // 2
        self.paragraph(int(rng.integers(2, 5)))
        self.y += self.body
        self.table()
        self.y += self.body
        while self.room(self.body, 4):
            self.row([("l", f"{rng.integers(1, 9)}. {_title(rng)}")], round(self.body * 1.3), True)
            self.paragraph(int(rng.integers(2, 5)))
            self.y += self.body // 2
        self.free_top = self.y
        self.y = self.bottom - self.body
        self.row([("c", f"Page {rng.integers(1, 4)} of {rng.integers(4, 9)}")], self.body)

    def _logo(self) -> None:
        size = round(self.body * 2.2)
        x, y = self.right - size, self.y
        colour = _accent(self.rng)
        self.draw.ellipse([x, y, x + size, y + size], fill=colour)
        inner = size // 4
        self.draw.rectangle([x + inner, y + inner, x + size - inner, y + size - inner], (250,) * 3)
        self.y += size + self.body // 2

    def table(self) -> None:
        rng = self.rng
        rows = int(rng.integers(3, 7))
        if not self.room(self.body, rows + 2):
            return
        edges = self.margin + np.cumsum([0, 0.46, 0.12, 0.2, 0.22]) * (self.right - self.margin)
        height = round(self.body * 1.9)
        top = self.y
        self.draw.rectangle([edges[0], top, edges[-1], top + height], fill=(228, 230, 232))
        header = ["Description", "Qty", "Unit price", "Amount"]
        body = [_table_row(rng) for _ in range(rows)]
        for i, cells in enumerate([header, *body]):
            self._table_row(cells, edges, top + i * height, height, bold=i == 0)
        bottom = top + (rows + 1) * height
        stroke = self._stroke()
        for i in range(rows + 2):
            y = top + i * height
            self.draw.line([(edges[0], y), (edges[-1], y)], (70, 70, 70), stroke)
        for x in edges:
            self.draw.line([(x, top), (x, bottom)], (70, 70, 70), stroke)
        self.y = bottom + self.body

    def _table_row(
        self, cells: list[str], edges: np.ndarray, top: int, height: int, bold: bool
    ) -> None:
        font = _font(self.bold if bold else self.regular, self.body)
        pad = self.body * 0.5
        for i, text in enumerate(cells):
            x = edges[i] + pad if i == 0 else edges[i + 1] - pad - font.getlength(text)
            self.draw.text((x, top + (height - self.body) / 2), text, font=font, fill=INK)
        self.lines.append(" ".join(cells))

    def receipt(self) -> None:
        rng = self.rng
        self.row([("c", str(rng.choice(COMPANIES)).upper())], round(self.body * 1.3), True)
        self.row([("c", f"{rng.integers(1, 250)} Market Street")], self.body)
        clock = f"{rng.integers(7, 21)}:{rng.integers(10, 60)}"
        self.row([("l", _date(rng)), ("r", clock)], self.body)
        self.rule()
        total = 0.0
        while self.room(self.body, 5):
            price = rng.integers(50, 4000) / 100
            total += price
            self.row([("l", _title(rng, 2).upper()), ("r", f"{price:.2f}")], self.body)
        self.rule()
        self.row([("l", "TOTAL"), ("r", f"{total:.2f}")], round(self.body * 1.2), True)
        self.row([("c", "THANK YOU")], self.body)
        self.free_top = self.y


def _sentence(rng: np.random.Generator) -> str:
    words = []
    for _ in range(int(rng.integers(6, 15))):
        pool = SHORT_WORDS if rng.random() < 0.35 else WORDS
        words.append(str(rng.choice(pool)))
    if rng.random() < 0.3:
        words.insert(int(rng.integers(1, len(words))), f"{rng.integers(2, 99)}")
    if rng.random() < 0.3:
        words[int(rng.integers(1, len(words) - 1))] += ","
    return " ".join(words).capitalize() + "."


def _title(rng: np.random.Generator, words: int = 3) -> str:
    return " ".join(str(w) for w in rng.choice(WORDS, words)).title()


def _date(rng: np.random.Generator) -> str:
    return f"{rng.integers(1, 29)} {rng.choice(MONTHS)} {rng.integers(2019, 2027)}"


def _table_row(rng: np.random.Generator) -> list[str]:
    qty = int(rng.integers(1, 25))
    price = rng.integers(100, 50000) / 100
    return [_title(rng, 2), str(qty), f"{price:,.2f}", f"{qty * price:,.2f}"]


def _accent(rng: np.random.Generator) -> tuple[int, int, int]:
    colours = [(30, 80, 170), (190, 40, 40), (30, 130, 70), (200, 120, 20)]
    return colours[int(rng.integers(len(colours)))]


def _stamp(image: Image.Image, writer: _Writer, rng: np.random.Generator) -> None:
    """A rotated coloured rubber stamp in free space near the bottom right (not in the truth)."""
    size = round(writer.body * 1.8)
    font = _font(writer.bold, size)
    text = str(rng.choice(STAMPS))
    box_w, box_h = round(font.getlength(text) + size), round(size * 1.8)
    top = writer.free_top + writer.body
    if top + box_h * 1.3 > writer.bottom - writer.body:
        return  # no free space: a stamp over text would corrupt the OCR truth
    layer = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colour = (*((200, 30, 40) if rng.random() < 0.6 else (30, 60, 190)), 190)
    draw.rounded_rectangle([2, 2, box_w - 3, box_h - 3], size // 3, outline=colour, width=3)
    draw.text((size / 2, (box_h - size) / 2 - size * 0.1), text, font=font, fill=colour)
    layer = layer.rotate(float(rng.uniform(-15, 15)), expand=True, resample=Image.BICUBIC)
    image.paste(layer, (writer.right - layer.width, top), layer)


# --- the photo ------------------------------------------------------------------------------


def _frame_size(
    size: tuple[int, int], shown_aspect: float, rng: np.random.Generator
) -> tuple[int, int]:
    """Landscape or portrait frame, mostly the way the page lies (as people hold the phone)."""
    long, short = max(size), min(size)
    portrait = shown_aspect > 1 if rng.random() < 0.8 else shown_aspect <= 1
    return (short, long) if portrait else (long, short)


def _max_fill(shown_aspect: float, frame: tuple[int, int]) -> float:
    frame_aspect = frame[1] / frame[0]
    return min(frame_aspect / shown_aspect, shown_aspect / frame_aspect)


def _random_pose(rng: np.random.Generator, fill: float, frame: tuple[int, int]) -> dict:
    """Camera pose: a page that fills more of the frame is shot straighter."""
    freedom = min(1.0, (1.0 - fill) * 2.0 + 0.1)
    return {
        "angle": float(np.clip(rng.normal(0, 14), -35, 35) * freedom),
        "pitch": float(rng.uniform(-25, 25) * freedom),
        "yaw": float(rng.uniform(-20, 20) * freedom),
        "focal": float(max(frame) * rng.uniform(0.7, 1.0)),
    }


def _place(
    aspect: float,
    frame: tuple[int, int],
    fill: float,
    pose: dict,
    cut: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """Scene quad of a page (height/width `aspect`) seen by a pinhole camera at `pose`, covering
    about `fill` of the frame, inside it, or with one corner pushed out when `cut`."""
    width, height = frame
    target = fill * width * height
    centre = np.array([width, height]) * (0.5 + rng.uniform(-0.15, 0.15, 2) * (1 - fill))
    depth = 1.0
    for _ in range(60):
        quad = _project(aspect, pose, centre, depth, frame)
        area = _area(quad)
        depth *= math.sqrt(area / target)
        inside = _inside(quad, frame, 0.005)
        if abs(area / target - 1) < 0.01 and inside:
            break
        if not inside:  # pull toward the middle, then give up some fill
            centre += (np.array([width, height]) / 2 - centre) * 0.3
            target *= 0.985
    quad = _project(aspect, pose, centre, depth, frame)
    if cut:
        quad = _push_corner_out(quad, frame, rng)
    return quad.astype(np.float32)


def _project(
    aspect: float, pose: dict, centre: np.ndarray, depth: float, frame: tuple[int, int]
) -> np.ndarray:
    corners = np.array([[-0.5, -aspect / 2, 0], [0.5, -aspect / 2, 0], [0.5, aspect / 2, 0]])
    corners = np.vstack([corners, [-0.5, aspect / 2, 0]])
    world = corners @ _rotation(pose).T
    principal = np.array(frame, float) / 2
    offset = (centre - principal) / pose["focal"] * depth
    world = world + np.array([offset[0], offset[1], depth])
    return world[:, :2] / world[:, 2:] * pose["focal"] + principal


def _rotation(pose: dict) -> np.ndarray:
    a, p, y = (math.radians(pose[k]) for k in ("angle", "pitch", "yaw"))
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    return ry @ rx @ rz


def _push_corner_out(
    quad: np.ndarray, frame: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Shift the page so its corner nearest the frame edge ends 2-6 % of the diagonal outside."""
    width, height = frame
    gaps = np.stack([quad[:, 0], width - quad[:, 0], quad[:, 1], height - quad[:, 1]], axis=1)
    corner, side = np.unravel_index(np.argmin(gaps), gaps.shape)
    diagonal = _dist(quad[0], quad[2])
    shift = gaps[corner, side] + rng.uniform(0.02, 0.06) * diagonal
    direction = [(-1, 0), (1, 0), (0, -1), (0, 1)][side]
    return quad + np.array(direction) * shift


def _background(kind: str, frame: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    width, height = frame
    noise = rng.standard_normal((height, width), np.float32)
    if kind == "dark_wood":
        base = np.array([rng.uniform(80, 115), rng.uniform(52, 75), rng.uniform(32, 50)])
        grain = _soft(noise, 40, 1.2) * 60
        x = np.arange(width)[None, :]
        seams = (np.abs((x % int(rng.integers(280, 480))) - 2) < 2) * -35.0
        light = grain + seams + cv2.GaussianBlur(noise, (0, 0), 1) * 5
        image = base + light[..., None] * np.array([1.0, 0.75, 0.55])
        if rng.random() < 0.5:  # planks along the other axis
            image = cv2.resize(np.ascontiguousarray(image.transpose(1, 0, 2)), (width, height))
    elif kind == "cloth":
        image = _cloth(frame, rng) + cv2.GaussianBlur(noise, (0, 0), 0.8)[..., None] * 8
    elif kind == "monitor":  # a dim room
        yy = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
        dim = rng.uniform(25, 45) + 25 * yy + _soft(noise, 30)[..., None] * 30
        image = dim * np.float32([1.0, 1.0, 1.08])
    elif kind in ("projector", "whiteboard"):  # a painted wall, dimmer for a projection
        level = rng.uniform(100, 140) if kind == "projector" else rng.uniform(185, 215)
        wall = np.float32([1.0, 0.96, 0.9]) * level
        image = (
            wall + _soft(noise, 20)[..., None] * 20 + cv2.GaussianBlur(noise, (0, 0), 1)[..., None]
        )
    else:
        level = rng.uniform(195, 222) if kind == "light_desk" else rng.uniform(228, 245)
        mottle = _soft(noise, 12) * 40
        tint = rng.uniform(-6, 6, 3)
        image = level + tint + mottle[..., None] + cv2.GaussianBlur(noise, (0, 0), 1)[..., None]
    return np.clip(image, 0, 255).astype(np.float32)


def _cloth(frame: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Gingham: two sets of soft stripes in a random colour over a pale ground."""
    width, height = frame
    yy, xx = (a.astype(np.float32) for a in np.mgrid[0:height, 0:width])
    phi = rng.uniform(0, math.pi)
    period = rng.uniform(25, 70)
    u = xx * math.cos(phi) + yy * math.sin(phi)
    v = -xx * math.sin(phi) + yy * math.cos(phi)
    stripes_u = (np.sin(u * 2 * math.pi / period) > 0).astype(np.float32)
    stripes_v = (np.sin(v * 2 * math.pi / period) > 0).astype(np.float32)
    weight = cv2.GaussianBlur((stripes_u + stripes_v) / 2, (0, 0), 1.0)[..., None]
    colours = [(180, 40, 50), (40, 70, 160), (40, 120, 70), (150, 110, 60)]
    colour = np.array(colours[int(rng.integers(len(colours)))], np.float32)
    ground = np.array([238, 232, 222], np.float32)
    return ground * (1 - weight) + colour * weight


def _add_distractors(scene: np.ndarray, rng: np.random.Generator) -> None:
    """A pen and a coaster or so on the desk (under the page if they overlap it)."""
    height, width = scene.shape[:2]
    for _ in range(int(rng.integers(0, 3))):
        colour = tuple(float(c) for c in rng.uniform(10, 90, 3))
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        if rng.random() < 0.5:
            axes = (int(width * rng.uniform(0.1, 0.2)), int(width * 0.008) + 3)
        else:
            radius = int(width * rng.uniform(0.04, 0.08))
            axes = (radius, radius)
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(scene, centre, axes, angle, 0, 360, colour, -1, cv2.LINE_AA)


def _paste(
    scene: np.ndarray,
    page: np.ndarray,
    quad: np.ndarray,
    rng: np.random.Generator,
    shape: np.ndarray | None = None,
    lies_on: bool = True,
) -> np.ndarray:
    """The page warped onto the scene at `quad`, over a soft contact shadow when it `lies_on`
    the scene (not a screen or a projection); `shape` is its coverage (rounded corners), a full
    rectangle by default."""
    height, width = scene.shape[:2]
    ph, pw = page.shape[:2]
    source = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    matrix = cv2.getPerspectiveTransform(source, quad.astype(np.float32))
    warped = cv2.warpPerspective(page, matrix, (width, height), flags=cv2.INTER_LINEAR)
    cover = np.ones((ph, pw), np.float32) if shape is None else shape
    alpha = cv2.warpPerspective(cover, matrix, (width, height), flags=cv2.INTER_LINEAR)[..., None]
    if not lies_on:
        return warped.astype(np.float32) * alpha + scene * (1 - alpha)
    offset = rng.uniform(-1, 1, 2) * max(width, height) * 0.004
    shift = np.float32([[1, 0, offset[0]], [0, 1, offset[1]]])
    shadow = cv2.warpAffine(alpha[..., 0], shift, (width, height))
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(width, height) * 0.004)[..., None]
    scene = scene * (1 - rng.uniform(0.15, 0.4) * shadow)
    return warped.astype(np.float32) * alpha + scene * (1 - alpha)


def _bezel(
    scene: np.ndarray, page_shape: tuple[int, int], quad: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A monitor's dark bezel around the screen at `quad` (the screen's page image is
    `page_shape`): the same plane, 3-6 % of the screen's width wider on every side."""
    ph, pw = page_shape
    source = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    matrix = cv2.getPerspectiveTransform(source, quad.astype(np.float32))
    rim = rng.uniform(0.03, 0.06) * max(pw, ph)
    outer = np.float32([[-rim, -rim], [pw + rim, -rim], [pw + rim, ph + rim], [-rim, ph + rim]])
    bezel_quad = cv2.perspectiveTransform(outer[None], matrix)[0]
    size = (round(ph + 2 * rim), round(pw + 2 * rim))  # about 1:1, so its edges stay crisp
    bezel = np.full((*size, 3), rng.uniform(12, 30), np.float32)
    return _paste(scene, bezel, bezel_quad, rng)


def _finger(scene: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A finger holding the page down: a shaded skin-coloured capsule from the nearest frame
    edge over one corner of the page, casting a soft shadow."""
    height, width = scene.shape[:2]
    corner = quad[int(rng.integers(4))]
    gaps = np.array([corner[0], width - corner[0], corner[1], height - corner[1]])
    side = int(np.argmin(gaps))
    start = corner.copy()
    start[side // 2] = (0.0, width, 0.0, height)[side] + (-1, 1, -1, 1)[side] * 0.05 * width
    tip = corner + (corner - start) / max(np.linalg.norm(corner - start), 1e-6) * (
        rng.uniform(0.02, 0.05) * max(width, height)
    )
    thick = round(rng.uniform(0.045, 0.07) * max(width, height))
    cover = np.zeros((height, width), np.float32)
    cv2.line(
        cover,
        tuple(np.round(start).astype(int)),
        tuple(np.round(tip).astype(int)),
        1.0,
        thick,
        cv2.LINE_AA,
    )
    cover = cv2.GaussianBlur(cover, (0, 0), 1.5)[..., None]
    shadow = cv2.GaussianBlur(
        np.roll(cover[..., 0], (thick // 4, thick // 4), (0, 1)), (0, 0), thick / 3
    )[..., None]
    skin = np.float32([rng.uniform(170, 235), rng.uniform(120, 175), rng.uniform(95, 145)])
    # Lit along its length, darker at its sides: distance from the axis as shading.
    across = cv2.GaussianBlur(cover[..., 0], (0, 0), thick / 4)[..., None]
    finger = skin * (0.7 + 0.3 * np.clip(across * 1.6, 0, 1))
    scene = scene * (1 - 0.35 * shadow * (1 - cover))
    return finger * cover + scene * (1 - cover)


def _photograph(
    scene: np.ndarray, quad: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """Light, shadow, lens blur and sensor noise. Returns uint8 RGB and what was applied."""
    height, width = scene.shape[:2]
    yy, xx = (a.astype(np.float32) for a in np.mgrid[0:height, 0:width])
    theta = rng.uniform(0, 2 * math.pi)
    ramp = (xx * math.cos(theta) + yy * math.sin(theta)) / max(width, height)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    radius2 = ((xx - width / 2) ** 2 + (yy - height / 2) ** 2) / (
        (width / 2) ** 2 + (height / 2) ** 2
    )
    light = (1 - rng.uniform(0.05, 0.35) * ramp) * (1 - rng.uniform(0, 0.25) * radius2)
    cast = np.float32([1 + rng.uniform(-0.03, 0.06), 1.0, 1 - rng.uniform(-0.03, 0.08)])
    image = scene * light[..., None] * cast
    shadow = rng.random() < 0.6
    if shadow:
        image = image * _shadow(quad, (width, height), rng)
    blur = float(rng.uniform(0.2, 1.3))
    image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), blur)
    noise = float(rng.uniform(1.5, 5.0))
    grain = rng.standard_normal((height, width, 1), np.float32) * noise
    grain = grain + rng.standard_normal(image.shape, np.float32) * (noise / 3)
    image = np.clip(image + grain, 0, 255).astype(np.uint8)
    return image, {"shadow": shadow, "blur": round(blur, 2), "noise": round(noise, 1)}


def _shadow(quad: np.ndarray, frame: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A soft, cool shadow (a hand or phone) reaching from outside the frame across the page."""
    width, height = frame
    centre = quad.mean(axis=0)
    start = centre + rng.normal(0, 1, 2) * np.array([width, height]) * 1.2
    reach = centre + rng.uniform(-0.4, 0.4, 2) * np.ptp(quad, axis=0)
    direction = (reach - start) / max(np.linalg.norm(reach - start), 1e-6)
    normal = np.array([-direction[1], direction[0]]) * max(width, height) * rng.uniform(0.08, 0.2)
    polygon = np.array([start - normal * 2, reach - normal, reach + normal, start + normal * 2])
    mask = np.zeros((height, width), np.float32)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1.0)
    mask = _soft(mask, max(width, height) * rng.uniform(0.01, 0.04))
    depth = rng.uniform(0.25, 0.55)
    return 1 - depth * mask[..., None] * np.float32([1.0, 0.97, 0.9])


def _soft(field: np.ndarray, sigma_x: float, sigma_y: float | None = None) -> np.ndarray:
    """Gaussian blur with a large sigma, computed on a shrunk copy (the result is smooth)."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    height, width = field.shape[:2]
    fx, fy = (max(1.0, s / 3) for s in (sigma_x, sigma_y))
    small = cv2.resize(
        field, (max(1, round(width / fx)), max(1, round(height / fy))), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma_x / fx, sigmaY=sigma_y / fy)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _inside(quad: np.ndarray, frame: tuple[int, int], margin: float) -> bool:
    pad = margin * max(frame)
    return bool(
        (quad[:, 0] >= pad).all()
        and (quad[:, 1] >= pad).all()
        and (quad[:, 0] <= frame[0] - pad).all()
        and (quad[:, 1] <= frame[1] - pad).all()
    )


def _area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
