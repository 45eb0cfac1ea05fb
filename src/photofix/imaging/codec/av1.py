"""The frame size an AV1 stream codes, from its sequence header OBU (AV1 spec 5.5).

libavif decodes an AVIF item's whole AV1 frame, up to its own limit of 16384 x 16384, and then
scales it to the size the item's header (ispe) gives: a 1 KB file can make it decode 268 M
pixels. The codec reads the sequence header first and refuses a frame over the input limits.
"""

from __future__ import annotations

_OBU_SEQUENCE_HEADER = 1
_SCAN_OBUS = 16  # the sequence header comes first in an item (a temporal delimiter may precede)


class _Bits:
    """A big-endian bit reader; reading past the end raises IndexError."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def f(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def uvlc(self) -> int:
        zeros = 0
        while not self.f(1):
            zeros += 1
            if zeros >= 32:
                return (1 << 32) - 1
        return self.f(zeros) + (1 << zeros) - 1


def max_frame_size(stream: bytes) -> tuple[int, int] | None:
    """(width, height) of the sequence header's max frame size, or None when the stream does
    not start with one that reads (libavif then refuses the item as broken)."""
    pos = 0
    for _ in range(_SCAN_OBUS):
        if pos >= len(stream):
            return None
        header = stream[pos]
        kind, extension, has_size = (header >> 3) & 0x0F, header & 0x04, header & 0x02
        pos += 2 if extension else 1
        size = len(stream) - pos
        if has_size:
            size, pos = _leb128(stream, pos)
        if kind == _OBU_SEQUENCE_HEADER:
            try:
                return _sequence_max_frame(_Bits(stream[pos : pos + size]))
            except IndexError:
                return None
        pos += size
    return None


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        byte = data[pos] if pos < len(data) else 0
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            break
    return value, pos


def _sequence_max_frame(bits: _Bits) -> tuple[int, int]:
    bits.f(3)  # seq_profile
    bits.f(1)  # still_picture
    if bits.f(1):  # reduced_still_picture_header
        bits.f(5)  # seq_level_idx[0]
    else:
        _operating_points(bits)
    width_bits, height_bits = bits.f(4) + 1, bits.f(4) + 1
    return bits.f(width_bits) + 1, bits.f(height_bits) + 1


def _operating_points(bits: _Bits) -> None:
    """Timing, decoder model and operating point fields, read only to get past them."""
    decoder_model, delay_length = False, 0
    if bits.f(1):  # timing_info_present_flag
        bits.f(32), bits.f(32)  # num_units_in_display_tick, time_scale
        if bits.f(1):  # equal_picture_interval
            bits.uvlc()
        decoder_model = bool(bits.f(1))
        if decoder_model:
            delay_length = bits.f(5) + 1
            bits.f(32), bits.f(5), bits.f(5)  # decoding tick, removal/presentation lengths
    initial_display_delay = bits.f(1)
    for _ in range(bits.f(5) + 1):  # operating_points_cnt_minus_1
        bits.f(12)  # operating_point_idc
        if bits.f(5) > 7:  # seq_level_idx
            bits.f(1)  # seq_tier
        if decoder_model and bits.f(1):
            bits.f(delay_length), bits.f(delay_length), bits.f(1)
        if initial_display_delay and bits.f(1):
            bits.f(4)
