"""The CLI: results never replace an input nor, without --overwrite, any file; folders are
searched for images; one line per input on stdout, the rest on stderr; documented exit codes;
`remote` turns every network failure into one line and a code."""

from __future__ import annotations

import base64
import errno
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from photofix import batch, errors
from photofix.batch import (
    PARTIAL_FAILURE,
    ResultWriter,
    Source,
)
from photofix.cli import EXIT_CODES, app
from photofix.errors import (
    BadRequest,
    InputMissing,
    InputUnreadable,
    InvalidImage,
    OutputExists,
    OutputIsInput,
    OutputUnwritable,
    Overloaded,
    PhotofixError,
    ProcessingTimeout,
    RateLimited,
    ServerError,
    ServerUnreachable,
    Unauthorized,
    UnsupportedFormat,
)
from photofix.keys import KeyStore
from tests.models.test_catalog import RED, two_squares
from tests.onnx_models import channel_model
from tests.synth import document_scene, encode, product_scene

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOFIX_DATA_DIR", str(tmp_path / "data"))


def photo(path: Path, fmt: str = "JPEG", seed: int = 0) -> Path:
    """A small noisy RGB picture: any type-1 run turns it into a result."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(path, fmt)
    return path


def run(*args: str | Path):
    result = runner.invoke(app, [str(arg) for arg in args])
    # A non-zero exit is a SystemExit; anything else escaped the CLI's error handling.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def results_of(stdout: str) -> dict[str, str]:
    """The `input -> output` lines: nothing else may be on stdout."""
    pairs = [line.split(" -> ") for line in stdout.splitlines()]
    assert all(len(pair) == 2 for pair in pairs), stdout
    return dict(pairs)


def summary(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def fingerprint(path: Path) -> tuple[bytes, int, int]:
    info = path.stat()
    return path.read_bytes(), info.st_mtime_ns, info.st_ino


# --------------------------------------------------------------------------- not overwriting


def test_a_result_goes_beside_its_input_and_never_over_anything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = photo(tmp_path / "page.jpg")
    before = fingerprint(page)

    first = run("process", "page.jpg", "-t", "1")
    assert first.exit_code == 0, first.output
    assert results_of(first.stdout) == {"page.jpg": "page-enhanced.jpg"}
    assert summary(first.stderr) == "1 done, 0 failed"
    result = tmp_path / "page-enhanced.jpg"
    assert Image.open(result).size == (64, 48)
    assert fingerprint(page) == before

    again = run("process", "page.jpg", "-t", "1")
    assert again.exit_code == OutputExists.exit_code
    assert again.stdout == ""
    assert "page-enhanced.jpg exists (--overwrite replaces it)" in again.stderr
    assert summary(again.stderr) == "0 done, 1 failed (1 output exists)"
    kept = fingerprint(result)

    replaced = run("process", "page.jpg", "-t", "1", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert result.stat().st_ino != kept[2]  # a new file renamed over the old one
    assert fingerprint(page) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "page-enhanced.jpg", "page.jpg"]


def test_a_result_never_replaces_an_input_even_with_overwrite(tmp_path):
    page = photo(tmp_path / "page.jpg")
    other = photo(tmp_path / "page-enhanced.jpg", seed=1)  # an input named like page's result
    out = tmp_path / "out"
    out.mkdir()
    (out / "page-enhanced.jpg").hardlink_to(page)  # the same file under the result's name
    (out / "page-enhanced.png").symlink_to(page)
    protected = {path: fingerprint(path) for path in (page, other)}

    named = run("process", page, other, "-t", "1", "--overwrite")
    linked = run("process", page, "-t", "1", "--overwrite", "-o", out)
    symlinked = run("process", page, "-t", "1", "--overwrite", "-o", out, "-f", "png")

    assert named.exit_code == PARTIAL_FAILURE  # page refused, page-enhanced.jpg done
    assert f"{tmp_path}/page-enhanced-enhanced.jpg" in results_of(named.stdout).values()
    assert "would replace an input" in named.stderr
    assert summary(named.stderr) == "1 done, 1 failed (1 output is input)"
    assert linked.exit_code == symlinked.exit_code == OutputIsInput.exit_code
    assert {path: fingerprint(path) for path in (page, other)} == protected


def test_same_named_inputs_get_distinct_results(tmp_path):
    first = photo(tmp_path / "a" / "page.jpg", seed=1)
    second = photo(tmp_path / "b" / "page.jpg", seed=2)
    jpg = photo(tmp_path / "c" / "page.jpg", seed=3)
    png = photo(tmp_path / "c" / "page.png", "PNG", seed=4)
    out = tmp_path / "out"

    mirrored = run("process", first, second, jpg, png, "-t", "1", "-o", out)
    beside = run("process", first, second, jpg, png, "-t", "1")

    assert mirrored.exit_code == beside.exit_code == 0, mirrored.output + beside.output
    assert results_of(mirrored.stdout) == {
        str(first): str(out / "a" / "page-enhanced.jpg"),
        str(second): str(out / "b" / "page-enhanced.jpg"),
        str(jpg): str(out / "c" / "page-jpg-enhanced.jpg"),
        str(png): str(out / "c" / "page-png-enhanced.jpg"),
    }
    assert set(results_of(beside.stdout).values()) == {
        str(first.parent / "page-enhanced.jpg"),
        str(second.parent / "page-enhanced.jpg"),
        str(jpg.parent / "page-jpg-enhanced.jpg"),
        str(jpg.parent / "page-png-enhanced.jpg"),
    }
    # each result is its own input's (the inputs differ, so do the results)
    results = [
        Image.open(out / "a" / "page-enhanced.jpg"),
        Image.open(out / "b" / "page-enhanced.jpg"),
    ]
    assert not np.array_equal(np.asarray(results[0]), np.asarray(results[1]))


# --------------------------------------------------------------------------- folders


def test_a_folder_is_searched_for_images(tmp_path):
    photos = tmp_path / "photos"
    photo(photos / "one.jpg")
    photo(photos / "deeper" / "two.png", "PNG")
    photo(photos / ".thumbnails" / "hidden.jpg")
    (photos / "notes.txt").write_text("not an image, whatever its name says")
    (photos / "fake.jpg").write_text("a text file with an image's name")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)  # a JPEG, truncated
    (photos / "deeper" / "loop").symlink_to(photos)
    out = tmp_path / "out"

    result = run("process", photos, "-t", "1", "-o", out)

    assert result.exit_code == PARTIAL_FAILURE
    assert results_of(result.stdout) == {
        str(photos / "deeper" / "two.png"): str(out / "deeper" / "two-enhanced.jpg"),
        str(photos / "one.jpg"): str(out / "one-enhanced.jpg"),
    }
    assert f"skipped {photos}/notes.txt: " in result.stderr
    assert f"skipped {photos}/fake.jpg: " in result.stderr
    assert f"skipped {photos}/deeper/loop: " in result.stderr
    assert f"{photos}/broken.jpg: " in result.stderr
    assert "hidden" not in result.output
    assert summary(result.stderr) == "2 done, 1 failed (1 invalid image), 3 skipped"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "deeper",
        "deeper/two-enhanced.jpg",
        "one-enhanced.jpg",
    ]


def test_a_rerun_on_a_folder_takes_no_result_for_an_input(tmp_path):
    photos = tmp_path / "photos"
    photo(photos / "one.jpg")
    photo(photos / "sub" / "two.jpg", seed=1)
    assert run("process", photos, "-t", "1").exit_code == 0

    again = run("process", photos, "-t", "1")
    types = run("process", photos, "-t", "3")

    assert again.exit_code == OutputExists.exit_code
    earlier = f"skipped {photos}/one-enhanced.jpg: an earlier result of {photos}/one.jpg"
    assert earlier in again.stderr
    assert summary(again.stderr) == "0 done, 2 failed (2 output exists), 2 skipped"
    assert types.exit_code == 0  # results of another type are not new inputs either
    assert sorted(p.name for p in photos.rglob("*.jpg")) == [
        "one-crop.jpg",
        "one-enhanced.jpg",
        "one.jpg",
        "two-crop.jpg",
        "two-enhanced.jpg",
        "two.jpg",
    ]


def test_a_folder_without_images_is_an_unreadable_input(tmp_path):
    empty = tmp_path / "documents"
    empty.mkdir()
    (empty / "letter.txt").write_text("dear photofix")
    result = run("process", empty)
    assert result.exit_code == InputUnreadable.exit_code
    assert f"{empty}: the folder holds no image" in result.stderr


# --------------------------------------------------------------------------- exit codes


def test_exit_codes_tell_missing_unreadable_and_partial(tmp_path):
    good = photo(tmp_path / "good.jpg")
    missing = tmp_path / "missing.jpg"
    through_a_file = good / "x.jpg"  # unreadable for root too: a path through a file

    assert run("process", missing).exit_code == InputMissing.exit_code
    unreadable = run("process", through_a_file)
    assert unreadable.exit_code == InputUnreadable.exit_code
    assert "a part of the path is a file, not a folder" in unreadable.stderr
    mixed = run("process", missing, through_a_file)  # nothing done, two kinds of failure
    assert mixed.exit_code == PARTIAL_FAILURE
    assert summary(mixed.stderr) == "0 done, 2 failed (1 input missing, 1 input unreadable)"
    partial = run("process", good, missing, "-t", "1")
    assert partial.exit_code == PARTIAL_FAILURE
    assert list(results_of(partial.stdout)) == [str(good)]
    assert len({PARTIAL_FAILURE, InputMissing.exit_code, InputUnreadable.exit_code}) == 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_without_read_permission_is_unreadable(tmp_path):
    locked = photo(tmp_path / "locked.jpg")
    locked.chmod(0)
    result = run("process", locked)
    assert result.exit_code == InputUnreadable.exit_code
    assert "permission denied" in result.stderr


def test_an_out_dir_that_cannot_be_made_is_refused_before_any_work(tmp_path):
    page = photo(tmp_path / "page.jpg")
    result = run("process", page, "-o", page / "out")
    assert result.exit_code == OutputUnwritable.exit_code
    assert result.stdout == ""


def test_process_errors_map_to_exit_codes(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    (tmp_path / "anim.gif").write_bytes(b"GIF89a" + b"\0" * 64)
    broken = run("process", tmp_path / "broken.jpg")
    gif = run("process", tmp_path / "anim.gif", "--json")
    assert broken.exit_code == InvalidImage.exit_code
    assert gif.exit_code == UnsupportedFormat.exit_code
    assert InvalidImage.exit_code != UnsupportedFormat.exit_code
    report = json.loads(gif.stdout)
    assert report["reason"] == "unsupported format" and report["code"] == gif.exit_code


def test_every_exit_code_is_documented_once():
    codes = [code for code, _ in EXIT_CODES]
    assert codes == sorted(set(codes))
    declared = {
        kind.exit_code
        for module in (errors, batch)
        for kind in vars(module).values()
        if isinstance(kind, type) and issubclass(kind, PhotofixError)
    }
    assert declared | {0, PARTIAL_FAILURE} == set(codes)


# --------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left"), KeyboardInterrupt])
def test_a_failed_write_leaves_neither_half_a_file_nor_a_temporary(tmp_path, monkeypatch, failure):
    def fail(temporary: str, target: Path) -> None:
        assert Path(temporary).read_bytes() == b"result bytes"  # written whole, beside it
        raise failure

    monkeypatch.setattr(batch, "_link_new", fail)
    writer = ResultWriter(frozenset(), overwrite=False)
    source = Source(tmp_path / "page.jpg", tmp_path / "page-scan")
    with pytest.raises(OutputUnwritable if isinstance(failure, OSError) else KeyboardInterrupt):
        writer.write(source, "jpg", b"result bytes")
    assert list(tmp_path.iterdir()) == []


def test_a_result_is_written_with_the_umask_mode(tmp_path):
    writer = ResultWriter(frozenset(), overwrite=False)
    target = writer.write(Source(tmp_path / "a.jpg", tmp_path / "a-scan"), "png", b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


# --------------------------------------------------------------------------- output and help


def test_process_json_reports_meta(tmp_path):
    scene, _ = document_scene(rotation=0, size=(800, 600))
    product, _ = product_scene(size=(640, 480))
    (tmp_path / "doc.jpg").write_bytes(encode(scene))
    (tmp_path / "mug.png").write_bytes(encode(product, "PNG"))
    out = tmp_path / "out"
    result = run("process", tmp_path / "doc.jpg", "--type", "0", "--out-dir", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(out / "doc-flat.jpg")
    assert report["meta"]["document"]["found"] is True
    assert len(report["meta"]["document"]["corners"]) == 4
    assert "timings" in report["meta"]
    assert Image.open(report["output"]).size == (report["meta"]["width"], report["meta"]["height"])

    result = run("process", tmp_path / "mug.png", "-t", "4", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(out / "mug-cutout.png")
    assert Image.open(report["output"]).mode == "RGBA"
    assert len(report["meta"]["bbox"]) == 4


def test_one_json_object_per_input_on_stdout(tmp_path):
    good = photo(tmp_path / "good.jpg")
    result = run("process", good, tmp_path / "missing.jpg", "-t", "1", "--json")
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["input"] for r in reports] == [str(tmp_path / "missing.jpg"), str(good)]
    assert reports[0]["reason"] == "input missing" and reports[0]["code"] == 15
    assert reports[1]["output"] == str(tmp_path / "good-enhanced.jpg")
    assert "missing.jpg: no such file or folder" in result.stderr  # errors on stderr as well


def test_a_file_name_is_shown_as_it_is_and_on_one_line(tmp_path):
    odd = photo(tmp_path / "two\nlines.jpg")
    markup = photo(tmp_path / "[bold]no style.jpg")  # last: the progress bar shows it
    result = run("process", odd, markup, "-t", "1")
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 2
    assert "two\\nlines.jpg -> " in result.stdout
    assert "[bold]no style.jpg" in result.stderr  # the bar's label, not rich markup


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["process", "--help"],
        ["remote", "--help"],
        ["serve", "--help"],
        ["worker", "--help"],
        ["keys", "--help"],
        ["keys", "create", "--help"],
        ["keys", "revoke", "--help"],
    ],
)
def test_help_shows_no_type_artefacts(command):
    result = runner.invoke(app, command, env={"COLUMNS": "120"})
    assert result.exit_code == 0
    for artefact in ("{", "<bool>", "<list", "<path>", "<str>", "<int", "<float"):
        assert artefact not in result.stdout, artefact
    if command[0] in ("process", "remote"):
        assert " [OPTIONS] IMAGE..." in result.stdout
        assert "Examples:" in result.stdout
        assert f"{PARTIAL_FAILURE}  some inputs failed" in result.stdout
        assert f"{InputMissing.exit_code}  input missing" in result.stdout


# --------------------------------------------------------------------------- models


def test_process_runs_a_model_from_the_models_dir(tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    channel_model(models_dir / "red.onnx", channel=0)
    monkeypatch.setenv("PHOTOFIX_MODELS_DIR", str(models_dir))
    (tmp_path / "squares.png").write_bytes(encode(two_squares(), "PNG"))
    args = ["process", tmp_path / "squares.png", "-t", "3", "-o", tmp_path, "--json"]
    result = run(*args, "--model", "red")
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)["meta"]
    x0, y0, x1, y1 = meta["bbox"]
    assert meta["model"] == "red"
    rows, cols = RED  # the red square with its margin, nowhere near the green one
    assert cols.start - 10 <= x0 and x1 <= cols.stop + 10
    assert rows.start - 10 <= y0 and y1 <= rows.stop + 10

    unknown = run(*args, "--model", "isnet")
    assert unknown.exit_code == 2
    assert "available: u2netp, red" in unknown.output


# --------------------------------------------------------------------------- keys


def test_keys_create_prints_the_key_once(tmp_path):
    result = run("keys", "create", "ci", "--data-dir", tmp_path)
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("pfx_")
    store = KeyStore(tmp_path / "keys.json")
    assert store.authenticate(token) is not None
    listed = run("keys", "list", "--data-dir", tmp_path)
    assert "ci" in listed.stdout and token not in listed.stdout


def test_keys_create_refuses_a_taken_or_empty_name(tmp_path):
    first = run("keys", "create", "ci", "--data-dir", tmp_path)
    again = run("keys", "create", " ci ", "--data-dir", tmp_path)
    blank = run("keys", "create", "   ", "--data-dir", tmp_path)
    key = KeyStore(tmp_path / "keys.json").list()[0]
    by_id = run("keys", "create", key.key_id, "--data-dir", tmp_path)

    assert first.exit_code == 0
    assert again.exit_code == blank.exit_code == by_id.exit_code == BadRequest.exit_code
    assert again.stdout == blank.stdout == ""
    assert f"'ci' is taken by the key 'ci' (id {key.key_id})" in again.stderr
    assert "1 to 64 printable characters" in blank.stderr
    assert [k.name for k in KeyStore(tmp_path / "keys.json").list()] == ["ci"]


def test_keys_revoke_says_what_it_revoked(tmp_path):
    run("keys", "create", "ci", "--data-dir", tmp_path)
    run("keys", "create", "alice", "--data-dir", tmp_path)
    store = KeyStore(tmp_path / "keys.json")
    alice = next(k for k in store.list() if k.name == "alice")

    by_name = run("keys", "revoke", "ci", "--data-dir", tmp_path)
    by_id = run("keys", "revoke", alice.key_id, "--data-dir", tmp_path)
    nothing = run("keys", "revoke", "ci", "--data-dir", tmp_path)

    assert by_name.exit_code == by_id.exit_code == 0
    assert by_name.stdout.startswith("revoked key 'ci' (id ")
    assert by_id.stdout == f"revoked key 'alice' (id {alice.key_id})\n"
    assert nothing.exit_code == 4
    assert "no key has the name or id 'ci'" in nothing.stderr
    assert store.list() == []


# --------------------------------------------------------------------------- remote


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self._reply("POST")

    def do_GET(self) -> None:
        self._reply("GET")

    def _reply(self, method: str) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.calls.append(method)  # type: ignore[attr-defined]
        status, body = self.server.answer(method, self.path)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def server_answering(answer: Callable[[str, str], tuple[int, bytes]]) -> Iterator[tuple[str, list]]:
    """A tiny HTTP server in a thread: (its base URL, the methods it was called with)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.answer, server.calls = answer, []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.calls  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def envelope(status: int, message: str, data: object = None) -> bytes:
    return json.dumps({"status": status, "message": message, "data": data}).encode()


