"""A flood of bytes at the HTTP edge (issue 22, item 2), against a real uvicorn server: a
chunked upload, or one whose Content-Length lies, is read no further than the image limit plus
the form's framing, and not at all without a valid key; nothing is left in the temp dir."""

from __future__ import annotations

import json
import os
import select
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
import pytest
import uvicorn

from photofix.api import create_app
from photofix.api.ratelimit import RateLimiter
from photofix.keys import KeyStore
from tests.conftest import make_settings
from tests.synth import encode, text_page

PATH = "/api/tasks/visual/correction"
MB = 1024 * 1024
CAP = 2 * MB  # the server's max_image_bytes here: small, so a flood is quick to send
FLOOD = 200 * MB  # what the red team sent
BOUNDARY = "photofixtestboundary"
PART_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image_file"; filename="a.jpg"\r\n'
    "Content-Type: image/jpeg\r\n\r\n"
).encode()
PART_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
SLICE = b"\xff" * (64 * 1024)
# What the kernel may hold between the client's send() and the server's read(): both socket
# buffers (loopback auto-tunes the receiver's up to a few MB).
SOCKET_SLACK = 8 * MB
# What the app may take past the cap in its last message: uvicorn hands over everything it has
# buffered, up to its flow-control high-water mark (64 KiB) plus one transport read (asyncio
# reads up to 256 KiB a time), before the limit sees the total.
LAST_MESSAGE = 64 * 1024 + 256 * 1024


class _BodyMeter:
    """ASGI wrapper: how many body bytes the app (middleware included) took from the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@dataclass
class Server:
    port: int
    key: str
    meter: _BodyMeter
    tmp: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`create_app` under uvicorn on a free port, in a thread; its temp files go to `tmp`."""
    data = tmp_path_factory.mktemp("abuse-data")
    tmp = tmp_path_factory.mktemp("abuse-tmp")
    settings = make_settings(data, workers=1, model_threads=1, max_image_bytes=CAP)
    _, key = KeyStore(settings.keys_path).create("abuse")
    meter = _BodyMeter(create_app(settings))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(meter, host="127.0.0.1", port=port, log_level="warning")
    live = uvicorn.Server(config)
    previous_tmp = tempfile.tempdir
    tempfile.tempdir = str(tmp)  # where Starlette spools uploads (same process)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not live.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.started
    try:
        yield Server(port, key, meter, tmp)
    finally:
        live.should_exit = True
        thread.join(timeout=30)
        tempfile.tempdir = previous_tmp


@dataclass
class Answer:
    status: int | None  # None: the server closed without answering
    body: dict[str, Any] | None
    headers: dict[str, str]
    sent: int  # body bytes the socket accepted before the answer came


def upload(
    port: int,
    key: str | None,
    total: int,
    *,
    content_length: int | None = None,
    head: bytes = PART_HEAD,
) -> Answer:
    """POST a multipart body of about `total` bytes, chunked (or raw after a Content-Length,
    which may lie), reading the answer while sending: sending stops when it comes."""
    headers = [("Host", "127.0.0.1"), ("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")]
    if content_length is None:
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", str(content_length)))
    if key:
        headers.append(("X-API-KEY", key))
    client = h11.Connection(h11.CLIENT)  # parses the answer; the body is framed here
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    events: list[Any] = []
    sent = 0
    pieces: Iterator[bytes] | None = _framed(_body(total, head), chunked=content_length is None)
    pending = client.send(h11.Request(method="POST", target=PATH, headers=headers))
    try:
        while not _finished(events):
            readable, writable, _ = select.select([sock], [sock] if pieces else [], [], 30)
            if readable:
                data = sock.recv(1 << 16)
                client.receive_data(data)
                events.extend(_drain(client))
                if not data:
                    break
                continue
            if not writable:
                break
            pending = pending or next(pieces, b"")  # type: ignore[arg-type]
            if not pending:
                pieces = None
                continue
            try:
                count = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                pieces = None  # the server stopped reading: its answer may still be there
                continue
            sent, pending = sent + count, pending[count:]
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return _answer(events, sent)


def _body(total: int, head: bytes) -> Iterator[bytes]:
    yield head
    for _ in range(total // len(SLICE)):
        yield SLICE
    yield PART_TAIL


def _framed(pieces: Iterator[bytes], *, chunked: bool) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def _drain(client: h11.Connection) -> list[Any]:
    events = []
    while True:
        event = client.next_event()
        if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
            return events
        events.append(event)


def _finished(events: list[Any]) -> bool:
    return any(isinstance(event, h11.EndOfMessage) for event in events)


def _answer(events: list[Any], sent: int) -> Answer:
    response = next((e for e in events if isinstance(e, h11.Response)), None)
    if response is None:
        return Answer(None, None, {}, sent)
    body = b"".join(bytes(e.data) for e in events if isinstance(e, h11.Data))
    headers = {name.decode(): value.decode() for name, value in response.headers}
    return Answer(response.status_code, json.loads(body) if body else None, headers, sent)


def _measure(server: Server, key: str | None, total: int, **kwargs: Any) -> tuple[Answer, int]:
    before = server.meter.read
    answer = upload(server.port, key, total, **kwargs)
    return answer, server.meter.read - before


def _left_in(tmp: Path) -> list[str]:
    """Files in `tmp`, and files there this process still holds open (unlinked ones too)."""
    left = [path.name for path in tmp.iterdir()]
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(tmp)):
            left.append(target)
    return left


