"""fetch: the SSRF guard, pinned connections, redirects, size caps and the overall deadline.

Only a local server on 127.0.0.1 is ever contacted. An autouse guard replaces DNS (fake names
resolve from a table, unknown names fail the test) and refuses any connection to a non-loopback
address, so a bug in the SSRF checks fails loudly here instead of sending traffic anywhere.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photofix import fetch
from photofix.errors import BadRequest, ForbiddenAddress, ImageTooLarge, SourceDownloadFailed

LOCAL = [ipaddress.ip_network("127.0.0.0/8")]
LIMIT = 100_000
BODY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # the bytes do not need to be an image

_real_getaddrinfo = socket.getaddrinfo
_real_create_connection = socket.create_connection


# --------------------------------------------------------------------------- network guard


class NetworkGuard:
    """Fake DNS plus a loopback-only connect, recording what the code under test asked for."""

    def __init__(self) -> None:
        self.names: dict[str, list[str] | Callable[[], list[str]]] = {}
        self.lookups: list[str] = []
        self.connects: list[str] = []

    def getaddrinfo(self, host: Any, port: Any, family: int = 0, type: int = 0, *rest: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.lookups.append(name)
        if name in self.names:
            answer = self.names[name]
            addresses = answer() if callable(answer) else answer
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [_addrinfo(address, int(port)) for address in addresses]
        if name == "localhost" or _is_numeric(name):
            flags = (rest[1] if len(rest) > 1 else 0) | socket.AI_NUMERICHOST
            if name == "localhost":
                flags = 0  # /etc/hosts, never the network
            return _real_getaddrinfo(host, port, family, type, 0, flags)
        raise AssertionError(f"unexpected DNS lookup of {name!r}")

    def create_connection(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        self.connects.append(address[0])
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"test tried to connect to {address[0]}")
        return _real_create_connection(address, *args, **kwargs)


def _is_numeric(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(name)  # also "2130706433", "0x7f.1": parsed locally
        return True
    except OSError:
        return False


def _addrinfo(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture(autouse=True)
def guard(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    network = NetworkGuard()
    monkeypatch.setattr(socket, "getaddrinfo", network.getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", network.create_connection)
    return network


# --------------------------------------------------------------------------- local server


def _send(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"") -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _redirect(location: str) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def _trickle(handler: http.server.BaseHTTPRequestHandler, data: bytes, pause: float) -> None:
    """Send one byte at a time until the client hangs up (bounded: a few seconds at most)."""
    try:
        for byte in data[:100]:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(pause)
    except OSError:
        pass
    handler.close_connection = True


def _slow_body(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(BODY)))
    handler.end_headers()
    handler.wfile.flush()
    _trickle(handler, BODY, 0.05)


def _slow_headers(handler: http.server.BaseHTTPRequestHandler) -> None:
    _trickle(handler, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 200, 0.05)


def _huge_length(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(10**9))
    handler.end_headers()
    handler.wfile.flush()
    _trickle(handler, BODY, 0.1)  # the client must not wait for any of this


def _chunked(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    try:
        for _ in range(64):  # 64 x 16 KiB: ten times the limit
            handler.wfile.write(b"4000\r\n" + bytes(0x4000) + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass


def _until_close(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Connection", "close")
    handler.end_headers()
    with contextlib.suppress(OSError):  # the client hangs up once over the limit
        handler.wfile.write(bytes(4 * LIMIT))
    handler.close_connection = True


ROUTES: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = {
    "/image.png": lambda h: _send(h, 200, BODY),
    "/exact": lambda h: _send(h, 200, bytes(LIMIT)),
    "/missing": lambda h: _send(h, 404, b"not here"),
    "/broken": lambda h: _send(h, 500, b"oops"),
    "/redirect": _redirect("/image.png"),
    "/redirect-metadata": _redirect("http://169.254.169.254/latest/meta-data/"),
    "/redirect-ftp": _redirect("ftp://127.0.0.1/image.png"),
    "/redirect-file": _redirect("file:///etc/passwd"),
    "/loop": _redirect("/loop"),
    "/slow-body": _slow_body,
    "/slow-headers": _slow_headers,
    "/huge-length": _huge_length,
    "/chunked": _chunked,
    "/until-close": _until_close,
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        route = ROUTES.get(self.path)
        if route is None:
            _send(self, 404)
        else:
            route(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, str]]


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def url(server: _Server, path: str, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{server.server_address[1]}{path}"


def get(target: str, **options: Any) -> bytes:
    options.setdefault("max_bytes", LIMIT)
    options.setdefault("timeout", 5.0)
    return fetch.fetch_image(target, **options)


# --------------------------------------------------------------------------- happy paths


def test_allow_listed_local_server_downloads(server: _Server, guard: NetworkGuard) -> None:
    assert get(url(server, "/image.png"), allow_networks=LOCAL) == BODY
    assert server.requests == [("/image.png", f"127.0.0.1:{server.server_address[1]}")]
    assert guard.connects == ["127.0.0.1"]


def test_host_header_keeps_the_name_and_dns_is_asked_once(
    server: _Server, guard: NetworkGuard
) -> None:
    """DNS rebinding: a second lookup would now say 10.0.0.1; there must not be one."""
    answers = iter([["127.0.0.1"]])
    guard.names["images.test"] = lambda: next(answers, ["10.0.0.1"])
    assert get(url(server, "/image.png", "images.test"), allow_networks=LOCAL) == BODY
    assert guard.lookups.count("images.test") == 1
    assert guard.connects == ["127.0.0.1"]
    assert server.requests[0][1] == f"images.test:{server.server_address[1]}"


def test_relative_redirect_is_followed(server: _Server) -> None:
    assert get(url(server, "/redirect"), allow_networks=LOCAL) == BODY
    assert [path for path, _ in server.requests] == ["/redirect", "/image.png"]


def test_non_ascii_path_is_percent_encoded(server: _Server) -> None:
    with pytest.raises(SourceDownloadFailed, match="HTTP 404"):
        get(url(server, "/bild-ä.png?größe=groß&x=%41"), allow_networks=LOCAL)
    assert server.requests[0][0] == "/bild-%C3%A4.png?gr%C3%B6%C3%9Fe=gro%C3%9F&x=%41"


def test_body_of_exactly_the_limit_is_accepted(server: _Server) -> None:
    assert len(get(url(server, "/exact"), allow_networks=LOCAL)) == LIMIT


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[_Server, ssl.SSLContext, list[str]]]:
    """An HTTPS server on 127.0.0.1 whose certificate is valid for images.test only."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=images.test", "-addext", "subjectAltName=DNS:images.test"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    server_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name or "")
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd, ssl.create_default_context(cafile=str(cert)), server_names
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_https_to_a_pinned_address_keeps_sni_and_certificate_checks(
    tls_server: tuple[_Server, ssl.SSLContext, list[str]],
    guard: NetworkGuard,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    httpd, client_context, server_names = tls_server
    monkeypatch.setattr(fetch, "_ssl_context", lambda: client_context)
    guard.names["images.test"] = ["127.0.0.1"]
    guard.names["other.test"] = ["127.0.0.1"]
    port = httpd.server_address[1]
    assert get(f"https://images.test:{port}/image.png", allow_networks=LOCAL) == BODY
    assert server_names == ["images.test"]
    assert httpd.requests == [("/image.png", f"images.test:{port}")]
    # Same address, another name: the certificate is checked against the URL's host.
    with pytest.raises(SourceDownloadFailed, match="could not connect"):
        get(f"https://other.test:{port}/image.png", allow_networks=LOCAL)
    assert guard.connects == ["127.0.0.1", "127.0.0.1"]


# --------------------------------------------------------------------------- SSRF guard


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2"])
def test_loopback_is_refused_without_the_allow_list(
    server: _Server, guard: NetworkGuard, host: str
) -> None:
    with pytest.raises(ForbiddenAddress, match="loopback"):
        get(url(server, "/image.png", host))
    assert guard.connects == [] and server.requests == []


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/image.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://192.168.1.10:8080/x.png",
        "http://172.16.0.1/",
        "https://10.1.2.3/secure.png",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[::]/",
        "http://[fe80::1%25eth0]/",
        "http://[fc00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[2002:a00:1::1]/",  # 6to4 wrapping of 10.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 wrapping of 169.254.169.254
        "http://2130706433/",  # 127.0.0.1 spelled as one number
        "http://0x7f.1/",
    ],
)
def test_forbidden_addresses_are_refused_before_connecting(
    guard: NetworkGuard, target: str
) -> None:
    with pytest.raises(ForbiddenAddress) as err:
        get(target, allow_networks=[ipaddress.ip_network("198.51.100.0/24")])
    assert isinstance(err.value, SourceDownloadFailed) and err.value.state == -3
    assert guard.connects == []


