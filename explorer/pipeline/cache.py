"""The per-user cache of encoded trajectories.

Re-opening the same video with the same model and settings loads the latents from disk
instead of encoding again. The key combines the video's content fingerprint, the model
file's SHA-256 and the selection, so a moved video still hits and an edited one misses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory
from explorer.paths import user_cache_dir

ENCODING_VERSION = 3
"""Part of every key; raised whenever encoding changes its results, so that trajectories
encoded the old way are not served again. 2: frames are fitted while decoding; 3: rotated
(phone) videos are turned upright."""


class TrajectoryCache:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or user_cache_dir() / "trajectories"

    @staticmethod
    def key(video_fingerprint: str, model_sha256: str, settings: dict) -> str:
        parts = [ENCODING_VERSION, video_fingerprint, model_sha256, settings]
        text = json.dumps(parts, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def path_for(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def get(self, key: str) -> Trajectory | None:
        """The cached trajectory, or None when absent or unreadable (then it is removed)."""
        path = self.path_for(key)
        if not path.is_file():
            return None
        try:
            return Trajectory.load(path)
        except ExplorerError:
            path.unlink(missing_ok=True)
            return None

    def put(self, key: str, trajectory: Trajectory) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        trajectory.save(self.path_for(key))
