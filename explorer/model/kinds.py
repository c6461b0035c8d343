"""What a model spec names, found from names and file headers alone: nothing is imported,
unpickled or run, and torch is not loaded, so the window can ask before it opens anything.

Safetensors files and diffusers folders are data. TorchScript archives, plugins and
installed loaders are code (``docs/security.md``). A file's kind comes from its name and
its content must agree: a ``.safetensors`` that is not safetensors, or a ``.pt`` that is a
pickle, is refused.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from explorer.errors import ModelFileError
from explorer.fileio import require_file

ENTRY_POINT_GROUP = "explorer.models"
ACCEPTED = (
    "a model is a Latent Explorer .safetensors file, a TorchScript file (.pt, .pth, .jit), "
    "a diffusers image or video autoencoder folder, package.module:factory, or the name of "
    "an installed model loader"
)
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".jit", ".torchscript")
PICKLE_SUFFIXES = (".ckpt", ".bin", ".pkl", ".pickle")
MODEL_SUFFIXES = (".safetensors", *TORCHSCRIPT_SUFFIXES, *PICKLE_SUFFIXES)
"""Names that say "model": a file named otherwise (``.ts`` is MPEG-TS video) is not one."""

_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
PLUGIN_SPEC = re.compile(rf"({_DOTTED}):({_DOTTED})")
# owner/name, as a model hub writes it; a missing relative path such as models/vae.pt is not one.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_FILE_SUFFIXES = {".safetensors", ".json", *TORCHSCRIPT_SUFFIXES, *PICKLE_SUFFIXES}
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL_OPCODE = b"\x80"
_HEADER_LENGTH = struct.Struct("<Q")  # safetensors: 8 bytes, then that many bytes of JSON


@dataclass(frozen=True)
class ModelKind:
    label: str
    runs_code: bool


SAFETENSORS = ModelKind("Latent Explorer model", runs_code=False)
DIFFUSERS = ModelKind("diffusers autoencoder folder", runs_code=False)
"""An image autoencoder, or a video one (Wan, CogVideoX...): ``config.json`` says which."""
TORCHSCRIPT = ModelKind("TorchScript model", runs_code=True)
REGISTERED = ModelKind("installed model loader", runs_code=True)
PLUGIN = ModelKind("Python plugin", runs_code=True)


class UntrustedCodeError(ModelFileError):
    """The model is code, and the user has not said they trust it."""


def model_kind(spec: str | os.PathLike[str]) -> ModelKind:
    """The kind of model ``spec`` names, or a one-line :class:`ModelFileError`."""
    text = os.fspath(spec).strip()
    if not text:
        raise ModelFileError(f"no model given: {ACCEPTED}")
    path = Path(text).expanduser()
    if path.is_dir():
        return DIFFUSERS
    if path.exists() or path.is_symlink():
        return _file_kind(require_file(path, "model", ModelFileError))
    loaders = registered_loaders()
    if text.partition(":")[0] in loaders:
        return REGISTERED
    if PLUGIN_SPEC.fullmatch(text):
        return PLUGIN
    if _HUB_ID.fullmatch(text) and path.suffix.lower() not in _FILE_SUFFIXES:
        raise ModelFileError(
            f"{text} is not a local file or folder, and Latent Explorer never downloads models: "
            f"download it first (hf download {text} --local-dir {path.name}) and pass the folder"
        )
    installed = f"; installed loaders: {', '.join(sorted(loaders))}" if loaders else ""
    raise ModelFileError(f"model not found: {text} ({ACCEPTED}{installed})")


def untrusted_message(spec: str | os.PathLike[str], kind: ModelKind) -> str:
    """Why a code model did not open, and how the user can say they trust it."""
    return (
        f"{os.fspath(spec)} is a {kind.label}, which runs code when opened; open it only if "
        "you trust its author: pass --trust-code (the window asks you to confirm)"
    )


def settings_beside(file: Path) -> Path:
    """The JSON settings file of a TorchScript model: ``model.pt`` → ``model.json``."""
    return file.with_suffix(".json")


def registered_loaders() -> dict[str, EntryPoint]:
    """The model loaders installed packages register, by name (nothing is imported)."""
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def is_safetensors(file: Path) -> bool:
    """Whether ``file`` starts like a safetensors file: an 8-byte header length that fits
    the file, then a JSON object."""
    head = _head(file, _HEADER_LENGTH.size + 1)
    if len(head) < _HEADER_LENGTH.size + 1:
        return False
    (length,) = _HEADER_LENGTH.unpack(head[: _HEADER_LENGTH.size])
    fits = 2 <= length <= file.stat().st_size - _HEADER_LENGTH.size
    return fits and head[_HEADER_LENGTH.size :] == b"{"


def looks_pickled(file: Path) -> bool:
    """Whether ``file`` starts like a pickle (protocol 2+) or a ``torch.save`` zip."""
    head = _head(file, len(_ZIP_MAGIC))
    return head.startswith(_ZIP_MAGIC) or head[:1] == _PICKLE_PROTOCOL_OPCODE


def check_safetensors(file: Path) -> None:
    """Refuse a ``.safetensors`` name whose content is something else, pickles first.

    The header is checked before the pickle signature: a real safetensors file whose
    header length happens to end in the byte 0x80 starts like a pickle, and must open.
    """
    if is_safetensors(file):
        return
    if looks_pickled(file):
        raise pickle_refused(file)
    raise ModelFileError(
        f"{file} is not a readable .safetensors model (truncated or corrupt: its header "
        "is not a safetensors header)"
    )


def pickle_refused(file: Path) -> ModelFileError:
    """The one message for every pickled checkpoint, whatever its name."""
    return ModelFileError(
        f"{file} is a PyTorch pickle checkpoint; Latent Explorer never loads pickles "
        "because they can run code: save the weights with safetensors instead"
    )


def is_torchscript_archive(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a ``torch.jit.save`` archive, told from its zip member names alone.

    ``torch.save`` checkpoints are zip archives too, and both hold a ``data.pkl``; only a
    TorchScript archive also holds its compiled code (``<name>/code/``) beside a
    ``<name>/constants.pkl``. Only the zip's table of contents is read; nothing is unpickled.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    roots = {name[: -len("constants.pkl")] for name in names if name.endswith("/constants.pkl")}
    return any(name.startswith(f"{root}code/") for root in roots for name in names)


def _file_kind(file: Path) -> ModelKind:
    suffix = file.suffix.lower()
    if suffix == ".safetensors":
        check_safetensors(file)
        return SAFETENSORS
    if suffix in TORCHSCRIPT_SUFFIXES:
        if is_torchscript_archive(file):
            return TORCHSCRIPT
        zipped = _head(file, len(_ZIP_MAGIC)) == _ZIP_MAGIC
        if zipped and not zipfile.is_zipfile(file):
            raise ModelFileError(f"{file} is a damaged zip archive (truncated?), not a model")
        if looks_pickled(file):
            raise pickle_refused(file)
        raise ModelFileError(f"{file} is not a TorchScript archive (one saved by torch.jit.save)")
    if suffix in PICKLE_SUFFIXES and looks_pickled(file):
        raise pickle_refused(file)
    raise ModelFileError(f"{file} is not a model this app can open: {ACCEPTED}")


def _head(file: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``file`` (fewer if it is shorter)."""
    with open(file, "rb") as handle:
        return handle.read(size)