def _assert_envelope(answer: Answer, status: int) -> None:
    assert answer.status == status, answer
    assert answer.body is not None and answer.body["status"] == status, answer
    assert answer.body["data"] is None and answer.body["message"]


def test_chunked_flood_without_a_key_is_401_before_any_body_is_read(server):
    answer, read = _measure(server, None, FLOOD)
    _assert_envelope(answer, 401)
    assert read == 0
    assert answer.sent < SOCKET_SLACK, answer.sent
    assert answer.headers.get("connection") == "close"  # the rest is never read either


def test_chunked_flood_with_a_bad_key_is_401_before_any_body_is_read(server):
    answer, read = _measure(server, "pfx_not-a-key", FLOOD)
    _assert_envelope(answer, 401)
    assert read == 0


def test_chunked_flood_with_a_key_is_413_at_the_cap(server):
    answer, read = _measure(server, server.key, FLOOD)
    _assert_envelope(answer, 413)
    assert CAP < read <= CAP + 128 * 1024 + LAST_MESSAGE, read  # the cap + framing + a message
    assert answer.sent < CAP + SOCKET_SLACK, answer.sent
    assert answer.headers.get("connection") == "close"
    assert _left_in(server.tmp) == []


def test_lying_content_length_is_read_no_further_than_the_cap(server):
    # Declares a body within the limit and sends far more: HTTP framing ends the body at the
    # declared length, and the rest is garbage where the next request should start.
    declared = CAP
    answer, read = _measure(server, server.key, FLOOD, content_length=declared)
    assert read <= declared
    assert answer.status is not None and 400 <= answer.status < 500, answer
    assert answer.sent < CAP + SOCKET_SLACK, answer.sent
    assert _left_in(server.tmp) == []


def test_declared_oversize_is_413_before_auth_or_reading(server):
    for key in (None, server.key):
        answer, read = _measure(server, key, FLOOD, content_length=FLOOD)
        _assert_envelope(answer, 413)
        assert read == 0
        assert answer.sent < SOCKET_SLACK


def test_the_rate_limit_is_charged_once_per_upload_and_before_its_body(server):
    state = server.meter.app.state.photofix
    previous, state.limiter = state.limiter, RateLimiter(per_minute=2)
    try:
        body = PART_HEAD + encode(text_page(200, 260), "JPEG")
        assert [upload(server.port, server.key, 0, head=body).status for _ in range(2)] == [200] * 2
        answer, read = _measure(server, server.key, FLOOD)
    finally:
        state.limiter = previous
    _assert_envelope(answer, 429)
    assert int(answer.headers["retry-after"]) >= 1
    assert read == 0 and answer.sent < SOCKET_SLACK


def test_chunked_upload_within_the_cap_still_works(server):
    image = encode(text_page(300, 400), "JPEG")
    body = PART_HEAD + image
    answer, read = _measure(server, server.key, 0, head=body)
    assert answer.status == 200, answer
    assert answer.body is not None and answer.body["data"]["task_id"]
    assert read == len(body) + len(PART_TAIL)
    assert _left_in(server.tmp) == []


def _form(fields: dict[str, str], image: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    return b"".join(parts) + PART_HEAD + image + PART_TAIL


def test_hostile_corners_leave_a_kept_alive_connection_working(server):
    """Nested corners were a 500 after which the connection was sometimes reset: now a 400,
    and the next request on the same connection is answered."""
    image = encode(text_page(300, 400), "JPEG")
    client = h11.Connection(h11.CLIENT)
    answers = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        for corners in ("[" * 50_000 + "]" * 50_000, "10,10,290,10,290,390,10,390"):
            body = _form({"type": "0", "corners": corners}, image)
            headers = [
                ("Host", "127.0.0.1"),
                ("Content-Type", f"multipart/form-data; boundary={BOUNDARY}"),
                ("Content-Length", str(len(body))),
                ("X-API-KEY", server.key),
            ]
            request = h11.Request(method="POST", target=PATH, headers=headers)
            sock.sendall(client.send(request) + client.send(h11.Data(data=body)))
            sock.sendall(client.send(h11.EndOfMessage()))
            events: list[Any] = []
            while not _finished(events):
                data = sock.recv(1 << 16)
                assert data, "the server closed the connection"
                client.receive_data(data)
                events.extend(_drain(client))
            answers.append(_answer(events, 0))
            client.start_next_cycle()
    refused, accepted = answers
    _assert_envelope(refused, 400)
    assert refused.body is not None and refused.body["field"] == "corners"
    assert "connection" not in refused.headers
    assert accepted.status == 200 and accepted.body is not None, accepted
    assert accepted.body["data"]["task_id"]
