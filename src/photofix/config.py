"""Settings, validated once at start-up. Every value can come from a `PHOTOFIX_*` variable.

No module-level instance: callers build one with `load_settings()` and pass it down.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from photofix.models.catalog import available_models

MB = 1024 * 1024


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("photofix", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOTOFIX_", extra="ignore")

    # Where the task store, results, uploaded sources, keys and the signing secret live.
    # Two instances with different data dirs share nothing.
    data_dir: Path = Field(default_factory=_default_data_dir)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Base of result URLs handed to clients; default: the URL the request came in on.
    public_url: str | None = None
    # embedded: this process runs a pool of image workers, tasks in SQLite (one machine, one
    # command). celery: `photofix worker` processes elsewhere take tasks from Redis (SPEC 5).
    runtime: Literal["embedded", "celery"] = "embedded"
    # Task records: SQLite in data_dir, or Redis (shared by every node). Default by runtime.
    task_store: Literal["sqlite", "redis"] | None = None
    # Uploaded sources and results: local disk (data_dir, which all nodes must share when
    # there are several) or S3-compatible object storage.
    result_store: Literal["local", "s3"] = "local"
    redis_url: str = "redis://127.0.0.1:6379/0"  # Celery broker and Redis task store
    redis_prefix: str = "photofix"  # key prefix, so deployments can share one Redis
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # MinIO, R2, Ceph...; None for AWS S3
    s3_public_endpoint_url: str | None = None  # host in result URLs, if clients see another
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = ""

    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # onnxruntime threads per worker process. All cores by default: a lone request runs its
    # models twice as fast on 2 cores, and with spinning off (models/base.py) busy workers
    # sharing the cores lose nothing measurable against one thread each.
    model_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    sync_timeout: float = Field(30.0, gt=0)
    task_timeout: float = Field(120.0, gt=0)
    retention_seconds: int = Field(3600, ge=1)
    sweep_interval: float = Field(60.0, gt=0)
    # Past this many unfinished tasks new ones get 503 instead of piling up.
    max_pending_tasks: int = Field(256, ge=1)
    rate_limit_per_minute: int = Field(600, ge=0)  # per key; 0 disables

    max_image_bytes: int = Field(20 * MB, ge=1)
    max_image_side: int = Field(4096, ge=1)
    fetch_timeout: float = Field(10.0, gt=0)
    # rembg-compatible ONNX segmentation models (`<name>.onnx`) offered for types 3 and 4 next
    # to the built-in u2netp, by the request's `model` field; all nodes need the same files.
    models_dir: Path | None = None
    default_model: str = "u2netp"  # types 3 and 4 when a request names none
    # CIDRs image_url may reach although they are private/loopback (e.g. an intranet CDN).
    fetch_allow_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # The API key file (hashes only). Default: keys.json in data_dir. Several API nodes point
    # this at one shared file (e.g. a mounted secret); each re-reads it when it changes.
    keys_file: Path | None = None
    # HMAC key for result URLs; default: a random one kept in data_dir (see secret_key()).
    url_secret: str | None = None

    @field_validator("fetch_allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("fetch_allow_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    @model_validator(mode="after")
    def _check_back_ends(self) -> Settings:
        if self.task_store is None:
            self.task_store = "redis" if self.runtime == "celery" else "sqlite"
        if self.runtime == "celery" and self.task_store != "redis":
            raise ValueError("the celery runtime needs PHOTOFIX_TASK_STORE=redis")
        if self.result_store == "s3" and not self.s3_bucket:
            raise ValueError("PHOTOFIX_RESULT_STORE=s3 needs PHOTOFIX_S3_BUCKET")
        offered = available_models(self.models_dir)
        if self.default_model not in offered:
            raise ValueError(
                f"PHOTOFIX_DEFAULT_MODEL={self.default_model} is not offered here "
                f"(available: {', '.join(offered)}; see PHOTOFIX_MODELS_DIR)"
            )
        return self

    @property
    def allow_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(cidr, strict=False) for cidr in self.fetch_allow_networks]

    @property
    def database_path(self) -> Path:
        return self.data_dir / "tasks.sqlite3"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def keys_path(self) -> Path:
        return self.keys_file or self.data_dir / "keys.json"

    def secret_key(self) -> bytes:
        """The URL-signing secret: configured, or created once per data dir and kept there."""
        if self.url_secret:
            return self.url_secret.encode()
        path = self.data_dir / "url-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race; use its secret
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(os.urandom(32).hex().encode())
        return path.read_bytes().strip()


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) on top."""
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
