"""photofix: self-hosted document scanning and product cut-outs behind a PicWish-compatible API."""

__version__ = "0.1.0"
