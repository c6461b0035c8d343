"""A second model on the open video (Model › Compare With…): what the window shows of it,
Qt-free.

The comparison shares the window's current frame: its rows are the open trajectory's
frames, encoded again by the second model, so a row of one is the same frame in the
other. It takes per-frame models only (a video autoencoder's rows are latent steps, which
would not line up with the first model's frames), and no library. Its map is the second
model's PCA layout, turned onto the first map by Procrustes when that is a PCA layout
(:func:`explorer.analysis.compare.paired_maps`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory
from explorer.state.events import Event

if TYPE_CHECKING:  # scipy, under both, costs half a second at start-up
    from explorer.analysis.compare import MapPair
    from explorer.latent.projection import Projection


@dataclass(frozen=True)
class ComparedModel:
    spec: Path
    """The second model's file or folder, or a plugin's ``module:factory``."""
    trajectory: Trajectory
    """The open video's frames as the second model encodes them, row for row."""
    pca: Projection
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name or str(self.spec)

    def reference(self) -> tuple[str, str]:
        """Where the model is (an absolute path, or a plugin spec as typed) and its content
        identity (empty for a plugin), as a session records them."""
        from explorer.model.identity import model_identity, model_location

        # Encoding recorded the identity: hashing a large model at every autosave would
        # stall the window.
        identity = self.trajectory.meta.get("model", {}).get("sha256") or model_identity(
            self.spec)
        return model_location(self.spec), identity or ""


def check_comparable(reference: Trajectory | None, library: bool = False) -> None:
    """A one-line error unless a second model can be compared on ``reference``, the open
    trajectory (``library``: it is a library's)."""
    if reference is None:
        raise ExplorerError("open a video before comparing models on it")
    if library:
        raise ExplorerError("a library cannot be compared: open one of its videos")
    if reference.is_temporal:
        raise ExplorerError("the open model is a video autoencoder, whose rows are latent "
                            "steps; a comparison in the window takes per-frame models (use "
                            "explorer compare)")


class ComparisonState:
    """The second model, once encoded, and the maps to draw. :attr:`changed` emits
    ``"opened"``, ``"maps"`` (the first map's layout changed) or ``"ended"``."""

    def __init__(self) -> None:
        self.changed = Event()
        self.model: ComparedModel | None = None
        self.maps: MapPair | None = None

    @property
    def active(self) -> bool:
        return self.model is not None

    def open(self, model: ComparedModel, reference: Trajectory, layout: Projection,
             kind: str) -> None:
        """Compare ``model``, whose trajectory must hold ``reference``'s frames, beside
        the first map's ``layout`` (of ``kind``)."""
        compared = model.trajectory
        if compared.is_temporal:
            raise ExplorerError(f"{model.name} is a video autoencoder, whose rows are latent "
                                "steps; a comparison in the window takes per-frame models "
                                "(use explorer compare)")
        if not np.array_equal(compared.frame_index, reference.frame_index):
            raise ExplorerError(f"{model.name} did not encode the frames the open video's "
                                "trajectory holds")
        self.model = model
        self._pair(layout, kind)
        self.changed.emit("opened")

    def relayout(self, layout: Projection | None, kind: str) -> None:
        """The first map now shows ``layout``: align (or stop aligning) to it."""
        if self.model is not None and layout is not None:
            self._pair(layout, kind)
            self.changed.emit("maps")

    def end(self) -> None:
        if self.model is not None:
            self.model = self.maps = None
            self.changed.emit("ended")

    def _pair(self, layout: Projection, kind: str) -> None:
        from explorer.analysis.compare import paired_maps

        assert self.model is not None
        self.maps = paired_maps(layout.embedding, kind, self.model.pca.embedding, "pca")

    @property
    def psnr_db(self) -> np.ndarray | None:
        """The second model's PSNR of each row (each the first's row), if measured."""
        return None if self.model is None else self.model.trajectory.psnr_db

    def describe(self, row: int) -> str:
        """A caption for the second model's reconstruction of ``row``."""
        if self.model is None:
            return ""
        psnr = self.psnr_db
        measured = "" if psnr is None else f"  ·  PSNR {psnr[row]:.1f} dB"
        return f"{self.model.name}{measured}"
