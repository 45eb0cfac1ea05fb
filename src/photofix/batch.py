"""Batches of files for `photofix process` and `photofix remote`: which files are the inputs,
where each result goes, and writing it so that no input, and unless asked no existing file, is
ever replaced.

Names: a result is named after its input and what was done to it, `page.jpg` -> `page-scan.jpg`
(RESULT_WORDS), and its extension is its format's. Without an out dir it is written beside its
input; with one, the inputs' folders below their common folder are kept under it, so same-named
inputs of different folders never meet. Two inputs of one folder that differ only in extension
keep it in the name: `page-jpg-scan.jpg`, `page-png-scan.jpg`.

Folders are searched recursively for images (told by their bytes, never by their names); hidden
entries and the out dir are left out, symlink loops are followed once. In a folder, a file where
another image's result goes (`page-scan.jpg` beside `page.jpg`) is an earlier result, not an
input. Files named on the command line are always inputs.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photofix.errors import (
    ExitCode,
    InputMissing,
    InputUnreadable,
    OutputExists,
    OutputIsInput,
    OutputUnwritable,
    PhotofixError,
    UnsupportedFormat,
)
from photofix.imaging.codec import sniff_format

RESULT_WORDS = {0: "flat", 1: "enhanced", 2: "scan", 3: "crop", 4: "cutout"}
PARTIAL_FAILURE = ExitCode.PARTIAL_FAILURE  # some inputs done and some not, or mixed failures
_SNIFF_BYTES = 64 * 1024  # enough for sniff_format to read a TIFF's first directory
_MIN_IMAGE_BYTES = 16  # the header sniff_format looks at: anything shorter is no image

Identity = tuple[int, int]  # (device, inode): what a file is, whatever path names it


def reason(error: PhotofixError) -> str:
    """What the summary line groups failures by: InputMissing -> "input missing"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(error).__name__).lower()


def shown(path: Path | str) -> str:
    """A path as any terminal or log can take it: undecodable bytes and control characters
    (a newline in a file name) escaped, so one input stays one line."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


@dataclass(frozen=True)
class Source:
    path: Path  # as given, or as found under a folder that was given
    result: Path  # where its result goes, without the extension (the result's format adds it)

    def target(self, extension: str) -> Path:
        return self.result.with_name(f"{self.result.name}.{extension}")


@dataclass(frozen=True)
class Done:
    target: Path
    meta: dict[str, Any]


@dataclass
class Batch:
    sources: list[Source] = field(default_factory=list)
    failed: list[tuple[Path, PhotofixError]] = field(default_factory=list)  # before any work
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # found, not taken: why
    inputs: frozenset[Identity] = frozenset()  # never written over


@dataclass(frozen=True)
class _Found:
    path: Path
    identity: Identity
    root: str  # absolute: the folder given, or the folder of a file given
    explicit: bool  # named on the command line


def collect(args: Sequence[Path], word: str, out_dir: Path | None = None) -> Batch:
    """Every input of `args` (files as given, folders searched for images) and its result path."""
    batch = Batch()
    found: list[_Found] = []
    out_identity = _identity(out_dir) if out_dir is not None else None
    prune = {out_identity} if out_identity else set()  # results of an earlier run with -o
    for arg in args:
        try:
            info = os.stat(arg)
        except OSError as exc:
            batch.failed.append((arg, input_error(exc)))
            continue
        if stat.S_ISDIR(info.st_mode):
            before = (len(found), len(batch.failed))
            _walk(arg, batch, found, prune)
            if (len(found), len(batch.failed)) == before:
                batch.failed.append((arg, InputUnreadable("the folder holds no image")))
        else:
            found.append(_Found(arg, _key(info), os.path.abspath(arg.parent), explicit=True))
    found = _drop_earlier_results(_unique(found, batch), out_dir, batch)
    results = _results(found, word, out_dir)
    batch.sources = [Source(f.path, result) for f, result in zip(found, results, strict=True)]
    batch.inputs = frozenset(f.identity for f in found)
    return batch


def input_error(exc: OSError) -> PhotofixError:
    if isinstance(exc, FileNotFoundError):
        return InputMissing("no such file or folder")
    return InputUnreadable(describe(exc))


def describe(exc: OSError) -> str:
    """An OS error in a few plain words, without the path (the line names it already)."""
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    return (exc.strerror or str(exc)).lower()


def read_input(path: Path, limit: int) -> bytes:
    """The file's bytes, at most `limit` + 1 of them (one past a cap is enough to refuse it)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise input_error(exc) from exc


