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
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from explorer import __version__
from explorer.arrays import READ_ERRORS, Npz, Spec, check_members, open_npz, open_regular
from explorer.errors import ExplorerError, describe_error
from explorer.fileio import atomic_output
from explorer.latent.keyframes import Keyframe
from explorer.latent.trajectory import ARRAY_SPECS, Trajectory, check_meta
from explorer.schema import (
    MAX_JSON_BYTES,
    BoundedInt,
    FiniteFloat,
    Open,
    Strict,
    Text,
    parse_json,
    validate,
)
from explorer.state.settings import ExportChoices, InterpolationSettings

FORMAT = "latent-explorer/session"
VERSION = 3
SUFFIX = ".lxsession"

# Each entry turns a document of version k into version k + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: lambda document: {**document, "version": 2},  # 2 only added optional fields
    2: lambda document: {**document, "version": 3},  # 3 only added compared_model
}
MAX_DIRECTIONS = 256
Name = Annotated[str, Field(min_length=1, max_length=200)]

Frame = Annotated[int, Field(ge=0, le=2**53)]
Pair = Annotated[list[FiniteFloat], Field(min_length=2, max_length=2)]


class _Header(Open):
    """What every version of ``session.json`` starts with."""

    format: Literal["latent-explorer/session"]
    version: Annotated[int, Field(ge=1, le=1 << 31)]


class _VideoRef(Strict):
    path: Text
    fingerprint: Text


class _ModelRef(Strict):
    path: Text
    sha256: Text


class _PCAState(Strict):
    kind: Literal["pca"]


class _UMAPState(Strict):
    kind: Literal["umap"]
    seed: BoundedInt
    n_neighbors: Annotated[int, Field(ge=1, le=1 << 20)]
    min_dist: Annotated[FiniteFloat, Field(ge=0, le=1000)]


class _Projections(Strict):
    """Each fitted projection's scalars; its arrays are ``projection.KIND.NAME``."""

    pca: _PCAState | None = None
    umap: _UMAPState | None = None


class _View(Strict):
    frame: Frame
    """The row of the trajectory on screen."""
    range: Annotated[list[Pair], Field(min_length=2, max_length=2)] | None


class _Scenes(Strict):
    names: Annotated[list[Name], Field(min_length=1, max_length=1 << 20)]
    silhouette: FiniteFloat | None


class SessionDocument(Strict):
    """``session.json`` of the current :data:`VERSION` (see ``docs/sessions.md``)."""

    format: Literal["latent-explorer/session"]
    version: Literal[3]
    app_version: Text
    saved_at: Text
    video: _VideoRef
    model: _ModelRef
    trajectory_meta: dict[str, Any]
    """Checked by :func:`~explorer.latent.trajectory.check_meta` once mu's width is known."""
    projections: _Projections
    projection_kind: Literal["pca", "umap"]
    keyframe_frames: Annotated[list[Frame | None], Field(max_length=100_000)]
    interpolation: InterpolationSettings
    export: ExportChoices
    view: _View
    directions: Annotated[list[Name], Field(default_factory=list, max_length=MAX_DIRECTIONS)]
    """Names of the directions in ``directions`` [P, D] (version 2)."""
    scenes: _Scenes | None = None
    """The scenes found (version 2): names; ``scene.cluster`` and ``scene.segment`` [N]."""
    compared_model: _ModelRef | None = None
    """The second model of Model › Compare With… (version 3); nothing of it is saved but
    where it is and what it is: reopening the session encodes the video with it again."""


_PROJECTION_SPECS = {
    "pca": {"mean": Spec("f", ("D",)), "components": Spec("f", (2, "D"))},
    "umap": {"embedding": Spec("f", ("N", 2)), "mean": Spec("f", ("D",)),
             "axes": Spec("f", ("R", "D"))},
}


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
    interpolation: InterpolationSettings = field(default_factory=InterpolationSettings)
    export: ExportChoices = field(default_factory=ExportChoices)
    current_frame: int = 0
    view_range: list[list[float]] | None = None
    directions: dict[str, np.ndarray] = field(default_factory=dict)
    """By name, flat [D] float32."""
    path_shift: np.ndarray | None = None
    """[D] added to the keyframe path (a direction times an amount)."""
    scenes: Any = None
    """The :class:`~explorer.analysis.segments.Segmentation` found, if any."""
    scene_names: tuple[str, ...] = ()
    compared_model_path: str | None = None
    """The model compared beside the first (a file or folder, or a plugin spec), if any."""
    compared_model_sha256: str = ""
    """Its content identity, as ``model_sha256`` is the first model's."""


