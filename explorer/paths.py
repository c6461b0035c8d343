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


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))
