"""SSRF-safe download of a task's image_url (SPEC 3 and 6).

For every hop: the scheme is checked, the host is resolved here, and every address it resolves
to must be public (or inside an operator allow-list). The connection then goes to exactly those
checked addresses: httpcore keeps the URL's host for the Host header, SNI and certificate check,
but its network backend is ours and never looks the name up again, so DNS rebinding cannot swap
the target between check and connect. Redirects are followed by hand, each hop checked anew.
One deadline bounds the whole download: resolution, connect, TLS, headers and a trickled body.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpcore

from photofix.errors import (
    BadRequest,
    ForbiddenAddress,
    ImageTooLarge,
    PhotofixError,
    SourceDownloadFailed,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
_SCHEMES = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = b"photofix-fetch/1"

# Not reachable for image_url, beyond what ipaddress flags (its lists vary by Python patch
# release): shared/CGNAT, IETF protocol, benchmarking, documentation, 6to4 relay, reserved.
_FORBIDDEN_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fec0::/10",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


# --------------------------------------------------------------------------- URL checks


@dataclass(frozen=True)
class _Target:
    """One hop's URL, normalised to ASCII."""

    scheme: str
    host: str  # IDNA-encoded name or IP literal (no brackets)
    port: int
    path: str  # path and query, percent-encoded

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _SCHEMES[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path}"


def validate_image_url(url: str) -> str:
    """API-time check of image_url: http(s), a host, at most 2048 chars. Returns it stripped."""
    url = url.strip()
    _parse_url(url)
    return url


def _parse_url(url: str) -> _Target:
    _check_url_text(url)
    try:
        parts = urlsplit(url)
        port = parts.port
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError as exc:
        raise BadRequest(f"image_url is not a valid URL: {exc}", field="image_url") from exc
    if scheme not in _SCHEMES:
        raise BadRequest("image_url must be an http or https URL", field="image_url")
    if not host:
        raise BadRequest("image_url has no host", field="image_url")
    if parts.username is not None or parts.password is not None:
        raise BadRequest("image_url must not contain credentials", field="image_url")
    if port == 0:
        raise BadRequest("image_url has an invalid port", field="image_url")
    path = _request_target(parts.path, parts.query)
    return _Target(scheme, _ascii_host(host), port or _SCHEMES[scheme], path)


def _check_url_text(url: str) -> None:
    if not url:
        raise BadRequest("image_url is empty", field="image_url")
    if len(url) > MAX_URL_LENGTH:
        raise BadRequest(f"image_url is longer than {MAX_URL_LENGTH} characters", field="image_url")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        # Also keeps CR/LF out of the request line (header injection).
        raise BadRequest("image_url contains whitespace or control characters", field="image_url")


def _request_target(path: str, query: str) -> str:
    """Path and query percent-encoded to ASCII; existing escapes are kept as they are."""
    target = quote(path or "/", safe="/%:@!$&'()*+,;=~")
    return target + "?" + quote(query, safe="/?%:@!$&'()*+,;=~") if query else target


def _ascii_host(host: str) -> str:
    if _ip_literal(host) is not None or host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise BadRequest("image_url has an invalid host name", field="image_url") from exc


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# --------------------------------------------------------------------------- address checks


def _forbidden_reason(address: IPAddress) -> str | None:
    """Why `address` must not be fetched from, or None when it is a public unicast address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return _forbidden_reason(embedded)
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local (cloud metadata)"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (any(address in net for net in _FORBIDDEN_NETWORKS), "reserved or shared"),
        (not address.is_global, "non-public"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64): it is what gets reached."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_allowed(address: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    candidates = [address, _embedded_ipv4(address)]
    return any(
        ip is not None and ip.version == net.version and ip in net
        for ip in candidates
        for net in allow
    )


def _check_addresses(host: str, addresses: Sequence[IPAddress], allow: Sequence[IPNetwork]) -> None:
    """Refuse the host if ANY address is forbidden: the resolver may hand out either one."""
    for address in addresses:
        reason = _forbidden_reason(address)
        if reason is not None and not _is_allowed(address, allow):
            raise ForbiddenAddress(
                f"image_url host {host} resolves to {address}, a {reason} address; refused"
            )


# --------------------------------------------------------------------------- deadline and DNS


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def clamp(self, timeout: float | None, error: type[Exception]) -> float:
        """The time one socket operation may take: never past the overall deadline."""
        left = self.remaining()
        if left <= 0:
            raise error(f"overall deadline of {self.seconds:g} s exceeded")
        return left if timeout is None else min(timeout, left)


def _resolve(host: str, port: int, deadline: _Deadline) -> list[IPAddress]:
    """All addresses of `host`. getaddrinfo has no timeout: it runs in a helper thread."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    found: list[Any] = []
    failed: list[OSError] = []

    def lookup() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:  # gaierror, or UnicodeError for a bad label
            failed.append(exc)

    worker = threading.Thread(target=lookup, name="photofix-resolve", daemon=True)
    worker.start()
    worker.join(max(deadline.remaining(), 0))
    if worker.is_alive():
        raise SourceDownloadFailed(f"resolving {host} timed out")
    if failed or not found:
        detail = failed[0].strerror if failed and failed[0].strerror else "no address"
        raise SourceDownloadFailed(f"could not resolve {host}: {detail}")
    addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    return list(dict.fromkeys(addresses))  # unique, resolver order kept


