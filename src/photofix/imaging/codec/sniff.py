"""Which format the bytes are, from their magic numbers alone: the file name is never trusted.

MPO (a phone's dual-camera JPEG) is JPEG: its first frame is the image."""

from __future__ import annotations

from photofix.errors import InvalidImage, UnsupportedFormat
from photofix.imaging.codec.tiff import first_ifd

FORMATS = ("jpeg", "png", "bmp", "webp", "tiff", "sgi", "raw", "heif", "avif")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIFF_MAGICS = frozenset({b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"})
# Raw containers that are not plain TIFF: Olympus ORF, Panasonic RW2, Fujifilm RAF (CR3: ftyp).
_RAW_MAGICS = (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00", b"FUJIFILMCCD-RAW")
_BMP_DIB_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})  # the headers Pillow reads
_MIN_BYTES = 12  # nothing shorter can hold any supported header
# ISO-BMFF (ftyp) brands: AVIF (AV1 in HEIF), and HEIF with HEVC or generic image brands.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})  # HEIF, any codec
_MAX_BRANDS = 64  # real files list a handful

_SUPPORTED_TEXT = (
    "send JPEG, PNG, BMP, WebP, TIFF, SGI or camera RAW (DNG, CR2, NEF, ARW); "
    "also HEIC/HEIF and AVIF"
)
_KNOWN_UNSUPPORTED = (
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"<svg", "SVG"),
    (b"<?xml", "XML/SVG"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
)


def sniff_format(data: bytes) -> str:
    """The format from the magic bytes alone: one of FORMATS."""
    if len(data) < _MIN_BYTES:
        raise InvalidImage("image data is empty or too short to be an image")
    head = bytes(data[:18])
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and _bmp_info_size(head) in _BMP_DIB_SIZES:
        return "bmp"
    if head[:2] == b"\x01\xda" and head[2] in (0, 1) and head[3] in (1, 2):
        return "sgi"
    if head[:4] in TIFF_MAGICS:
        return "raw" if _tiff_is_camera_raw(data) else "tiff"
    if any(head.startswith(magic) for magic in _RAW_MAGICS) or head[4:12] == b"ftypcrx ":
        return "raw"
    if head[4:8] == b"ftyp" and (iso := _iso_image_format(data)) is not None:
        return iso
    raise UnsupportedFormat(f"{_describe_unsupported(head)} is not supported; {_SUPPORTED_TEXT}")


# TIFF tags that tell a camera RAW from a plain TIFF.
_TAG_SUBFILE, _TAG_PHOTOMETRIC, _TAG_MAKE, _TAG_SUBIFDS, _TAG_DNG_VERSION = (
    254,
    262,
    271,
    330,
    50706,
)
_RAW_PHOTOMETRIC = frozenset({32803, 34892})  # CFA, LinearRaw


def _tiff_is_camera_raw(data: bytes) -> bool:
    """DNG/NEF/ARW are TIFF too: tell them from plain TIFF by what IFD0 carries."""
    if data[:2] == b"II" and data[8:10] == b"CR":  # Canon CR2
        return True
    ifd = first_ifd(data)
    try:
        if _TAG_DNG_VERSION in ifd or ifd.get(_TAG_PHOTOMETRIC) in _RAW_PHOTOMETRIC:
            return True
        # NEF/ARW & co: a camera Make, IFD0 a reduced-size preview, the sensor data in SubIFDs.
        subfile = ifd.get(_TAG_SUBFILE)
    except Exception as exc:  # a value that does not decode as its declared type
        raise InvalidImage(f"corrupt TIFF: unreadable directory entry ({exc})") from exc
    preview = isinstance(subfile, int) and bool(subfile & 1)
    return _TAG_MAKE in ifd and (preview or _TAG_SUBIFDS in ifd)


def _iso_image_format(data: bytes) -> str | None:
    """ "avif" or "heif" from an ftyp box's brands, as libavif and libheif tell them: a specific
    major brand decides, else the compatible brands (AVIF files also list mif1)."""
    size = int.from_bytes(data[:4], "big")
    end = min(size if size >= 16 else 16, len(data), 16 + 4 * _MAX_BRANDS)
    major = bytes(data[8:12])
    brands = [major] + [bytes(data[i : i + 4]) for i in range(16, end - 3, 4)]
    if major in _AVIF_BRANDS:
        return "avif"
    if major in _HEIF_BRANDS:
        return "heif"
    if _AVIF_BRANDS.intersection(brands):
        return "avif"
    if (_HEIF_BRANDS | _HEIF_GENERIC_BRANDS).intersection(brands):
        return "heif"
    return None


def _bmp_info_size(head: bytes) -> int:
    return int.from_bytes(head[14:18], "little")


def _describe_unsupported(head: bytes) -> str:
    for magic, name in _KNOWN_UNSUPPORTED:
        if head.startswith(magic):
            return name
    if head[:2] == b"BM" and head[6:10] == bytes(4):  # a BMP file header's reserved fields
        return (
            f"BMP with a {_bmp_info_size(head)}-byte info header (a BMP variant Pillow does not "
            "read, or a corrupt BMP)"
        )
    if head[4:8] == b"ftyp":
        return f"ISO media of brand {head[8:12].decode('latin-1').strip()!r} (video or audio?)"
    return "this file type"