def _walk(top: Path, batch: Batch, found: list[_Found], prune: set[Identity]) -> None:
    root = os.path.abspath(top)
    seen: set[Identity] = set()

    def unreadable(exc: OSError) -> None:
        batch.failed.append((Path(exc.filename or top), input_error(exc)))

    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable, followlinks=True):
        here = _identity(Path(dirpath))
        if here is None or here in seen:  # gone since it was listed, or a link back up the tree
            if here is not None:
                batch.skipped.append((Path(dirpath), "a folder searched already (symlink loop)"))
            dirnames.clear()
            continue
        seen.add(here)
        dirnames[:] = [
            name
            for name in sorted(dirnames)
            if not name.startswith(".") and _identity(Path(dirpath, name)) not in prune
        ]
        for name in sorted(filenames):
            if not name.startswith("."):
                _consider(Path(dirpath, name), root, batch, found)


def _consider(path: Path, root: str, batch: Batch, found: list[_Found]) -> None:
    """Take a file found in a folder if its bytes are an image photofix reads."""
    try:
        info = os.stat(path)
    except OSError as exc:  # a dangling symlink
        batch.skipped.append((path, f"cannot be opened ({describe(exc)})"))
        return
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
        batch.skipped.append((path, "not a regular file"))
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        batch.failed.append((path, input_error(exc)))
        return
    why = _not_an_image(head)
    if why:
        batch.skipped.append((path, why))
    else:
        found.append(_Found(path, _key(info), root, explicit=False))


def _not_an_image(head: bytes) -> str | None:
    try:
        sniff_format(head)
    except UnsupportedFormat as exc:
        return exc.message.split(";")[0]  # "GIF is not supported", without the list of formats
    except PhotofixError:  # the magic bytes of an image, broken after them: its failure is news
        return "too short to be an image" if len(head) < _MIN_IMAGE_BYTES else None
    return None


def _unique(found: list[_Found], batch: Batch) -> list[_Found]:
    first: dict[Identity, _Found] = {}
    for f in found:
        if f.identity in first:
            batch.skipped.append((f.path, f"the same file as {shown(first[f.identity].path)}"))
        else:
            first[f.identity] = f
    return list(first.values())


def _drop_earlier_results(found: list[_Found], out_dir: Path | None, batch: Batch) -> list[_Found]:
    """Leave out files found in folders that sit where another input's result goes, for any
    type: results of an earlier run, which a rerun must not take for new inputs."""
    owners: dict[str, _Found] = {}
    for word in RESULT_WORDS.values():
        for f, result in zip(found, _results(found, word, out_dir), strict=True):
            owners.setdefault(_fold(result), f)
    kept = []
    for f in found:
        owner = owners.get(_fold(f.path.parent / f.path.stem))
        if f.explicit or owner is None or owner is f:
            kept.append(f)
        else:
            batch.skipped.append((f.path, f"an earlier result of {shown(owner.path)}"))
    return kept


