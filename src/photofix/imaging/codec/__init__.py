"""Safe image input and fast output: sniff, check limits, decode to 8-bit RGB(A), encode.

Pure: bytes in, numpy arrays and metadata out; no configuration, files or network. Modules by
concern, in the order bytes meet them:

- limits: ImageLimits and the byte and pixel-size checks every format shares
- sniff: the format from magic bytes (TIFF's IFD0 tells camera RAW from plain TIFF, an ftyp
  box's brands HEIC/HEIF from AVIF; MPO is JPEG, read as its first frame)
- pillow: Pillow restricted to the sniffed format, its many exception types made typed
- png, jpeg, tiff, raw: what each format needs beyond Pillow (PNG structure and an APNG's
  default image; strict libjpeg and the header oddities it only warns about; TIFF's first
  directory and codecs; LibRaw)
- heif, av1: HEIC/HEIF (pillow-heif's libheif) and AVIF (Pillow's libavif): the primary image's
  ispe and every AV1 stream's coded frame size against the limits, libheif's irot/imir
- colour, exif: any pixel mode and profile to 8-bit sRGB; EXIF orientation
- decode: `validate` and `decode`, which put the above in order
- encode: PNG, JPEG and WebP output
"""

from photofix.imaging.codec.decode import DecodedImage, ImageInfo, decode, validate
from photofix.imaging.codec.encode import OUTPUT_FORMATS, content_type, encode
from photofix.imaging.codec.limits import ImageLimits
from photofix.imaging.codec.sniff import FORMATS, sniff_format

__all__ = [
    "FORMATS",
    "OUTPUT_FORMATS",
    "DecodedImage",
    "ImageInfo",
    "ImageLimits",
    "content_type",
    "decode",
    "encode",
    "sniff_format",
    "validate",
]
