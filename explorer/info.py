"""What ``explorer info`` prints: a readable table describing any file the app reads or
writes (the ones only the app writes are in :mod:`explorer.describe_files`)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from explorer.describe_files import (
    PNG_CLIP_RECIPE,
    Row,
    describe_latents,
    describe_library,
    describe_png_clip,
    describe_recipe,
    describe_session,
    is_recipe,
)
from explorer.errors import printable
from explorer.fileio import require_file
from explorer.library.catalog import LIBRARY_FILE
from explorer.model.facts import fact_rows
from explorer.model.kinds import MODEL_SUFFIXES, model_kind
from explorer.session.document import SUFFIX as SESSION_SUFFIX


def describe_file(path: str | os.PathLike[str]) -> list[Row]:
    """Rows of (label, value) for a model (a file or a diffusers folder), a trajectory
    (``.npz``), a session, a clip recipe, latents (``.npy``), a clip saved as PNG frames
    (a folder with its recipe), a library (a folder with ``library.json``) or a video.

    The kind follows the name (a folder's by what it holds), never the content alone: a
    file named as one kind and holding another is refused by that kind's reader.
    """
    candidate = Path(path).expanduser()
    if candidate.is_dir():
        if (candidate / "config.json").is_file():
            return describe_model(candidate)
        if (candidate / PNG_CLIP_RECIPE).is_file():
            return describe_png_clip(candidate)
        if (candidate / LIBRARY_FILE).exists():
            return describe_library(candidate)
    file = require_file(path, "input")
    suffix = file.suffix.lower()
    if suffix in MODEL_SUFFIXES:
        return describe_model(file)
    if suffix == ".npz":
        return describe_trajectory(file)
    if suffix == SESSION_SUFFIX:
        return describe_session(file)
    if is_recipe(file):
        return describe_recipe(file)
    if suffix == ".npy":
        return describe_latents(file)
    return describe_video(file)


def describe_model(path: Path) -> list[Row]:
    """A model that is data is opened (nothing in it runs); one that is code is only read."""
    kind = model_kind(path)
    if kind.runs_code:
        return describe_code_model(path, kind.label)
    from explorer.model.open import open_model

    facts = open_model(path, device="cpu").describe()
    training = facts.get("training", {})
    settings = training.get("settings", {})
    rows: list[Row] = [("File", str(path)), *fact_rows(facts)]
    if training:
        rows += [
            ("β", _number(settings.get("beta"))),
            ("Epochs", str(training.get("epochs_completed", "?"))),
            ("Training frames", str(training.get("frames", "?"))),
            ("Final loss", _number(training.get("final_loss"))),
            ("Final KL", _number(training.get("final_kl"))),
            ("Held-out PSNR", f"{_number(training.get('holdout_psnr_db'))} dB"),
            ("Source video", str(training.get("source_video", "?"))),
            ("Trained", str(training.get("trained_at", "?"))),
        ]
    return rows


def describe_code_model(path: Path, label: str) -> list[Row]:
    """What a TorchScript archive says without running it: its size, its code files and
    the settings beside it; what only its code can tell is named, not guessed."""
    from explorer.model.kinds import settings_beside
    from explorer.model.open import TorchScriptSettings, read_settings

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    code = [name for name in names if "/code/" in name and name.endswith(".py")]
    rows: list[Row] = [
        ("File", str(path)),
        ("Kind", f"{label} (code: not run)"),
        ("Size", f"{path.stat().st_size:,} bytes, {len(names)} archive members"),
        ("Code files", str(len(code))),
    ]
    settings = read_settings(settings_beside(path), TorchScriptSettings)
    rows += [(f"Setting {name}", str(value)) for name, value in sorted(settings.items())]
    rows.append(("Not read", "frame size and latent shape unless set above: only the model's "
                 "code can tell (open it with --trust-code to run it)"))
    return rows


def describe_trajectory(path: Path) -> list[Row]:
    from explorer.latent.trajectory import Trajectory

    trajectory = Trajectory.load(path)
    meta = trajectory.meta
    video = meta.get("video", {})
    model = meta.get("model", {})
    times = trajectory.time_s
    frames = trajectory.frame_index
    temporal = meta.get("temporal")
    if temporal:
        last = int(trajectory.last_frame[-1])
        covered = (f"{len(trajectory)} latent steps (frames {frames[0]}–{last}, "
                   f"{temporal['stride']} frames each"
                   f"{', the first alone' if temporal.get('causal_first_frame') else ''})")
    else:
        covered = f"{len(trajectory)} (frames {frames[0]}–{frames[-1]})"
    rows: list[Row] = [
        ("File", str(path)),
        ("Frames", covered),
        ("Time span", f"{times[0]:.2f}–{times[-1]:.2f} s"),
        ("Latent shape", " × ".join(map(str, trajectory.latent_shape))),
        ("Projection", meta.get("projection", {}).get("kind", "none").upper()),
        ("Video", str(video.get("path", "?"))),
        ("Model", str(model.get("path", "?"))),
    ]
    if model.get("sha256"):
        rows.append(("Model SHA-256", model["sha256"][:16] + "…"))
    if temporal:
        rows.append(("Encoded in", f"{len(temporal.get('windows', []))} windows of "
                                   f"{temporal.get('window_steps', '?')} steps "
                                   f"({temporal.get('context_steps', 0)} of context)"))
    return rows


def describe_video(path: Path) -> list[Row]:
    from explorer.video.reader import open_video

    with open_video(path) as reader:
        info = reader.info
        decoded = reader.count_frames()
        warnings = list(reader.warnings)
    declared = "unknown" if info.declared_frames is None else str(info.declared_frames)
    duration = decoded / info.fps
    rows: list[Row] = [
        ("File", str(path)),
        ("Codec", info.codec),
        ("Frame size", f"{info.width} × {info.height}"),
        *([("Rotation", f"{info.rotation}° clockwise (frames are shown upright)")]
          if info.rotation else []),
        ("Frame rate", f"{info.fps:.3f} fps"),
        ("Frames", f"{decoded} decoded (container says {declared})"),
        ("Duration", f"{duration:.2f} s"),
    ]
    rows += [("Warning", warning) for warning in warnings]
    return rows


def format_table(rows: list[Row]) -> str:
    """Aligned ``label  value`` lines. Values may come from the file (paths, names): their
    control characters are escaped, so a file cannot break the table or send the terminal
    escape codes."""
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {printable(value)}" for label, value in rows)


def _number(value: object) -> str:
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return "?"
