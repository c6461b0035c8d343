"""What ``explorer info`` says about the files the app writes besides models, trajectories
and videos: sessions, clip recipes, latents, clips saved as PNG frames and libraries.

Each file is read with the loader the app itself uses, which checks everything it holds;
nothing it names (a video, a model) is opened.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from explorer.arrays import READ_ERRORS, load_latents, open_regular, read_header
from explorer.errors import ExplorerError, describe_error
from explorer.schema import MAX_JSON_BYTES, Open, Text, parse_json, validate
from explorer.video.writer import PNG_RECIPE_NAMES

Row = tuple[str, str]

PNG_CLIP_RECIPE = PNG_RECIPE_NAMES[1]
"""The recipe's name in a clip's folder of PNG frames."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LISTED_FRAMES = 8
"""Keyframe numbers listed in full; longer lists show their ends."""


def is_recipe(path: Path) -> bool:
    """Whether ``path`` is named like a clip recipe (``OUT.mp4.clip.json``, ``clip.json``)."""
    name = path.name.lower()
    return name == PNG_CLIP_RECIPE or name.endswith(".clip.json")


def describe_session(path: Path) -> list[Row]:
    from explorer.session.document import load_session

    session = load_session(path)
    saved = _saved_by(path)
    trajectory = session.trajectory
    frames = trajectory.frame_index
    interpolation = session.interpolation
    fitted = ", ".join(kind.upper() for kind in session.projections) or "none yet"
    export = session.export.model_dump()
    export["fps"] = export["fps"] or "the clip's"
    return [
        ("File", str(path)),
        ("Kind", "Latent Explorer session"),
        ("Saved", f"{saved.saved_at} by Latent Explorer {saved.app_version}"),
        ("Video", session.video_path),
        ("Model", session.model_path),
        *([("Model SHA-256", session.model_sha256[:16] + "…")] if session.model_sha256 else []),
        *([("Compared with", session.compared_model_path)] if session.compared_model_path
          else []),
        ("Frames", f"{len(trajectory)} (frames {frames[0]}–{frames[-1]})"),
        ("Latent shape", " × ".join(map(str, trajectory.latent_shape))),
        ("Keyframes", _keyframes([keyframe.frame for keyframe in session.keyframes])),
        ("Projection", f"{session.projection_kind.upper()} shown (fitted: {fitted})"),
        ("Interpolation", f"{_path_text(interpolation.method, interpolation.easing)}, "
                          f"{interpolation.seconds:g} s at {interpolation.fps:g} fps "
                          f"({interpolation.steps} frames)"),
        ("Export", f"{session.export.format.upper()}, {_export_text(export)}"),
    ]


class _SavedBy(Open):
    saved_at: Text
    app_version: Text


def _saved_by(file: Path) -> _SavedBy:
    """When and by which version the session in ``file`` was saved.

    The loaded session keeps neither, so ``session.json`` is read again, as boundedly as
    :func:`~explorer.session.document.load_session` reads it (which has checked it).
    """
    from explorer.session.document import SessionError

    where = f"{file}: session.json"
    _, stream = open_regular(file, "session", SessionError)
    try:
        with stream, zipfile.ZipFile(stream) as archive, archive.open("session.json") as member:
            text = member.read(MAX_JSON_BYTES + 1)
    except (*READ_ERRORS, KeyError) as exc:  # the file changed since it was loaded
        raise SessionError(f"{where}: cannot be read again ({describe_error(exc)})") from None
    return validate(_SavedBy, parse_json(text, where, SessionError), where, SessionError)


def describe_recipe(path: Path) -> list[Row]:
    return [("File", str(path)), ("Kind", "clip recipe"), *_recipe_rows(path)]


def describe_png_clip(folder: Path) -> list[Row]:
    """A folder of PNG frames with the recipe an export saves beside them."""
    recipe = _recipe_rows(folder / PNG_CLIP_RECIPE)
    frames = sorted(entry for entry in folder.iterdir()
                    if entry.suffix.lower() == ".png" and entry.stem.isdigit())
    rows: list[Row] = [
        ("Folder", str(folder)),
        ("Kind", "clip saved as PNG frames"),
        ("PNG frames", str(len(frames))),
    ]
    if frames:
        rows.append(("Frame size", _png_size(frames[0])))
    return [*rows, *recipe]


def _recipe_rows(path: Path) -> list[Row]:
    from explorer.pipeline.recipe import load_recipe

    recipe = load_recipe(path)
    settings = recipe.settings
    count, width = recipe.latents.shape
    frames = [record.get("frame") for record in recipe.keyframes]
    rows: list[Row] = [
        ("Frames", f"{count} latents of {width} numbers"),
        ("Keyframes", _keyframes(frames) if frames else "none: latents rendered as they are"),
    ]
    if settings.get("method") is not None:
        rows.append(("Interpolation", _path_text(settings["method"], settings.get("easing"))))
    rows.append(("Export", _export_text(settings)))
    model = _scalar(settings.get("model"))
    if isinstance(settings.get("model_identity"), str):
        model += f" (identity {settings['model_identity'][:16]})"
    rows.append(("Model", model))
    if "video" in settings:
        rows.append(("Video", _scalar(settings["video"])))
    if "library" in settings:
        rows.append(("Library", f"{_scalar(settings['library'])} (keyframes "
                                f"{_scalar(settings.get('library_keyframes'))}, as "
                                "VIDEO:FRAME)"))
    return rows