def test_allow_list_is_not_a_blanket_pass(guard: NetworkGuard) -> None:
    with pytest.raises(ForbiddenAddress):
        get("http://[::1]/", allow_networks=LOCAL)  # v6 loopback is not in 127.0.0.0/8
    with pytest.raises(ForbiddenAddress):
        get("http://169.254.169.254/", allow_networks=LOCAL)
    assert guard.connects == []


def test_a_name_with_any_forbidden_address_is_refused(guard: NetworkGuard) -> None:
    guard.names["mixed.test"] = ["203.0.114.7", "10.0.0.5"]
    guard.names["internal.test"] = ["192.168.0.20"]
    guard.names["metadata.test"] = ["fd00:ec2::254"]
    for name in ("mixed.test", "internal.test", "metadata.test"):
        with pytest.raises(ForbiddenAddress, match=name):
            get(f"http://{name}/image.png")
    assert guard.connects == []


def test_redirect_to_metadata_service_is_refused(server: _Server, guard: NetworkGuard) -> None:
    with pytest.raises(ForbiddenAddress, match=re.escape("169.254.169.254")):
        get(url(server, "/redirect-metadata"), allow_networks=LOCAL)
    assert guard.connects == ["127.0.0.1"]


@pytest.mark.parametrize("path", ["/redirect-ftp", "/redirect-file"])
def test_redirect_to_another_scheme_is_refused(server: _Server, path: str) -> None:
    with pytest.raises(SourceDownloadFailed, match="http or https"):
        get(url(server, path), allow_networks=LOCAL)


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/image.png", "file:///etc/passwd"])
def test_other_schemes_are_refused(guard: NetworkGuard, target: str) -> None:
    with pytest.raises(SourceDownloadFailed, match="http or https"):
        get(target, allow_networks=LOCAL)
    with pytest.raises(BadRequest) as err:
        fetch.validate_image_url(target)
    assert err.value.field == "image_url"
    assert guard.connects == []


