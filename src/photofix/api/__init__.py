"""HTTP layer: a thin PicWish-compatible shell around TaskService."""

from photofix.api.app import create_app

__all__ = ["create_app"]
