"""The input limits (SPEC 3) and the checks every format shares."""

from __future__ import annotations

from dataclasses import dataclass

from photofix.errors import ImageTooLarge, InvalidImage

MB = 1024 * 1024


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 20 * MB
    max_side: int = 4096

    @property
    def max_pixels(self) -> int:
        return self.max_side**2


def check_byte_size(data: bytes, limits: ImageLimits) -> None:
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"image is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes "
            f"({limits.max_bytes / MB:g} MB)"
        )


def check_size(width: int, height: int, limits: ImageLimits) -> None:
    if width <= 0 or height <= 0:
        raise InvalidImage(f"image header gives an empty size ({width}x{height})")
    if width > limits.max_side or height > limits.max_side:
        raise ImageTooLarge(
            f"image is {width}x{height} pixels; the limit is {limits.max_side}x{limits.max_side}"
        )