def test_redirect_loop_stops(server: _Server) -> None:
    with pytest.raises(SourceDownloadFailed, match="redirected more than 3 times"):
        get(url(server, "/loop"), allow_networks=LOCAL, max_redirects=3)
    assert len(server.requests) == 4


# --------------------------------------------------------------------------- size caps


def test_oversize_content_length_is_refused_at_once(server: _Server) -> None:
    started = time.monotonic()
    with pytest.raises(ImageTooLarge, match="Content-Length"):
        get(url(server, "/huge-length"), allow_networks=LOCAL)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("path", ["/chunked", "/until-close"])
def test_oversize_stream_without_length_is_cut_off(server: _Server, path: str) -> None:
    with pytest.raises(ImageTooLarge, match="limit") as err:
        get(url(server, path), allow_networks=LOCAL)
    assert err.value.http_status == 413


# --------------------------------------------------------------------------- failures and deadline


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_trickling_server_hits_the_overall_deadline(server: _Server, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(SourceDownloadFailed, match="timed out"):
        get(url(server, path), allow_networks=LOCAL, timeout=0.8)
    assert 0.7 < time.monotonic() - started < 1.6


def test_hanging_dns_hits_the_overall_deadline(guard: NetworkGuard) -> None:
    def slow_answer() -> list[str]:
        time.sleep(2)
        return ["127.0.0.1"]

    guard.names["slow-dns.test"] = slow_answer
    started = time.monotonic()
    with pytest.raises(SourceDownloadFailed, match="timed out"):
        get("http://slow-dns.test/image.png", allow_networks=LOCAL, timeout=0.5)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/broken", 500)])
def test_error_status_fails_the_download(server: _Server, path: str, status: int) -> None:
    with pytest.raises(SourceDownloadFailed, match=f"HTTP {status}"):
        get(url(server, path), allow_networks=LOCAL)


def test_unresolvable_name_and_refused_connection(guard: NetworkGuard) -> None:
    guard.names["nowhere.test"] = []
    with pytest.raises(SourceDownloadFailed, match=re.escape("could not resolve nowhere.test")):
        get("http://nowhere.test/x.png")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    with pytest.raises(SourceDownloadFailed, match="could not connect"):
        get(f"http://127.0.0.1:{port}/x.png", allow_networks=LOCAL)


# --------------------------------------------------------------------------- validate_image_url


@pytest.mark.parametrize(
    "good",
    [
        "https://example.com/a.jpg",
        "  http://example.com:8080/a%20b.png?size=large  ",
        "https://[2001:db8::1]/x.png",
        "https://bücher.example/bild.png",
    ],
)
def test_validate_image_url_accepts(good: str) -> None:
    assert fetch.validate_image_url(good) == good.strip()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "example.com/a.jpg",
        "http:///a.jpg",
        "javascript:alert(1)",
        "gopher://example.com/",
        "https://user:secret@example.com/a.jpg",
        "http://example.com:99999/",
        "http://[::1/",
        "http://exa mple.com/",
        "http://example.com/\r\nX-Injected: 1",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_validate_image_url_refuses(bad: str) -> None:
    with pytest.raises(BadRequest) as err:
        fetch.validate_image_url(bad)
    assert err.value.field == "image_url" and err.value.http_status == 400
