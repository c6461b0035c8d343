"""Where the app finds its bundled resources and keeps per-user files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "latent-explorer"


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, inside a bundle when frozen.

    ``EXPLORER_RESOURCES`` overrides both (used by packaging and tests).
    """
    override = os.environ.get("EXPLORER_RESOURCES")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def demo_video_path() -> Path:
    return resources_dir() / "demo" / "demo.mp4"


def demo_model_path() -> Path:
    return resources_dir() / "demo" / "demo_vae.safetensors"


def is_app_folder(folder: Path) -> bool:
    """Whether ``folder`` is inside the app's own files (the package or its resources),
    where nothing the user makes belongs."""
    folder = folder.resolve()
    own = (Path(__file__).resolve().parent, resources_dir().resolve())
    return any(folder == root or root in folder.parents for root in own)


def default_save_folder(kind: str) -> Path:
    """The user's folder for a new file of ``kind`` (``clip``: Videos; else Documents), or
    home when the system has no such folder."""
    chosen = platformdirs.user_videos_dir() if kind == "clip" else platformdirs.user_documents_dir()
    folder = Path(chosen)
    return folder if folder.is_dir() else Path.home()


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))