def picwish(result: bytes, state: int = 1) -> Callable[[str, str], tuple[int, bytes]]:
    """A PicWish-compatible server: every task finishes in `state`, with `result` as base64."""

    def answer(method: str, path: str) -> tuple[int, bytes]:
        if method == "POST":
            return 200, envelope(200, "success", {"task_id": "t1"})
        image = base64.b64encode(result).decode()
        task = {"task_id": "t1", "state": state, "progress": 100, "image": image}
        return 200, envelope(200, "success", task)

    return answer


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def remote(*args: str | Path, server: str):
    return run("remote", *args, "--server", server, "--key", "pfx_test", "--timeout", "1")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_remote_names_results_like_process_and_never_overwrites(tmp_path):
    page = photo(tmp_path / "page.jpg")
    before = fingerprint(page)
    with server_answering(picwish(png_bytes())) as (url, _):
        first = remote(page, server=url)
        again = remote(page, server=url)
        replaced = remote(page, "--overwrite", "--json", server=url)
    assert first.exit_code == 0, first.output
    assert results_of(first.stdout) == {str(page): str(tmp_path / "page-enhanced.png")}
    assert Image.open(tmp_path / "page-enhanced.png").size == (8, 6)
    assert again.exit_code == OutputExists.exit_code
    assert replaced.exit_code == 0
    assert json.loads(replaced.stdout)["output"] == str(tmp_path / "page-enhanced.png")
    assert fingerprint(page) == before


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, Unauthorized.exit_code),
        (429, RateLimited.exit_code),
        (500, ServerError.exit_code),
        (502, ServerError.exit_code),
        (503, Overloaded.exit_code),
    ],
)
def test_remote_turns_an_http_error_into_its_exit_code(tmp_path, status, code):
    page = photo(tmp_path / "page.jpg")
    with server_answering(lambda method, path: (status, envelope(status, "no"))) as (url, _):
        result = remote(page, server=url)
    assert result.exit_code == code
    assert f"page.jpg: the server answered HTTP {status}: no" in result.stderr
    assert result.stdout == ""