def save_session(session: Session, path: str | os.PathLike[str], compress: bool = True) -> Path:
    """Write ``session`` to ``path`` atomically; ``compress=False`` stores the arrays as
    they are (the autosave's choice: it is written after every minute of changes, and
    deflating a million frames took 1.7 s of a core, against 0.2 s to store them).

    The arrays stream into their member as they are written: gathered in memory first, a
    million-frame trajectory's (144 MB) was copied twice more, holding the GIL for each
    copy, and an autosave froze the window for up to a quarter of a second. Deflate's
    fastest level packs float arrays as small as its default (60 and 61 MB for that
    trajectory) in 58% of the time (1.7 s instead of 3.0 s of a core).
    """
    document, arrays = _split(session)
    target = Path(path)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with (atomic_output(target) as temp,
          zipfile.ZipFile(temp, "w", method, compresslevel=1 if compress else None) as zf):
        zf.writestr("session.json", json.dumps(document, indent=1))
        with zf.open("arrays.npz", "w", force_zip64=True) as member:  # any size
            np.savez(member, **arrays)
    return target


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read a session file; raises :class:`SessionError` with one clear line.

    ``session.json`` is checked against :class:`SessionDocument` and every array's size
    against it and the others before any array is read.
    """
    file, stream = open_regular(path, "session", SessionError)
    with stream:
        try:
            archive = zipfile.ZipFile(stream)
        except READ_ERRORS:
            raise SessionError(
                f"{file} is not a Latent Explorer session (not a zip archive)"
            ) from None
        with archive:
            check_members(archive, os.fstat(stream.fileno()).st_size, str(file),
                          "Latent Explorer session", SessionError)
            text = _member(file, archive, "session.json", MAX_JSON_BYTES)
            json_source = f"{file} is damaged: session.json"
            document = _migrated(file, parse_json(text, json_source, SessionError))
            parsed = validate(SessionDocument, document, json_source, SessionError)
            arrays_bytes = _member(file, archive, "arrays.npz")
    with open_npz(io.BytesIO(arrays_bytes), len(arrays_bytes), f"{file} is damaged: arrays.npz",
                  "zip of arrays", SessionError) as npz:
        _check_arrays(npz, parsed, json_source)
        arrays = {name: npz.read(name) for name in npz.headers}
    del arrays_bytes
    return _join(parsed, arrays, npz.source, json_source)


def _member(file: Path, archive: zipfile.ZipFile, name: str, limit: int | None = None) -> bytes:
    """A member's bytes; its size was checked by :func:`check_members` (or ``limit``)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise SessionError(f"{file} is not a Latent Explorer session (no {name})") from None
    if limit is not None and info.file_size > limit:
        raise SessionError(f"{file} is damaged: {name} is larger than {limit:,} bytes")
    try:
        return archive.read(info)
    except READ_ERRORS as exc:
        raise SessionError(f"{file} is damaged: {name} ({describe_error(exc)})") from None


def _check_arrays(npz: Npz, document: SessionDocument, json_source: str) -> None:
    """Every array's shape against ``document`` and the others; nothing is read."""
    frames = document.keyframe_frames
    specs = {
        **ARRAY_SPECS,
        "keyframes": Spec("f", ("K", "D"), required=bool(frames)),
        "probe": Spec("f", ("D",), required=False),
        "drawn_path": Spec("f", ("M", "D"), required=False),
        "path_shift": Spec("f", ("D",), required=False),
        "directions": Spec("f", ("P", "D"), required=bool(document.directions)),
        "scene.cluster": Spec("iu", ("N",), required=document.scenes is not None),
        "scene.segment": Spec("iu", ("N",), required=document.scenes is not None),
    }
    for kind, state in document.projections:
        if state is not None:
            specs.update({f"projection.{kind}.{name}": spec
                          for name, spec in _PROJECTION_SPECS[kind].items()})
    unknown = sorted(set(npz.headers) - set(specs))
    if unknown:
        raise SessionError(f"{npz.source}: {unknown[0]}: not an array of this session version")
    sizes = npz.check(specs, {"K": len(frames), "P": len(document.directions)})
    if not 1 <= sizes.get("R", 1) <= sizes["D"]:
        raise SessionError(f"{npz.source}: projection.umap.axes: has {sizes['R']} axes for "
                           f"latents of {sizes['D']} numbers")
    if document.view.frame >= sizes["N"]:
        raise SessionError(f"{json_source}: view.frame: frame {document.view.frame} is past "
                           f"the trajectory's {sizes['N']} frames")


