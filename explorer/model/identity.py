"""What identifies a model's weights, so cached latents and sessions know they still fit."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from explorer.fileio import file_fingerprint, sha256_file
from explorer.model.kinds import TORCHSCRIPT_SUFFIXES, settings_beside

# Files of a model folder (diffusers) whose contents define the model.
_FOLDER_PATTERNS = ("*.json", "*.safetensors")


def model_identity(spec: str | os.PathLike[str]) -> str | None:
    """A content hash of the model ``spec`` names, or None when it names code (a plugin).

    A file is hashed whole (SHA-256), together with a TorchScript model's settings file. A
    folder hashes its configuration and weight files' content fingerprints (``explorer.json``
    and ``config.json`` included), which is fast even for large weights and changes with
    any edit.
    """
    path = Path(spec).expanduser()
    if path.is_file():
        settings = settings_beside(path)
        if path.suffix.lower() in TORCHSCRIPT_SUFFIXES and settings.is_file():
            # The settings change what the model computes (frame size, input range).
            both = f"{sha256_file(path)}+{sha256_file(settings)}"
            return hashlib.sha256(both.encode()).hexdigest()
        return sha256_file(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for pattern in _FOLDER_PATTERNS:
            # Regular files only: reading a FIFO or a device would never end.
            for file in sorted(f for f in path.rglob(pattern) if f.is_file()):
                digest.update(str(file.relative_to(path)).encode())
                digest.update(file_fingerprint(file).encode())
        return digest.hexdigest()
    return None


def model_location(spec: str | os.PathLike[str]) -> str:
    """An absolute path for files and folders; a plugin spec as it was typed."""
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else os.fspath(spec)
