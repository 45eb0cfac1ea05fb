"""The pure image-processing core: numpy arrays in, numpy arrays and metadata out.

Nothing here reads configuration, touches storage or speaks HTTP. Models arrive as arguments
that satisfy the protocols in `protocols.py`; this package never loads them itself.
Images are `uint8` numpy arrays in RGB (H, W, 3) or RGBA (H, W, 4) channel order.
"""
