"""A second model on the open video (Model › Compare With…): what the window shows of it,
Qt-free.

The comparison shares the window's current frame. Its rows are the open video's frames,
encoded again by the second model; they line up with the open trajectory's through the
video's frames (:func:`explorer.analysis.compare.match_rows`), so either model may be a
video autoencoder, whose rows are latent steps of several frames. It takes no library. Its
map is the second model's PCA layout, turned onto the first map by Procrustes when that is
a PCA layout (:func:`explorer.analysis.compare.paired_maps`).
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
    """The open video's frames as the second model encodes them."""
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


class ComparisonState:
    """The second model, once encoded, and the maps to draw. :attr:`changed` emits
    ``"opened"``, ``"maps"`` (the first map's layout changed) or ``"ended"``."""

    def __init__(self) -> None:
        self.changed = Event()
        self.model: ComparedModel | None = None
        self.maps: MapPair | None = None
        self.reference: Trajectory | None = None
        self.psnr_on_first_rows: np.ndarray | None = None
        """The second model's PSNR of each of the first trajectory's rows, for the
        timeline (:func:`explorer.analysis.compare.psnr_on_rows`)."""
        self._b_of_a = np.zeros(0, np.int64)

    @property
    def active(self) -> bool:
        return self.model is not None

    def open(self, model: ComparedModel, reference: Trajectory, layout: Projection,
             kind: str) -> None:
        """Compare ``model``, whose trajectory must cover frames of ``reference``, beside
        the first map's ``layout`` (of ``kind``)."""
        from explorer.analysis.compare import match_rows, psnr_on_rows

        b_of_a = match_rows(reference, model.trajectory)
        if not np.any(b_of_a >= 0):
            raise ExplorerError(f"{model.name} encoded none of the frames the open "
                                "video's trajectory holds")
        self.model, self.reference, self._b_of_a = model, reference, b_of_a
        self.psnr_on_first_rows = psnr_on_rows(reference, model.trajectory)
        self._pair(layout, kind)
        self.changed.emit("opened")

    def relayout(self, layout: Projection | None, kind: str) -> None:
        """The first map now shows ``layout``: align (or stop aligning) to it."""
        if self.model is not None and layout is not None:
            self._pair(layout, kind)
            self.changed.emit("maps")

    def end(self) -> None:
        if self.model is not None:
            self.model = self.maps = self.reference = self.psnr_on_first_rows = None
            self.changed.emit("ended")

    def _pair(self, layout: Projection, kind: str) -> None:
        from explorer.analysis.compare import paired_maps

        assert self.model is not None
        self.maps = paired_maps(layout.embedding, kind, self.model.pca.embedding, "pca",
                                self._b_of_a)

    def second_position(self, row: int, within: int = 0) -> tuple[int, int] | None:
        """The second model's row, and the place among its frames, of the video frame
        the first trajectory's ``row`` shows (its frame ``within``); None when the second
        model did not encode that frame."""
        if self.model is None or self.reference is None:
            return None
        return self.model.trajectory.position_of_frame(self.reference.frame_at(row, within))

    def first_position(self, second_row: int) -> tuple[int, int]:
        """The first trajectory's row and place that show the first frame of the second
        model's ``second_row``; when no row covers it, the last row starting before it."""
        assert self.model is not None and self.reference is not None
        frame = self.model.trajectory.frames_of(second_row)[0]
        reference = self.reference
        row = int(np.clip(np.searchsorted(reference.frame_index, frame, side="right") - 1,
                          0, len(reference) - 1))
        first, last = reference.frames_of(row)
        return row, int(np.clip(frame - first, 0, last - first))

    def describe(self, second_row: int) -> str:
        """A caption for the second model's reconstruction of its row ``second_row``."""
        if self.model is None:
            return ""
        psnr = self.model.trajectory.psnr_db
        measured = "" if psnr is None else f"  ·  PSNR {psnr[second_row]:.1f} dB"
        return f"{self.model.name}{measured}"
