"""Reading ``.npy`` and ``.npz`` files that may be damaged or hostile.

Nothing is allocated from what a file declares until the declaration has been checked
against the bytes the file really holds: every zip member's sizes (count, total, stored
sizes that match, no compression ratio of a zip bomb) and every array's ``.npy`` header
(a plain numeric dtype, a bounded shape whose size is exactly what the member holds).
Only then is the data read, in chunks, into an array of that size. Pickles are never
loaded. Every refusal is one line naming the file and the member.

Qt-free and torch-free: the command line, the window and the tests all read through it.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from explorer.errors import ExplorerError, describe_error
from explorer.fileio import require_file
from explorer.schema import MAX_JSON_BYTES

MAX_MEMBERS = 1024
"""More zip members than any of the app's files has (a session has about a dozen)."""

MAX_TOTAL_BYTES = 1 << 36
"""The most an archive may unpack to (64 GiB): far above 10,000 frames of 512 px latents."""

MAX_RATIO = 100
"""Float arrays deflate by a few times at most; a zip bomb by a thousand."""

RATIO_FREE_BYTES = 1 << 20
"""Members below this size may compress as well as they like (e.g. constant arrays)."""

MAX_DIMS = 6
"""Arrays of up to [N, C, T, H, W] latents, plus one."""

READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error,
               NotImplementedError)
"""What reading a damaged zip member or array raises (zipfile says NotImplementedError for
features a damaged header seems to ask for)."""

_NUMERIC_KINDS = "biuf"
_LOCAL_HEADER = 30  # bytes of a zip member's local header before its name and extra field
_CHUNK = 1 << 22


def open_regular(
    path: str | os.PathLike[str], what: str, error: type[ExplorerError] = ExplorerError
) -> tuple[Path, BinaryIO]:
    """``path`` opened for reading, if it is a non-empty regular file.

    :func:`require_file` gives the messages; the type is checked again on the open
    descriptor, opened without blocking, so that a FIFO or a device swapped in after that
    check is still refused instead of hanging or streaming forever.
    """
    file = require_file(path, what, error)
    try:
        descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"cannot read {file} ({describe_error(exc, with_file=False)})") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise error(f"{file} is not a regular file")
    return file, os.fdopen(descriptor, "rb")


