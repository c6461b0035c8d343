"""Small file helpers shared by everything that writes user files.

Every output (models, trajectories, sessions, clips and their recipes, PNG folders) is
written under a hidden temporary name beside its target (:func:`reserve_temp`) and moved
into place whole when complete (:func:`commit_output`); :func:`atomic_output` does both
for a single file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from explorer.errors import ExplorerError, describe_error

_TEMP_SUFFIX = ".partial"


def _temp_name(name: str) -> str:
    return f".{name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}"


TEMP_NAME_EXTRA = 2 * len(_temp_name(""))
"""How many bytes longer than its target's name a temporary name can be: ``.NAME.`` + 8
random characters + ``.partial`` (18 more), twice, because a model or trajectory is saved
by its own :func:`atomic_output` into the temporary file of the command's."""
_NAME_MAX = 255


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it into place atomically.

    The temporary file lives in the same folder so the final move is a rename on one
    file system: a crash or kill at any moment leaves either the old file or the new
    one, never a torn one. On an exception the temporary file is removed and any
    existing file at ``path`` is left untouched. Without ``overwrite`` the file is
    created only if ``path`` still does not exist (see :func:`commit_output`).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        temp = reserve_temp(target)
    except FileNotFoundError as exc:
        raise ExplorerError(f"cannot write {target}: folder {folder} does not exist") from exc
    except PermissionError as exc:
        raise ExplorerError(f"cannot write {target}: folder {folder} is not writable") from exc
    mode = _mode_for(target)
    try:
        yield temp
        # Again after writing: writers such as safetensors' save_file replace the file
        # with a new one of their own, readable by the owner only.
        os.chmod(temp, mode)
        _fsync(temp)
        commit_output(temp, target, overwrite)
    except BaseException:
        discard_temp(temp)
        raise


def reserve_temp(target: Path, folder: bool = False) -> Path:
    """Create an empty hidden file (or folder) beside ``target`` to write into.

    Unlike :mod:`tempfile`, this keeps the usual permissions (the umask applies), which
    the output keeps when :func:`commit_output` moves it into place. Raises ``OSError``
    when the folder is missing or not writable.
    """
    while True:
        temp = target.with_name(_temp_name(target.name))
        try:
            if folder:
                temp.mkdir()
            else:
                os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp
        except FileExistsError:
            continue


def discard_temp(temp: Path) -> None:
    """Remove what :func:`reserve_temp` made, whatever was written into it."""
    if temp.is_dir():
        shutil.rmtree(temp, ignore_errors=True)
    else:
        temp.unlink(missing_ok=True)


def commit_output(temp: Path, target: Path, overwrite: bool) -> None:
    """Move the finished file or folder ``temp`` to ``target``.

    With ``overwrite`` an existing target is replaced. Without it the target is created
    only if it does not exist (a folder: or is empty), atomically (for a file a hard link,
    then ``temp`` is removed), so two runs writing the same new name never silently
    replace each other's output; ``temp`` is left for the caller to remove when the name
    is taken.
    """
    if temp.is_dir():
        _commit_folder(temp, target, overwrite)
        return
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)
    except FileExistsError:
        raise _appeared(target) from None
    except OSError:  # no hard links here (FAT, some network shares): reserve the name
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise _appeared(target) from None
        os.replace(temp, target)
    else:
        temp.unlink()


def _commit_folder(temp: Path, target: Path, overwrite: bool) -> None:
    if not (overwrite and target.is_dir()):
        try:
            os.rename(temp, target)  # replaces only an empty folder
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise _appeared(target, "filled") from None
            raise
        return
    # A folder cannot be swapped atomically: move the old one aside first.
    old = temp.with_name(temp.name + "-old")
    os.replace(target, old)
    os.replace(temp, target)
    shutil.rmtree(old, ignore_errors=True)


def _appeared(target: Path, how: str = "created") -> ExplorerError:
    return ExplorerError(
        f"{target} was {how} by something else while this ran; pass --overwrite to replace it"
    )


def check_output_path(
    path: str | os.PathLike[str],
    overwrite: bool,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
) -> None:
    """Fail before any long work if a file cannot, or may not, be written at ``path``.

    ``inputs`` are the files the command reads: an output that is one of them (by any
    spelling, link or hard link) is refused even with ``overwrite``.
    """
    path = Path(path)
    check_not_an_input(path, inputs)
    check_file_target(path, overwrite)
    check_name_length(path)
    check_writable_folder(path.parent if str(path.parent) else Path("."), path)


def check_file_target(
    path: Path,
    overwrite: bool,
    folder_hint: str = "give a file name",
    error: type[ExplorerError] = ExplorerError,
) -> None:
    """Refuse a folder at ``path`` and, without ``overwrite``, anything else already there."""
    if path.is_dir():
        raise error(f"{path} is a folder; {folder_hint}")
    if os.path.lexists(path) and not overwrite:  # a dangling symlink is there too
        raise error(f"{path} already exists; pass --overwrite to replace it")


def check_not_an_input(
    output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Refuse an ``output`` that is the same file as one of ``inputs`` (None is skipped)."""
    for source in inputs:
        if source is not None and _same_file(output, source):
            raise ExplorerError(
                f"{output} is the input {source}; writing there would destroy it, so choose "
                "another output name (--overwrite does not change this)"
            )


def check_name_length(path: str | os.PathLike[str]) -> None:
    """Refuse a name too long for its folder once the temporary name's extra bytes are
    added, before any work is done rather than when the result is saved."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no such folder (reported later), Windows
        name_max = _NAME_MAX
    length = len(os.fsencode(path.name))
    if length + TEMP_NAME_EXTRA > name_max:
        raise ExplorerError(
            f"the file name {path.name[:24]}… is too long ({length} bytes): this folder takes "
            f"names of up to {name_max} bytes, and the temporary name written first is up "
            f"to {TEMP_NAME_EXTRA} longer; choose a name of at most {name_max - TEMP_NAME_EXTRA}"
        )


def _same_file(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether both paths exist and are one file (symlinks, ``..``, hard links)."""
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):
        return False


def check_writable_folder(folder: Path, target: str | os.PathLike[str]) -> None:
    """Really try to create a file in ``folder``: permission bits do not tell the whole
    story (root, read-only mounts, immutable folders)."""
    if not folder.is_dir():
        raise ExplorerError(f"cannot write {target}: folder {folder} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ExplorerError(f"cannot write {target}: folder {folder} is not writable "
                            f"({describe_error(exc, with_file=False)})") from exc


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