# --------------------------------------------------------------------------- pinned transport


class _DeadlineStream(httpcore.NetworkStream):
    """Clamps every socket operation's timeout to what is left of the overall deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, timeout), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the addresses the SSRF guard checked, whatever host name httpcore asks for."""

    def __init__(self, addresses: Sequence[IPAddress], deadline: _Deadline) -> None:
        self._addresses = addresses
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in self._addresses:  # in resolver order, like socket.create_connection
            try:
                stream = self._inner.connect_tcp(
                    str(address),  # a literal: no second DNS lookup
                    port,
                    timeout=self._deadline.clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for image_url")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpcore.default_ssl_context()  # certifi CAs, hostname checks on; safe to share


# --------------------------------------------------------------------------- download


def fetch_image(
    url: str,
    *,
    max_bytes: int,
    timeout: float = 10.0,
    allow_networks: Sequence[IPNetwork] = (),
    max_redirects: int = 5,
) -> bytes:
    """Download image_url's body, at most `max_bytes`, within `timeout` seconds overall.

    Raises ForbiddenAddress (an SSRF attempt, also via redirect), ImageTooLarge, or
    SourceDownloadFailed (bad URL, DNS, connect, TLS, timeout, non-2xx, too many redirects).
    """
    deadline = _Deadline(timeout)
    for _ in range(max_redirects + 1):
        target = _hop_target(url)
        addresses = _resolve(target.host, target.port, deadline)
        _check_addresses(target.host, addresses, allow_networks)
        result = _request(target, addresses, deadline, max_bytes)
        if isinstance(result, bytes):
            return result
        url = result
    raise SourceDownloadFailed(f"image_url redirected more than {max_redirects} times")


def _hop_target(url: str) -> _Target:
    try:
        return _parse_url(url)
    except BadRequest as exc:
        raise SourceDownloadFailed(f"cannot fetch {url[:200]!r}: {exc.message}") from exc


def _request(
    target: _Target, addresses: Sequence[IPAddress], deadline: _Deadline, max_bytes: int
) -> bytes | str:
    """One GET on pinned addresses: the body, or the absolute URL a redirect points to."""
    pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(),
        max_connections=1,
        retries=0,
        network_backend=_PinnedBackend(addresses, deadline),
    )
    headers = [
        (b"Host", target.authority.encode("ascii")),
        (b"User-Agent", _USER_AGENT),
        (b"Accept", b"image/*, */*;q=0.5"),
        (b"Accept-Encoding", b"identity"),  # count and keep the real bytes, never a gzip bomb
    ]
    url = httpcore.URL(
        scheme=target.scheme.encode("ascii"),
        host=target.host.encode("ascii"),
        port=target.port,
        target=target.path.encode("ascii"),
    )
    seconds = deadline.seconds
    timeouts = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}
    request = pool.stream("GET", url, headers=headers, extensions={"timeout": timeouts})
    with _network_errors(target, deadline), pool, request as response:
        return _handle_response(response, target, max_bytes)


def _handle_response(resp: httpcore.Response, target: _Target, max_bytes: int) -> bytes | str:
    if resp.status in _REDIRECT_STATUSES:
        location = _header(resp, b"location")
        if not location:
            raise SourceDownloadFailed(f"image_url answered HTTP {resp.status} without a Location")
        return urljoin(target.url, location)
    if not 200 <= resp.status < 300:
        raise SourceDownloadFailed(f"image_url answered HTTP {resp.status}")
    _check_content_length(_header(resp, b"content-length"), max_bytes)
    body = bytearray()
    for chunk in resp.iter_stream():
        body += chunk
        if len(body) > max_bytes:
            raise ImageTooLarge(f"image_url body exceeds the {max_bytes:,}-byte limit")
    return bytes(body)


def _header(resp: httpcore.Response, name: bytes) -> str | None:
    for key, value in resp.headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _check_content_length(value: str | None, max_bytes: int) -> None:
    if value is not None and value.isdigit() and int(value) > max_bytes:
        raise ImageTooLarge(
            f"image_url is {int(value):,} bytes (Content-Length); the limit is {max_bytes:,}"
        )


@contextmanager
def _network_errors(target: _Target, deadline: _Deadline) -> Iterator[None]:
    try:
        yield
    except PhotofixError:
        raise
    except httpcore.TimeoutException as exc:
        raise SourceDownloadFailed(
            f"downloading image_url timed out (limit {deadline.seconds:g} s)"
        ) from exc
    except httpcore.ConnectError as exc:
        raise SourceDownloadFailed(f"could not connect to {target.authority}: {exc}") from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
        raise SourceDownloadFailed(f"downloading image_url failed: {exc}") from exc
