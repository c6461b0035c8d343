"""Small file helpers shared by everything that writes user files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from explorer.errors import ExplorerError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it into place atomically.

    The temporary file lives in the same folder so the final ``os.replace`` is a rename
    on one file system: a crash or kill at any moment leaves either the old file or the
    new one, never a torn one. On an exception the temporary file is removed and any
    existing file at ``path`` is left untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=folder
        )
    except FileNotFoundError as exc:
        raise ExplorerError(f"cannot write {target}: folder {folder} does not exist") from exc
    except PermissionError as exc:
        raise ExplorerError(f"cannot write {target}: folder {folder} is not writable") from exc
    os.close(handle)
    temp = Path(temp_name)
    os.chmod(temp, _mode_for(target))
    try:
        yield temp
        _fsync(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def check_output_path(path: str | os.PathLike[str], overwrite: bool) -> None:
    """Fail before any long work if a file cannot, or may not, be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise ExplorerError(f"{path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise ExplorerError(f"{path} already exists; pass --overwrite to replace it")
    check_writable_folder(path.parent if str(path.parent) else Path("."), path)


def check_writable_folder(folder: Path, target: str | os.PathLike[str]) -> None:
    """Really try to create a file in ``folder``: permission bits do not tell the whole
    story (root, read-only mounts, immutable folders)."""
    if not folder.is_dir():
        raise ExplorerError(f"cannot write {target}: folder {folder} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ExplorerError(
            f"cannot write {target}: folder {folder} is not writable ({exc.strerror})"
        ) from exc


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; new files get the usual umask-based ones.

    ``mkstemp`` creates files readable by the owner only, which is wrong for a model or a
    clip the user means to share.
    """
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks so large files stay out of memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def require_file(
    path: str | os.PathLike[str], what: str, error: type[ExplorerError] = ExplorerError
) -> Path:
    """Return ``path`` as a Path if it is a non-empty regular file, else raise ``error``."""
    file = Path(path).expanduser()
    if not file.exists():
        raise error(f"{what} not found: {file}")
    if file.is_dir():
        raise error(f"{file} is a folder, not a {what} file")
    if not file.is_file():
        raise error(f"{file} is not a regular file")
    if file.stat().st_size == 0:
        raise error(f"{file} is empty (0 bytes)")
    return file


def file_fingerprint(path: str | os.PathLike[str], sample_size: int = 1 << 20) -> str:
    """A content fingerprint that survives moves and renames but not edits.

    Hashes the size plus the first and last ``sample_size`` bytes: cheap for a multi-GB
    video, and any re-encode or truncation changes it.
    """
    file = Path(path)
    size = file.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(file, "rb") as handle:
        digest.update(handle.read(sample_size))
        if size > sample_size:
            handle.seek(max(sample_size, size - sample_size))
            digest.update(handle.read(sample_size))
    return digest.hexdigest()[:32]
