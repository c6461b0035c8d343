"""The latent map bound to the state: it draws what the state holds, and what the user
does on it (click, drag the probe or a point, draw a path, right-click) becomes a change
of the state. Map positions become latents through the shown layout's inverse."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Signal

from explorer.latent.growth import GrowingLayout
from explorer.state.app import AppState
from explorer.state.colouring import PointColours
from explorer.ui.latent_map import LatentMap

GROWTH_REDRAW_MS = 200  # the growing trajectory is redrawn at most this often
VARIANCE_LIMIT = 50_000_000  # latent numbers read on the GUI thread for the axis labels


class MapBinding(QObject):
    """Connects one :class:`LatentMap` to one :class:`AppState`."""

    pathDrawn = Signal()
    """The user drew a path: it is now the clip."""
    aspectLocked = Signal(bool)
    """Whether the shown layout keeps one unit as long across as up."""

    def __init__(self, state: AppState, latent_map: LatentMap) -> None:
        super().__init__(latent_map)
        self.state, self.map = state, latent_map
        self._probe_rest: np.ndarray | None = None  # the probe's latent before a drag
        self._dragging = False
        self._shown: str | None = None  # the kind of layout drawn
        self._locked = {"pca": True}  # by kind: on for PCA, where distances mean something
        self._shares: dict[str, object] = {}  # axis shares of the open layouts, by kind
        self._growth = GrowingLayout()
        self._growth_drawn = QElapsedTimer()  # since the growing trajectory was last drawn
        latent_map.frameClicked.connect(state.set_frame)
        latent_map.probeMoved.connect(self._drag_probe)
        latent_map.pointDragged.connect(self._drag_point)
        latent_map.probeReleased.connect(self._release)
        latent_map.pointReleased.connect(self._release)
        latent_map.pathDrawn.connect(self._draw_path)
        latent_map.lassoDrawn.connect(self._select_inside)
        latent_map.keyframeAtPoint.connect(self._add_point_keyframe)
        latent_map.keyframeAtPosition.connect(self._add_position_keyframe)
        latent_map.getPlotItem().vb.sigRangeChanged.connect(self._remember_view)
        latent_map.categoryToggled.connect(self._toggle_video)
        latent_map.describe_point = self._describe_row

    # --- the state, drawn -------------------------------------------------------------

    def on_state_changed(self, aspect: str) -> None:
        if aspect == "documents":
            self._shares.clear()
            self._growth = GrowingLayout()
            self._growth_drawn.invalidate()  # the first batch of a new video is drawn at once
            self._shown = None
            self._show_layout()
        elif aspect == "projection":
            self._show_layout()
        elif aspect == "frame":
            self.map.set_current(self.state.frame)
        elif aspect == "probe" and not self._dragging:  # undo, a session, P: not a drag
            self._probe_rest = self.state.probe
            self._place_probe()
        elif aspect in ("clip", "interpolation"):
            self._draw_clip()
        elif aspect == "points":
            self._draw_points(fit=False)
        elif aspect == "selection":
            self._draw_selection()

    def _draw_points(self, fit: bool) -> None:
        """The shown layout's points, coloured and filtered as the state says."""
        projection, state = self.state.projection, self.state
        library = state.library
        self.map.set_trajectory(projection.embedding, state.point_colours, fit=fit,
                                shown=state.shown_rows,
                                groups=None if library is None else library.row_video)
        self.map.show_hidden(state.hidden_videos)

    def _show_layout(self) -> None:
        """Draw the shown layout, in the view it had last time (fitted the first time)."""
        projection, trajectory = self.state.projection, self.state.trajectory
        if projection is None or trajectory is None:
            self.map.set_trajectory(np.zeros((0, 2)), PointColours(np.zeros(0), "time (s)"),
                                    fit=False)
            return
        kind = projection.kind
        self._shown = None  # the range changes below belong to no layout yet
        self.map.set_aspect_locked(self._locked.get(kind, False))
        self.aspectLocked.emit(self._locked.get(kind, False))
        self._draw_points(fit=False)
        self.map.set_axis_names(*self._axis_names(projection, trajectory))
        self.map.set_current(self.state.frame)
        self._draw_clip()
        self._draw_selection()
        self._place_probe()
        view = self.state.view_ranges.get(kind)
        if view is None:
            self.map.fit_view()
        else:
            self.map.setRange(xRange=view[0], yRange=view[1], padding=0)
        self._shown = kind
        self._remember_view()

    def _axis_names(self, projection, trajectory) -> tuple[str, str]:
        """"PCA 1 (42% of variance)"; for other layouts, just their names."""
        from explorer.latent.projection import variance_explained  # loaded by the worker

        name = projection.kind.upper()
        if name not in self._shares:  # read once per layout, not at every switch back
            small = trajectory.mu.size <= VARIANCE_LIMIT  # else too slow for the GUI thread
            self._shares[name] = variance_explained(projection, trajectory.mu) if small else None
        shares = self._shares[name]
        if shares is None:
            return f"{name} 1", f"{name} 2"
        first, second = (f"{name} {axis + 1} ({share:.0%} of variance)"
                         for axis, share in enumerate(shares))
        return first, second

    def _place_probe(self) -> None:
        projection = self.state.projection
        if projection is None:
            return
        if self.state.probe is None:
            layout = projection.embedding  # by column: 1 ms at 1M rows, not 50 ms
            x, y = float(layout[:, 0].mean()), float(layout[:, 1].mean())
        else:
            x, y = projection.project_new(self.state.probe[None])[0]
        self.map.place_probe(float(x), float(y))

    def _draw_clip(self) -> None:
        """The clip's path and keyframes, in the shown layout."""
        projection, clip = self.state.projection, self.state.clip
        path = self.state.clip_path
        if projection is None or path is None:
            self.map.show_path(None)
        else:
            self.map.show_path(projection.project_new(path.latents))
        if projection is not None and clip.keyframes:
            latents = np.stack([keyframe.latent for keyframe in clip.keyframes])
            self.map.show_keyframes(projection.project_new(latents))
        else:
            self.map.show_keyframes(np.zeros((0, 2)))

    def lock_aspect(self, locked: bool) -> None:
        """The user's choice for the shown layout, kept for it."""
        kind = self.state.projection_kind
        self._locked[kind] = locked
        self.map.set_aspect_locked(locked)

    def show_playhead(self, latent: np.ndarray | None) -> None:
        """Mark the clip preview's current latent on the map (None: the preview ended)."""
        projection = self.state.projection
        if latent is None or projection is None:
            self.map.show_playhead(None)
        else:
            x, y = projection.project_new(np.asarray(latent)[None])[0]
            self.map.show_playhead((float(x), float(y)))

    def _remember_view(self, *_args) -> None:
        if self._shown is not None:
            (x0, x1), (y0, y1) = self.map.viewRange()
            self.state.remember_view(self._shown, ((x0, x1), (y0, y1)))

    def show_growth(self, batch: np.ndarray) -> None:
        """Draw the part of the video encoded so far (a batch more)."""
        self._growth.add(batch)
        if self._growth_drawn.isValid() and self._growth_drawn.elapsed() < GROWTH_REDRAW_MS:
            return  # redrawing every batch of a long video would cost the GUI quadratic time
        self._growth_drawn.start()
        embedding = self._growth.embedding
        self.map.set_trajectory(embedding, PointColours(np.arange(len(embedding), dtype=float),
                                                        "frames encoded"))

    def _describe_row(self, row: int) -> str:
        """A point's caption: its frame, and in a library its video."""
        if self.state.trajectory is None or row >= len(self.state.trajectory):
            return f"frame {row}"  # a video still encoding: rows are its frames so far
        return self.state.describe_frame(self.state.frame_number(row))

    # --- what the user does -----------------------------------------------------------

    def _toggle_video(self, position: int, shown: bool) -> None:
        self.state.set_video_hidden(position, not shown)
        self.map.show_hidden(self.state.hidden_videos)  # the current video stays shown

    def probe_to_current(self) -> None:
        """Put the probe on the current frame's point (its latent exactly)."""
        if self.state.trajectory is None or self.state.projection is None:
            return
        row = self.state.frame
        self.map.place_probe(*self.map.point_position(row))
        self.state.set_probe(self.state.trajectory.mu[row])

    def _drag_probe(self, x: float, y: float) -> None:
        self._move_probe_to(x, y, None)

    def _drag_point(self, row: int, x: float, y: float) -> None:
        """A frame's own point dragged: components the 2-D view cannot show stay as they
        were in that frame. A video autoencoder's step becomes the current one: the probe
        decodes as that step would, after the steps before it."""
        if self.state.trajectory.is_temporal and self.state.frame != row:
            self.state.set_frame(row)
        self.map.place_probe(x, y)
        self._move_probe_to(x, y, self.state.trajectory.mu[row])

    def _move_probe_to(self, x: float, y: float, base: np.ndarray | None) -> None:
        projection = self.state.projection
        if projection is None:
            return
        self._dragging = True
        try:
            self.state.set_probe(projection.inverse(np.array([[x, y]]), base=base)[0])
        finally:
            self._dragging = False

    def _release(self, *_args) -> None:
        self.state.record_probe_move(self._probe_rest)
        self._probe_rest = self.state.probe

    def _draw_path(self, points: np.ndarray) -> None:
        """A freehand stroke: even arc-length samples, mapped back through the inverse."""
        from explorer.latent.interpolate import resample_polyline

        projection = self.state.projection
        if projection is None:
            return
        samples = resample_polyline(points, self.state.interpolation.steps)
        self.state.edit_clip(self.state.clip.with_drawn(projection.inverse(samples)),
                             "Draw path")
        self.pathDrawn.emit()

    def _select_inside(self, polygon: np.ndarray) -> None:
        """A lasso: the shown points inside it become the selection."""
        from explorer.latent.spatial import inside_polygon

        projection = self.state.projection
        if projection is None:
            return
        inside = inside_polygon(projection.embedding, polygon)
        shown = self.state.shown_rows
        self.state.set_selection(np.flatnonzero(inside if shown is None else inside & shown))

    def _draw_selection(self) -> None:
        projection, rows = self.state.projection, self.state.selection
        points = np.zeros((0, 2)) if projection is None or not rows else \
            projection.embedding[np.asarray(rows)]
        self.map.show_selection(points)

    def _add_point_keyframe(self, row: int) -> None:
        keyframe = self.state.keyframe_at_row(row)
        self.state.edit_clip(self.state.clip.with_keyframes((*self.state.clip.keyframes,
                                                             keyframe)),
                             f"Add {self.state.describe_frame(keyframe.frame)}")

    def _add_position_keyframe(self, x: float, y: float) -> None:
        from explorer.latent.keyframes import Keyframe

        projection = self.state.projection
        if projection is not None:
            latent = projection.inverse(np.array([[x, y]]))[0].astype(np.float32)
            self.state.edit_clip(self.state.clip.with_keyframes(
                (*self.state.clip.keyframes, Keyframe(latent))), "Add map position")
