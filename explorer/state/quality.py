"""Telling the user when a model reconstructs the open video badly, and why."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from explorer.latent.trajectory import Trajectory

LOW_PSNR_DB = 22.0
"""Below this mean PSNR reconstructions look visibly wrong (blurred shapes, wrong colours)."""


def reconstruction_warning(trajectory: Trajectory, model_info: Mapping[str, Any]) -> str | None:
    """One line when the mean reconstruction PSNR is low, naming the video the model was
    trained on when that is another one; None when reconstructions are fine or unmeasured."""
    if trajectory.psnr_db is None or not len(trajectory.psnr_db):
        return None
    mean = float(np.mean(trajectory.psnr_db))
    if mean >= LOW_PSNR_DB:
        return None
    trained_on = (model_info.get("training") or {}).get("source_video")
    video = Path((trajectory.meta.get("video") or {}).get("path") or "").name
    if trained_on and trained_on != video:
        why = f"the model was trained on {trained_on}, not on this video"
    else:
        why = "the model does not reconstruct footage like this well"
    return f"Reconstructions are poor here (mean PSNR {mean:.1f} dB): {why}"
