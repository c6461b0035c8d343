"""A video's path through latent space, and its ``.npz`` file format.

File layout (``numpy.savez``, no pickles): ``mu`` [N, D] float32, ``logvar`` [N, D] float32,
``frame_index`` [N] int64, ``time_s`` [N] float64, ``embedding`` [N, 2] float32 and
``meta``, a JSON string (model, video, settings, projection, ``latent_shape`` when the
latent is not a flat vector). Optional: ``psnr_db`` [N] float32, each frame's reconstruction
PSNR, when it was measured.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer.errors import ExplorerError
from explorer.fileio import atomic_output, require_file

_ARRAYS = ("mu", "logvar", "frame_index", "time_s", "embedding")


@dataclass
class Trajectory:
    mu: np.ndarray
    logvar: np.ndarray
    frame_index: np.ndarray
    time_s: np.ndarray
    embedding: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    psnr_db: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.mu)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.meta.get("latent_shape", self.mu.shape[1:]))

    def latents(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """Means reshaped to the model's latent shape, ready for ``decode``."""
        picked = self.mu if rows is None else self.mu[rows]
        return picked.reshape(len(picked), *self.latent_shape)

    def save(self, path: str | os.PathLike[str], float16: bool = False) -> Path:
        """Write the trajectory atomically as ``.npz``.

        ``float16`` halves the file for image-shaped latents (16,384 numbers a frame for a
        512 px Stable Diffusion VAE); they are read back as float32.
        """
        stored = np.float16 if float16 else np.float32
        embedding = self.embedding
        if embedding is None:
            embedding = np.full((len(self), 2), np.nan, np.float32)
        optional = {} if self.psnr_db is None else {"psnr_db": self.psnr_db.astype(np.float32)}
        target = Path(path)
        with atomic_output(target) as temp, open(temp, "wb") as handle:
            np.savez(
                handle,
                **optional,
                mu=self.mu.astype(stored, copy=False),
                logvar=self.logvar.astype(stored, copy=False),
                frame_index=self.frame_index.astype(np.int64, copy=False),
                time_s=self.time_s.astype(np.float64, copy=False),
                embedding=embedding.astype(np.float32, copy=False),
                meta=np.array(json.dumps(self.meta)),
            )
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trajectory:
        file = require_file(path, "trajectory")
        try:
            with np.load(file, allow_pickle=False) as data:
                arrays = {name: data[name] for name in _ARRAYS}
                meta = json.loads(str(data["meta"]))
                psnr_db = data["psnr_db"] if "psnr_db" in data.files else None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise ExplorerError(f"{file} is not a readable trajectory file ({exc})") from exc
        for name in ("mu", "logvar"):
            arrays[name] = arrays[name].astype(np.float32, copy=False)
        embedding = arrays.pop("embedding")
        if np.isnan(embedding).all():
            embedding = None
        return cls(**arrays, embedding=embedding, meta=meta, psnr_db=psnr_db)
