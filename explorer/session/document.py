"""The session file: a zip of ``session.json`` (settings, references) and ``arrays.npz``.

``session.json`` holds ``format`` (``latent-explorer/session``), ``version`` and plain
settings; ``arrays.npz`` holds every array (the trajectory, projection states, keyframe
and probe latents, a drawn path), loaded with ``allow_pickle=False``. The layout is
documented in ``docs/sessions.md``. Files are written atomically; a file from a newer
version of the app is refused with a message, an older one is migrated step by step.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer import __version__
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output, require_file
from explorer.latent.keyframes import Keyframe
from explorer.latent.trajectory import Trajectory

FORMAT = "latent-explorer/session"
VERSION = 1
SUFFIX = ".lxsession"

# Each entry turns a document of version k into version k + 1; none are needed yet.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_TRAJECTORY_ARRAYS = ("mu", "logvar", "frame_index", "time_s")


class SessionError(ExplorerError):
    """A session file that is missing, damaged or from a newer version of the app."""


@dataclass
class Session:
    video_path: str
    video_fingerprint: str
    model_path: str
    model_sha256: str
    trajectory: Trajectory
    projections: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each fitted projection's ``state()``, by kind."""
    projection_kind: str = "pca"
    keyframes: list[Keyframe] = field(default_factory=list)
    probe: np.ndarray | None = None
    drawn_path: np.ndarray | None = None
    interpolation: dict[str, Any] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)
    current_frame: int = 0
    view_range: list[list[float]] | None = None


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write ``session`` to ``path`` atomically."""
    document, arrays = _split(session)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    target = Path(path)
    with atomic_output(target) as temp, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("session.json", json.dumps(document, indent=1))
        zf.writestr("arrays.npz", buffer.getvalue())
    return target


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read a session file; raises :class:`SessionError` with one clear line."""
    file = require_file(path, "session", SessionError)
    try:
        with zipfile.ZipFile(file) as archive:
            document = _migrated(file, json.loads(_member(file, archive, "session.json")))
            arrays_bytes = _member(file, archive, "arrays.npz")
    except zipfile.BadZipFile as exc:
        raise SessionError(f"{file} is not a Latent Explorer session (not a zip archive)") from exc
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, zipfile.LargeZipFile) as exc:
        raise SessionError(f"{file} is damaged ({exc})") from exc
    try:
        with np.load(io.BytesIO(arrays_bytes), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return _join(document, arrays)
    except (KeyError, ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SessionError(f"{file} is damaged: {exc}") from exc


def _member(file: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise SessionError(f"{file} is not a Latent Explorer session (no {name})") from None


def _migrated(file: Path, document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SessionError(f"{file} is not a Latent Explorer session")
    version = document.get("version")
    if not isinstance(version, int) or version < 1:
        raise SessionError(f"{file} has an unknown session version {version!r}")
    if version > VERSION:
        raise SessionError(
            f"{file} was saved by a newer Latent Explorer (session version {version}; this "
            f"app reads up to {VERSION}): update the app to open it"
        )
    while version < VERSION:
        document = MIGRATIONS[version](document)
        version = document["version"]
    return document


def _split(session: Session) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    trajectory = session.trajectory
    arrays: dict[str, np.ndarray] = {name: getattr(trajectory, name) for name in
                                     _TRAJECTORY_ARRAYS}
    if trajectory.psnr_db is not None:
        arrays["psnr_db"] = trajectory.psnr_db
    projections = {}
    for kind, state in session.projections.items():
        scalars = {}
        for name, value in state.items():
            if isinstance(value, np.ndarray):
                arrays[f"projection.{kind}.{name}"] = value
            else:
                scalars[name] = value
        projections[kind] = scalars
    if session.keyframes:
        arrays["keyframes"] = np.stack([k.latent for k in session.keyframes])
    for name in ("probe", "drawn_path"):
        if getattr(session, name) is not None:
            arrays[name] = np.asarray(getattr(session, name), np.float32)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "app_version": __version__,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "video": {"path": session.video_path, "fingerprint": session.video_fingerprint},
        "model": {"path": session.model_path, "sha256": session.model_sha256},
        "trajectory_meta": trajectory.meta,
        "projections": projections,
        "projection_kind": session.projection_kind,
        "keyframe_frames": [k.frame for k in session.keyframes],
        "interpolation": session.interpolation,
        "export": session.export,
        "view": {"frame": session.current_frame, "range": session.view_range},
    }
    return document, arrays


def _join(document: dict[str, Any], arrays: dict[str, np.ndarray]) -> Session:
    trajectory = Trajectory(
        **{name: arrays[name] for name in _TRAJECTORY_ARRAYS},
        meta=document["trajectory_meta"],
        psnr_db=arrays.get("psnr_db"),
    )
    lengths = {len(arrays[name]) for name in _TRAJECTORY_ARRAYS}
    if len(lengths) != 1 or not len(trajectory):
        raise ValueError("the trajectory arrays do not agree in length")
    projections = {kind: dict(scalars) for kind, scalars in document["projections"].items()}
    for name, value in arrays.items():
        if name.startswith("projection."):
            _, kind, key = name.split(".", 2)
            projections.setdefault(kind, {})[key] = value
    frames = document["keyframe_frames"]
    latents = arrays.get("keyframes", np.zeros((0, trajectory.mu.shape[1]), np.float32))
    if len(frames) != len(latents):
        raise ValueError("keyframe list and keyframe latents disagree")
    view = document["view"]
    return Session(
        video_path=document["video"]["path"],
        video_fingerprint=document["video"]["fingerprint"],
        model_path=document["model"]["path"],
        model_sha256=document["model"]["sha256"],
        trajectory=trajectory,
        projections=projections,
        projection_kind=document["projection_kind"],
        keyframes=[Keyframe(latent, None if frame is None else int(frame))
                   for frame, latent in zip(frames, latents, strict=True)],
        probe=arrays.get("probe"),
        drawn_path=arrays.get("drawn_path"),
        interpolation=document["interpolation"],
        export=document["export"],
        current_frame=int(view["frame"]),
        view_range=view["range"],
    )