def _migrated(file: Path, document: Any) -> dict[str, Any]:
    header = validate(_Header, document, f"{file} is not a Latent Explorer session: "
                      "session.json", SessionError)
    version = header.version
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
    arrays = trajectory.arrays()
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
    for name in ("probe", "drawn_path", "path_shift"):
        if getattr(session, name) is not None:
            arrays[name] = np.asarray(getattr(session, name), np.float32)
    if session.directions:
        arrays["directions"] = np.stack(list(session.directions.values())).astype(np.float32)
    scenes = None
    if session.scenes is not None:
        arrays["scene.cluster"] = session.scenes.cluster.astype(np.int64)
        arrays["scene.segment"] = session.scenes.segment.astype(np.int64)
        scenes = {"names": list(session.scene_names), "silhouette": session.scenes.silhouette}
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
        "interpolation": session.interpolation.model_dump(),
        "export": session.export.model_dump(),
        "view": {"frame": session.current_frame, "range": session.view_range},
        "directions": list(session.directions),
        "scenes": scenes,
        "compared_model": None if session.compared_model_path is None else
        {"path": session.compared_model_path, "sha256": session.compared_model_sha256},
    }
    return document, arrays


def _join(document: SessionDocument, arrays: dict[str, np.ndarray], source: str,
          json_source: str) -> Session:
    """The session, once the values of ``arrays`` (from ``source``) make sense with
    ``document`` (from ``json_source``)."""
    meta = check_meta(document.trajectory_meta, arrays["mu"].shape[1], json_source,
                      SessionError, "trajectory_meta")
    trajectory = Trajectory.checked(
        {name: arrays[name] for name in ARRAY_SPECS if name in arrays}, meta, source,
        SessionError,
    )
    extras = {name: value for name, value in arrays.items() if name not in ARRAY_SPECS}
    for name, value in extras.items():
        if not np.isfinite(value).all():
            raise SessionError(f"{source}: {name}: holds NaN or infinite values")
    scenes = _scenes(document, extras, source)
    projections = document.projections.model_dump(exclude_none=True)
    for name, value in extras.items():
        if name.startswith("projection."):
            _, kind, key = name.split(".", 2)
            projections[kind][key] = value
    rows = set(trajectory.frame_index.tolist())
    frames = document.keyframe_frames
    outside = [frame for frame in frames if frame is not None and frame not in rows]
    if outside:
        raise SessionError(f"{json_source}: keyframe_frames: frame {outside[0]} is not in "
                           "the trajectory")
    latents = extras.get("keyframes", np.zeros((0, trajectory.mu.shape[1]), np.float32))
    compared = document.compared_model
    return Session(
        video_path=document.video.path,
        video_fingerprint=document.video.fingerprint,
        model_path=document.model.path,
        model_sha256=document.model.sha256,
        trajectory=trajectory,
        projections=projections,
        projection_kind=document.projection_kind,
        keyframes=[Keyframe(latent.astype(np.float32, copy=False), frame)
                   for frame, latent in zip(frames, latents, strict=True)],
        probe=extras.get("probe"),
        drawn_path=extras.get("drawn_path"),
        interpolation=document.interpolation,
        export=document.export,
        current_frame=document.view.frame,
        view_range=None if document.view.range is None else
        [list(pair) for pair in document.view.range],
        directions=dict(zip(document.directions, extras.get("directions", []), strict=True)),
        path_shift=extras.get("path_shift"),
        scenes=scenes,
        scene_names=() if document.scenes is None else tuple(document.scenes.names),
        compared_model_path=None if compared is None else compared.path,
        compared_model_sha256="" if compared is None else compared.sha256,
    )


def _scenes(document: SessionDocument, extras: dict[str, np.ndarray], source: str) -> Any:
    """The saved scenes, once their numbers make sense: segments counted up from 0 in
    time order, a name each, and a cluster each."""
    if document.scenes is None:
        return None
    from explorer.analysis.segments import Segmentation

    segment, cluster = extras["scene.segment"], extras["scene.cluster"]
    steps = np.diff(segment)
    if segment[0] != 0 or ((steps != 0) & (steps != 1)).any():
        raise SessionError(f"{source}: scene.segment: must count up from 0 in steps of 1")
    if int(segment[-1]) + 1 != len(document.scenes.names):
        raise SessionError(f"{source}: scene.segment: {int(segment[-1]) + 1} scenes for "
                           f"{len(document.scenes.names)} names")
    if cluster.min() < 0 or (cluster != cluster[np.flatnonzero(np.diff(segment, prepend=-1))]
                             [segment]).any():
        raise SessionError(f"{source}: scene.cluster: must be one cluster a scene")
    return Segmentation(cluster.astype(np.int64), segment.astype(np.int64),
                        document.scenes.silhouette)
