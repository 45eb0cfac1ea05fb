"""Results in S3-compatible object storage (AWS S3, MinIO, R2, Ceph), served by presigned URLs.

Uploaded sources go here too (the broker carries task ids, never image bytes), so every API
node and worker sees the same blobs. Retention is the task store's job: the sweeper deletes a
task's blobs when it expires; a bucket lifecycle rule is a good second line (README).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from photofix.errors import StoreUnavailable
from photofix.storage.base import check_blob_name

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3ResultStore:
    def __init__(
        self, client: Any, bucket: str, *, prefix: str = "", signer: Any | None = None
    ) -> None:
        self._s3 = client
        # Presigned URLs name the host clients reach, which inside a cluster is often not
        # the endpoint the nodes use (e.g. http://minio:9000 vs https://files.example.com).
        self._signer = signer or client
        self._bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        public_endpoint_url: str | None = None,
    ) -> S3ResultStore:
        def client(endpoint: str | None) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=Config(
                    signature_version="s3v4",
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                    # MinIO and most self-hosted endpoints want path-style URLs.
                    s3={"addressing_style": "path" if endpoint else "auto"},
                ),
            )

        signer = client(public_endpoint_url) if public_endpoint_url else None
        return cls(client(endpoint_url), bucket, prefix=prefix, signer=signer)

    def _key(self, name: str) -> str:
        return self._prefix + check_blob_name(name)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        with _available():
            self._s3.put_object(
                Bucket=self._bucket, Key=self._key(name), Body=data, ContentType=content_type
            )

    def get(self, name: str) -> bytes:
        try:
            with _available():
                answer = self._s3.get_object(Bucket=self._bucket, Key=self._key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(name) from exc
            raise
        return answer["Body"].read()

    def delete(self, name: str) -> None:
        with _available():
            self._s3.delete_object(Bucket=self._bucket, Key=self._key(name))

    def url(self, name: str, expires_at: float, base_url: str) -> str:
        """A presigned GET, valid until `expires_at` (`base_url` is not needed: S3 serves it)."""
        seconds = max(int(expires_at - time.time()), 1)
        with _available():
            return self._signer.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": self._key(name)},
                ExpiresIn=seconds,
            )

    def ping(self) -> bool:
        with _available():
            self._s3.head_bucket(Bucket=self._bucket)
        return True


@contextmanager
def _available() -> Iterator[None]:
    """Network trouble and server errors become StoreUnavailable (HTTP 503, retry later)."""
    try:
        yield
    except BotoCoreError as exc:
        raise StoreUnavailable(f"object storage unavailable: {exc}") from exc
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500:
            raise StoreUnavailable(f"object storage unavailable: {exc}") from exc
        raise