def describe_library(folder: Path) -> list[Row]:
    """A library: its model, each video (index, name, frames, duration, status), the
    totals and the shared map. Trajectories are only looked for; the map is checked."""
    from explorer.library.catalog import load_library
    from explorer.library.shared_map import load_map, load_umap

    library = load_library(folder)
    model = library.model
    shape = " × ".join(map(str, model.latent_shape)) if model.latent_shape else "not known yet"
    rows: list[Row] = [
        ("Folder", str(folder)),
        ("Kind", f"video library (version {library.version})"),
        ("Model", model.path),
        *([("Model SHA-256", model.identity[:16] + "…")] if model.identity else []),
        ("Latent shape", shape),
    ]
    for index, video in enumerate(library.videos):
        if video.status == "failed":
            rows.append((f"Video {index}", f"{video.name}: failed: {video.reason}"))
            continue
        missing = "" if (folder / video.trajectory).is_file() else ", trajectory file missing"
        rows.append((f"Video {index}", f"{video.name}: {video.frames:,} frames, "
                                       f"{video.duration_s:.1f} s at {video.fps:g} fps, "
                                       f"done{missing}"))
        rows += [("  Warning", warning) for warning in video.warnings]
    done = [video for _, video in library.done()]
    rows.append(("Total", f"{len(done)} of {len(library.videos)} videos done, "
                          f"{sum(video.frames for video in done):,} frames "
                          f"({sum(video.duration_s for video in done):.1f} s); "
                          f"{len(library.failed())} failed"))
    entry = library.shared_map
    if entry is None:
        return [*rows, ("Shared map", "none yet")]
    points = len(load_map(folder, library).embedding)
    stale = "" if entry.videos == library.covered() else \
        " (fitted before the videos changed: encoding again fits it anew)"
    covered = len(entry.videos)
    kinds = "PCA and UMAP" if entry.umap is not None else entry.kind.upper()
    if entry.umap is not None:
        load_umap(folder, library)  # checked like the PCA
    return [*rows, ("Shared map", f"{kinds} of {covered} "
                                  f"video{'' if covered == 1 else 's'}, {points:,} points{stale}")]


def describe_latents(path: Path) -> list[Row]:
    """A ``.npy`` of latents as ``export --latents`` reads it: rows of numbers."""
    latents = load_latents(path)  # checks every value
    file, stream = open_regular(path, "latents")
    with stream:
        header = read_header(stream, os.fstat(stream.fileno()).st_size, str(file), ExplorerError)
    count, width = latents.shape
    return [
        ("File", str(path)),
        ("Kind", "latents"),
        ("Shape", f"{' × '.join(map(str, header.shape))} {header.dtype}"),
        ("Latents", f"{count} of {width} numbers"),
        ("Value range", f"{latents.min():.4g} to {latents.max():.4g}"),
        ("Mean ± std", f"{latents.mean():.4g} ± {latents.std():.4g}"),
    ]


def _keyframes(frames: Sequence[int | None]) -> str:
    """``3 (frames 0, 120; 1 probe)``: frame numbers, and probes (places that are no frame)."""
    numbers = [str(frame) for frame in frames if frame is not None]
    if len(numbers) > _LISTED_FRAMES:
        numbers = [*numbers[: _LISTED_FRAMES - 2], "…", numbers[-1]]
    parts = []
    if numbers:
        parts.append(f"frame{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}")
    probes = sum(frame is None for frame in frames)
    if probes:
        parts.append(f"{probes} probe{'s' if probes > 1 else ''}")
    return f"{len(frames)} ({'; '.join(parts)})" if frames else "none"


def _path_text(method: object, easing: object) -> str:
    return f"{_scalar(method)}, {_scalar(easing)} easing"


def _export_text(settings: Mapping[str, object]) -> str:
    """``24 fps, 256 px longest side, lanczos, quality 23, ping-pong`` from the export
    settings of a recipe or a session; anything missing shows as ``?``."""
    size = settings.get("size", "?")
    parts = [
        f"{_scalar(settings.get('fps'))} fps",
        "the model's frame size" if size is None else f"{_scalar(size)} px longest side",
        _scalar(settings.get("resize_filter")),
        f"quality {_scalar(settings.get('quality'))}",
    ]
    extras = {"side_by_side": "side by side", "frame_counter": "frame counter",
              "ping_pong": "ping-pong"}
    parts += [label for key, label in extras.items() if settings.get(key) is True]
    return ", ".join(parts)


def _scalar(value: object) -> str:
    """A value from a recipe's settings, which are checked to be scalars, not which ones."""
    if value is None:
        return "?"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _png_size(path: Path) -> str:
    """``W × H`` from a PNG's header, without decoding the image."""
    file, stream = open_regular(path, "frame")
    with stream:
        head = stream.read(24)
    if len(head) < 24 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ExplorerError(f"{file} is not a PNG image")
    width, height = struct.unpack(">II", head[16:24])
    return f"{width} × {height}"