@dataclass(frozen=True)
class ArrayHeader:
    """What a ``.npy`` header declares, once checked against the bytes that follow it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_header(stream: BinaryIO, data_size: int, where: str,
                error: type[ExplorerError]) -> ArrayHeader:
    """Check the ``.npy`` header at the start of ``stream`` (``data_size`` bytes in all).

    The dtype must be plain numbers (or, 0-d, a JSON-sized text), the shape bounded, and
    shape × itemsize exactly the bytes after the header: a 100-byte file cannot declare
    a terabyte.
    """
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    # numpy parses the header with ast and tokenize: whatever they raise means "damaged"
    except Exception as exc:
        raise error(f"{where}: not a readable .npy array ({describe_error(exc)})") from None
    if len(shape) > MAX_DIMS or any(size < 0 for size in shape):
        raise error(f"{where}: impossible array shape {shape}")
    if dtype.kind == "U" and not shape:
        if dtype.itemsize > 4 * MAX_JSON_BYTES:
            raise error(f"{where}: text longer than {MAX_JSON_BYTES:,} characters")
    elif dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.shape:
        raise error(f"{where}: holds {dtype} values, not plain numbers")
    header = ArrayHeader(tuple(shape), dtype, fortran)
    held = data_size - stream.tell()
    if header.nbytes != held:
        raise error(
            f"{where}: declares shape {header.shape} of {dtype} ({header.nbytes:,} bytes) "
            f"but holds {held:,} bytes"
        )
    return header


def read_data(stream: BinaryIO, header: ArrayHeader, where: str,
              error: type[ExplorerError]) -> np.ndarray:
    """The array whose checked ``header`` was just read from ``stream``."""
    flat = np.empty(math.prod(header.shape), header.dtype)
    view = memoryview(flat).cast("B")
    done = 0
    try:
        while done < len(view):
            got = stream.readinto(view[done : done + _CHUNK])
            if not got:
                raise EOFError("the data ends early")
            done += got
    except READ_ERRORS as exc:
        raise error(f"{where}: not a readable .npy array ({describe_error(exc)})") from None
    return flat.reshape(header.shape, order="F" if header.fortran_order else "C")


def load_latents(
    path: str | os.PathLike[str], latent_shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """A ``.npy`` of latents as float32 rows [N, D], finite and of the model's size.

    Any array [N, *shape] whose rows hold ``prod(latent_shape)`` numbers fits; without
    ``latent_shape``, any [N, ...] with at least one number a row does.
    """
    file, stream = open_regular(path, "latents", ExplorerError)
    with stream:
        header = read_header(stream, os.fstat(stream.fileno()).st_size, str(file), ExplorerError)
        shape = header.shape
        row = math.prod(shape[1:]) if len(shape) >= 2 else 0
        width = row if latent_shape is None else math.prod(latent_shape)
        if header.dtype.kind not in "iuf" or not shape[:1] or not shape[0] or not row \
                or row != width:
            wanted = "D" if latent_shape is None else " × ".join(map(str, latent_shape))
            raise ExplorerError(f"{file} holds {header.dtype} latents of shape {shape}; "
                                f"expected [N, {wanted}] numbers")
        latents = read_data(stream, header, str(file), ExplorerError)
    if not np.isfinite(latents).all():
        raise ExplorerError(f"{file} contains NaN or infinite values")
    return latents.reshape(len(latents), row).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Spec:
    """What one array must be: its dtype kinds and shape.

    A size in ``shape`` is a number, or a name (``"N"``) that must be the same size in
    every array that uses it.
    """

    kinds: str
    shape: tuple[int | str, ...]
    required: bool = True


class Npz:
    """An open ``.npz`` whose members' sizes and ``.npy`` headers have all been checked."""

    def __init__(self, archive: zipfile.ZipFile, headers: dict[str, ArrayHeader],
                 source: str, error: type[ExplorerError], stream: BinaryIO | None = None
                 ) -> None:
        self._archive = archive
        self.headers = headers
        self.source = source
        self._error = error
        self._stream = stream

    def read(self, name: str) -> np.ndarray:
        """One array, read only now that its size is known to be what the file holds."""
        return self._open(name, read_data)

    def map(self, name: str, path: Path) -> np.ndarray | None:
        """Member ``name`` of the file at ``path`` (the one this archive reads) as a
        read-only array over the file's own bytes (``np.memmap``): nothing is read until
        a row is used, and the pages read can be dropped again. Only a member stored
        uncompressed, of native float32 in C order, can be mapped; None for any other
        (:meth:`read` it)."""
        header, info = self.headers[name], self._archive.getinfo(f"{name}.npy")
        if (self._stream is None or info.compress_type != zipfile.ZIP_STORED
                or header.fortran_order or header.dtype != np.dtype(np.float32)
                or not header.nbytes):
            return None
        try:
            self._stream.seek(info.header_offset)
            local = self._stream.read(_LOCAL_HEADER)
            if len(local) != _LOCAL_HEADER or local[:4] != b"PK\x03\x04":
                return None
            names = int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
            # the member is the .npy header, then exactly the data (read_header checked)
            offset = info.header_offset + _LOCAL_HEADER + names + info.file_size - header.nbytes
            if offset + header.nbytes > os.fstat(self._stream.fileno()).st_size:
                return None
            return np.memmap(path, np.float32, "r", offset, header.shape)
        except (OSError, ValueError):
            return None

    def read_text(self, name: str) -> str:
        """A 0-d text member (e.g. a JSON document saved with ``np.savez``)."""
        if self.headers[name].dtype.kind != "U":
            raise self._error(f"{self.source}: {name}: holds numbers, not text")
        return str(self.read(name))

    def _open(self, name: str, then: Callable[[BinaryIO, ArrayHeader, str,
                                                type[ExplorerError]], Any]) -> Any:
        """``then(stream, header, where, error)`` on member ``name`` once its header is
        checked; damage anywhere in the member is one line naming it."""
        where = f"{self.source}: {name}"
        try:
            info = self._archive.getinfo(f"{name}.npy")
            with self._archive.open(info) as stream:
                return then(stream, read_header(stream, info.file_size, where, self._error),
                            where, self._error)
        except READ_ERRORS as exc:
            raise self._error(f"{where}: not readable ({describe_error(exc)})") from None

    def check(self, specs: Mapping[str, Spec], sizes: Mapping[str, int] | None = None
              ) -> dict[str, int]:
        """Check the headers against ``specs``; returns the named sizes (``{"N": 50}``).

        ``sizes`` fixes some names beforehand (e.g. the number of keyframes a document
        lists). Only headers are looked at: nothing is read.
        """
        bound = dict(sizes or {})
        origin = {name: "the document" for name in bound}
        for name, spec in specs.items():
            header = self.headers.get(name)
            if header is None:
                if spec.required:
                    raise self._error(f"{self.source}: {name}: missing")
                continue
            where = f"{self.source}: {name}"
            if header.dtype.kind not in spec.kinds:
                raise self._error(f"{where}: holds {header.dtype} values; expected "
                                  f"{_kind_names(spec.kinds)}")
            if len(header.shape) != len(spec.shape):
                raise self._error(f"{where}: has shape {header.shape}; expected "
                                  f"[{', '.join(map(str, spec.shape))}]")
            for size, wanted in zip(header.shape, spec.shape, strict=True):
                if isinstance(wanted, str) and wanted not in bound:
                    bound[wanted], origin[wanted] = size, name
                expected = bound[wanted] if isinstance(wanted, str) else wanted
                if size != expected:
                    because = f" ({wanted} = {expected} from {origin[wanted]})" \
                        if isinstance(wanted, str) else ""
                    raise self._error(f"{where}: has shape {header.shape}; expected "
                                      f"[{', '.join(map(str, spec.shape))}]{because}")
        return bound