def test_remote_stops_sending_once_the_key_is_refused(tmp_path):
    pages = [photo(tmp_path / f"page{n}.jpg", seed=n) for n in range(4)]
    with server_answering(lambda method, path: (401, envelope(401, "bad key"))) as (url, calls):
        result = remote(*pages, "-c", "1", server=url)
    assert result.exit_code == Unauthorized.exit_code
    assert calls == ["POST"]
    assert summary(result.stderr) == "0 done, 4 failed (4 unauthorized)"


def test_remote_stops_sending_when_the_server_was_never_reached(tmp_path):
    pages = [photo(tmp_path / f"page{n}.jpg", seed=n) for n in range(4)]
    result = remote(*pages, "-c", "1", server=f"http://127.0.0.1:{closed_port()}")
    assert result.exit_code == ServerUnreachable.exit_code
    assert result.stderr.count(": connection refused") == 4
    assert result.stderr.count(": not sent: cannot connect") == 3


@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        (lambda m, p: (200, b"<html>a web page</html>"), ServerError, "no photofix/PicWish answer"),
        (picwish(b"not an image at all"), ServerError, "the result is not an image"),
        (picwish(b"", state=-7), InvalidImage, "the task failed with state -7"),
        (picwish(b"", state=2), ProcessingTimeout, "not finished after 1 s"),
    ],
)
def test_remote_turns_a_bad_answer_into_its_exit_code(tmp_path, answer, code, words):
    page = photo(tmp_path / "page.jpg")
    with server_answering(answer) as (url, _):
        result = remote(page, server=url)
    assert result.exit_code == code.exit_code
    assert words in result.stderr
    assert list(tmp_path.glob("page-*")) == []


@pytest.mark.parametrize(
    ("server", "code", "words"),
    [
        (f"http://127.0.0.1:{closed_port()}", ServerUnreachable, "connection refused"),
        ("http://no-such-host.invalid", ServerUnreachable, "cannot connect to"),
        ("127.0.0.1:8000", BadRequest, "--server must be a URL such as http://127.0.0.1:8000"),
    ],
)
def test_remote_reports_an_unreachable_server_in_one_line(tmp_path, server, code, words):
    page = photo(tmp_path / "page.jpg")
    command = [sys.executable, "-m", "photofix", "remote", str(page), "--server", server]
    done = subprocess.run([*command, "--key", "k"], capture_output=True, text=True, timeout=60)
    assert done.returncode == code.exit_code
    assert "Traceback" not in done.stderr
    assert words in done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) <= 2  # the error, then the summary
