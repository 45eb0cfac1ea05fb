"""Safe image input and fast output: sniff, check limits, decode to 8-bit RGB(A), encode.

Pure: bytes in, numpy arrays and metadata out; no configuration, files or network. Modules by
concern, in the order bytes meet them:

- limits: ImageLimits and the byte and pixel-size checks every format shares
- sniff: the format from magic bytes (and TIFF's IFD0, to tell camera RAW from plain TIFF)
- pillow: Pillow restricted to the sniffed format, its many exception types made typed
- png, jpeg, tiff, raw: what each format needs beyond Pillow (PNG structure and an APNG's
  default image; strict libjpeg and the header oddities it only warns about; TIFF's first
  directory and codecs; LibRaw)
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