@contextlib.contextmanager
def open_npz(stream: BinaryIO, size: int, source: str, what: str,
             error: type[ExplorerError] = ExplorerError) -> Iterator[Npz]:
    """Open the ``.npz`` in ``stream`` (``size`` bytes) and check every member's header.

    A file that is no zip, or whose members do not add up, is ``SOURCE is not a readable
    WHAT (why)``; a member that is wrong is ``SOURCE: MEMBER: why``.
    """
    try:
        archive = zipfile.ZipFile(stream)
    except READ_ERRORS as exc:
        raise error(f"{source} is not a readable {what} ({describe_error(exc)})") from None
    with archive:
        infos = check_members(archive, size, source, what, error)
        npz = Npz(archive, {}, source, error, stream)
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise error(f"{source}: {info.filename}: not a .npy array member")
            name = info.filename.removesuffix(".npy")
            npz.headers[name] = npz._open(name, lambda stream, header, where, error: header)
        yield npz


def check_members(archive: zipfile.ZipFile, size: int, source: str, what: str,
                  error: type[ExplorerError]) -> list[zipfile.ZipInfo]:
    """The archive's members, once their count and sizes are known to be safe to read.

    Refuses more than :data:`MAX_MEMBERS` members, repeated names, encryption,
    compression other than none and deflate, extents past the end of the file (``size``
    bytes), more than :data:`MAX_TOTAL_BYTES` unpacked, and ratios of a zip bomb.
    """
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise error(f"{source} is not a readable {what} ({len(infos):,} members; at most "
                    f"{MAX_MEMBERS:,})")
    if len({info.filename for info in infos}) != len(infos):
        raise error(f"{source} is not a readable {what} (repeated member names)")
    total = 0
    for info in infos:
        where = f"{source}: {info.filename}"
        if info.flag_bits & 0x1:
            raise error(f"{where}: encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise error(f"{where}: unsupported compression (method {info.compress_type})")
        if info.header_offset + info.compress_size > size:
            raise error(f"{where}: runs past the end of the file (truncated?)")
        stored = info.compress_type == zipfile.ZIP_STORED
        if stored and info.file_size != info.compress_size:
            raise error(f"{where}: declares {info.file_size:,} bytes but stores "
                        f"{info.compress_size:,}")
        if info.file_size > RATIO_FREE_BYTES and \
                info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise error(f"{where}: unpacks {info.compress_size:,} bytes into "
                        f"{info.file_size:,} (a zip bomb?)")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise error(f"{source} is not a readable {what} (it unpacks to {total:,} bytes)")
    return infos


def _kind_names(kinds: str) -> str:
    names = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats", "U": "text"}
    return " or ".join(dict.fromkeys(names[kind] for kind in kinds))