def _results(found: list[_Found], word: str, out_dir: Path | None) -> list[Path]:
    """Where each result goes, without its extension (see the module docstring)."""
    if out_dir is None:
        folders = [f.path.parent for f in found]
    else:
        root = os.path.commonpath([f.root for f in found]) if found else ""
        folders = [out_dir / os.path.relpath(os.path.abspath(f.path.parent), root) for f in found]
    stems = Counter(_fold(folder / f.path.stem) for f, folder in zip(found, folders, strict=True))
    taken: set[str] = set()
    results = []
    for f, folder in zip(found, folders, strict=True):
        extension = f.path.suffix.lstrip(".").lower()
        shared = bool(extension) and stems[_fold(folder / f.path.stem)] > 1
        name = f"{f.path.stem}-{extension}-{word}" if shared else f"{f.path.stem}-{word}"
        result, n = folder / name, 2
        while _fold(result) in taken:  # pathological names only (page-jpg.png beside page.jpg)
            result, n = folder / f"{name}-{n}", n + 1
        taken.add(_fold(result))
        results.append(result)
    return results


def _fold(path: Path) -> str:
    """A path as a key that a case-insensitive file system also tells apart."""
    return os.path.abspath(path).casefold()


def _key(info: os.stat_result) -> Identity:
    return (info.st_dev, info.st_ino)


def _identity(path: Path) -> Identity | None:
    try:
        return _key(os.stat(path))
    except OSError:
        return None


class ResultWriter:
    """Writes results atomically (a temporary file beside the target, then a rename), never over
    an input or another result of this run, and over any other file only with `overwrite`."""

    def __init__(self, inputs: frozenset[Identity], *, overwrite: bool) -> None:
        self._inputs = inputs
        self._overwrite = overwrite
        self._written: set[Identity] = set()

    def write(self, source: Source, extension: str, data: bytes) -> Path:
        target = source.target(extension)
        existing = _identity(target)  # through symlinks and hard links: what would be replaced
        if existing in self._inputs:
            raise OutputIsInput(
                f"the result {shown(target)} would replace an input, which photofix never "
                "does: choose another --out-dir"
            )
        if existing in self._written:
            raise OutputExists(f"{shown(target)} was just written for another input")
        if not self._overwrite and os.path.lexists(target):
            raise OutputExists(f"{shown(target)} exists (--overwrite replaces it)")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            folder = shown(target.parent)
            raise OutputUnwritable(f"cannot make the folder {folder}: {describe(exc)}") from exc
        try:
            _write_atomically(target, data, replace=self._overwrite)
        except FileExistsError as exc:  # appeared since the check above
            raise OutputExists(f"{shown(target)} exists (--overwrite replaces it)") from exc
        except OSError as exc:
            raise OutputUnwritable(f"cannot write {shown(target)}: {describe(exc)}") from exc
        identity = _identity(target)
        if identity:
            self._written.add(identity)
        return target


def _write_atomically(target: Path, data: bytes, *, replace: bool) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # the bytes are on disk before the name points at them
        os.chmod(temporary, _new_file_mode())
        if replace:
            os.replace(temporary, target)
        else:
            _link_new(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _link_new(temporary: str, target: Path) -> None:
    """Give the file its name only if the name is free, atomically (a hard link never replaces)."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links (FAT, some network mounts)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        os.replace(temporary, target)


@functools.cache
def _new_file_mode() -> int:
    """What `open()` would give a new file under this process's umask (mkstemp gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@dataclass
class Tally:
    done: int = 0
    failures: list[PhotofixError] = field(default_factory=list)
    skipped: int = 0

    def summary(self) -> str:
        """E.g. "3 done, 2 failed (1 input missing, 1 invalid image), 4 skipped"."""
        text = f"{self.done} done, {len(self.failures)} failed"
        if self.failures:
            counts = Counter(reason(failure) for failure in self.failures).most_common()
            text += " (" + ", ".join(f"{n} {why}" for why, n in counts) + ")"
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text

    def exit_code(self) -> ExitCode:
        """OK when every input was done; the failure's own code when every input failed for one
        reason; PARTIAL_FAILURE otherwise."""
        codes = {failure.exit_code for failure in self.failures}
        if not codes:
            return ExitCode.OK
        if self.done == 0 and len(codes) == 1:
            return codes.pop()
        return PARTIAL_FAILURE
