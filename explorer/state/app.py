"""The application state: what the user is looking at, and every change to it.

One :class:`AppState` per window. It holds lists of open videos and models (the window
shows one of each today), the 2-D layouts of their latents, the current frame, the probe,
the clip being built, and the user's settings. Every change goes through a method that
emits :attr:`AppState.changed` with the aspect that changed (see :data:`ASPECTS`); edits
the user can take back go through :attr:`AppState.history`. Values held here are
immutable (trajectories, keyframes, clips, settings), so the autosave thread and the
inference worker can hold them while the user goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import ExplorerError
from explorer.latent.interpolate import path_latents
from explorer.latent.keyframes import ClipPath, Keyframe, clip_path
from explorer.latent.trajectory import Trajectory
from explorer.library.parts import JoinedVideos, joined_videos
from explorer.model.video_vae.rule import FrameRule
from explorer.session.document import Session
from explorer.state.colouring import Findings, PointColours, colourings, point_colours
from explorer.state.events import Event
from explorer.state.settings import Colouring, ExportChoices, InterpolationSettings, ViewRange
from explorer.state.undo import Edit, UndoStack

if TYPE_CHECKING:  # scipy, under the projections, costs half a second at start-up
    from explorer.latent.projection import Projection

ASPECTS = ("documents", "model", "layouts", "projection", "frame", "probe", "clip",
           "interpolation", "export", "points", "findings", "selection")
"""What :attr:`AppState.changed` names: the open videos and models (``documents``), what a
model says of itself (``model``), the layouts fitted and the one shown, the current frame,
the probe, the clip (keyframes, drawn path), the two groups of settings, how the map
draws its points (``points``: their colouring, a library's hidden videos), the scenes and
anomalies found (``findings``) and the rows selected on the map (``selection``)."""

NO_PATH = "Add two or more keyframes, or Shift+drag on the map to draw a path."


@dataclass(frozen=True)
class LoadedVideo:
    path: Path
    trajectory: Trajectory


@dataclass(frozen=True)
class LoadedModel:
    spec: Path
    """A model file or folder, or a plugin's ``module:factory``."""
    info: Mapping[str, Any] = field(default_factory=dict)
    """What the model says of itself (kind, sizes, device), once it is open."""


@dataclass(frozen=True, eq=False)
class Clip:
    """The clip being built: keyframes, or a path drawn freehand on the map, which is used
    instead of the keyframes until they change again."""

    keyframes: tuple[Keyframe, ...] = ()
    drawn: np.ndarray | None = None
    """[M, D] latents of a drawn path."""
    shift: np.ndarray | None = None
    """[D] added to every latent of the path: a direction times an amount."""

    def with_keyframes(self, keyframes: tuple[Keyframe, ...]) -> Clip:
        return Clip(tuple(keyframes), None, self.shift)

    def with_drawn(self, latents: np.ndarray) -> Clip:
        return Clip(self.keyframes, np.asarray(latents, np.float32), self.shift)

    def with_shift(self, shift: np.ndarray | None) -> Clip:
        return Clip(self.keyframes, self.drawn,
                    None if shift is None else np.asarray(shift, np.float32))

    def path(self, settings: InterpolationSettings,
             rule: FrameRule | None = None) -> tuple[ClipPath | None, str]:
        """The path the clip makes with ``settings``, and one line saying what it is.

        With a temporal model's ``rule`` the path's latents are steps: as many as the
        clip's frames need, each decoding to several frames.
        """
        if self.drawn is not None:
            return (self._shifted(ClipPath(self.drawn, [None] * len(self.drawn))),
                    f"Drawn path: {_length(len(self.drawn), rule)}{self._moved}.")
        if len(self.keyframes) < 2:
            return None, NO_PATH
        steps = path_latents(settings.steps, rule)
        try:
            path = clip_path(self.keyframes, steps, settings.method, settings.easing)
        except ExplorerError as exc:
            return None, str(exc)
        return (self._shifted(path),
                f"{len(self.keyframes)} keyframes, {_length(steps, rule)}{self._moved}.")

    def _shifted(self, path: ClipPath) -> ClipPath:
        if self.shift is None:
            return path
        moved = (path.latents + self.shift).astype(np.float32)
        return ClipPath(moved, [None] * len(moved))  # no latent is a frame's any more

    @property
    def _moved(self) -> str:
        return "" if self.shift is None else ", moved along a direction"


def _length(latents: int, rule: FrameRule | None) -> str:
    """A path's length: its frames, and a temporal model's steps."""
    if rule is None:
        return f"{latents} frames"
    return f"{latents} latent steps = {rule.frames_for(latents)} frames"


class AppState:
    """See the module docstring. Only the GUI thread changes it."""

    def __init__(self) -> None:
        self.changed = Event()
        """Emits the name of the aspect that changed, one of :data:`ASPECTS`."""
        self.history = UndoStack()
        self.videos: tuple[LoadedVideo, ...] = ()
        self.models: tuple[LoadedModel, ...] = ()
        self.layouts: dict[str, Projection] = {}
        """The layouts fitted for the open trajectories, by kind (``pca``, ``umap``)."""
        self.projection_kind = "pca"
        self.view_ranges: dict[str, ViewRange] = {}
        """Where the map looked in each layout, so switching back returns there."""
        self.frame = 0
        """The row of the trajectory on screen."""
        self.within = 0
        """Which of the row's frames is on screen: 0, but for a video autoencoder's latent
        step, which covers several."""
        self.probe: np.ndarray | None = None
        self.clip = Clip()
        self.interpolation = InterpolationSettings()
        self.export = ExportChoices()
        self.selection: tuple[int, ...] = ()
        self.colouring: Colouring = "time"
        self.hidden_videos: frozenset[int] = frozenset()
        """A library's videos whose points the map leaves out, by position."""
        self.findings = Findings()
        self.directions: dict[str, np.ndarray] = {}
        """Directions the user made or loaded, by name: flat [D] float32."""
        self._videos: tuple[Trajectory, JoinedVideos | None] | None = None
        self._path: tuple[Clip, InterpolationSettings, FrameRule | None, ClipPath | None,
                          str] | None = None

    # --- reading -----------------------------------------------------------------------

    @property
    def trajectory(self) -> Trajectory | None:
        return self.videos[0].trajectory if self.videos else None

    @property
    def video_path(self) -> Path | None:
        return self.videos[0].path if self.videos else None

    @property
    def model(self) -> LoadedModel | None:
        return self.models[0] if self.models else None

    @property
    def projection(self) -> Projection | None:
        return self.layouts.get(self.projection_kind)

    @property
    def library(self) -> JoinedVideos | None:
        """The videos of an open library (None for one video)."""
        trajectory = self.trajectory
        if trajectory is None:
            return None
        if self._videos is None or self._videos[0] is not trajectory:
            self._videos = (trajectory, joined_videos(trajectory))
        return self._videos[1]

    @property
    def colourings(self) -> tuple[Colouring, ...]:
        """What the map's colours may show for the open trajectory."""
        if self.trajectory is None:
            return ()
        return colourings(self.trajectory, self.library, self.findings)

    @property
    def point_colours(self) -> PointColours | None:
        if self.trajectory is None:
            return None
        return point_colours(self.colouring, self.trajectory, self.library, self.findings)

    @property
    def shown_rows(self) -> np.ndarray | None:
        """[N] bool, the rows of the videos not hidden; None when every row is shown."""
        library = self.library
        if library is None or not self.hidden_videos:
            return None
        return ~np.isin(library.row_video, list(self.hidden_videos))

    def describe_frame(self, frame: int) -> str:
        """"frame 12", or in a library "bikes.mp4, frame 12"."""
        library = self.library
        return f"frame {frame}" if library is None else library.label(frame)

    @property
    def frame_rule(self) -> FrameRule | None:
        """How a video autoencoder's latent steps cover frames (None: one latent a frame)."""
        return self.trajectory.frame_rule if self.trajectory is not None else None

    @property
    def clip_path(self) -> ClipPath | None:
        return self._clip_path()[0]

    @property
    def clip_message(self) -> str:
        return self._clip_path()[1]

    def _clip_path(self) -> tuple[ClipPath | None, str]:
        cached = self._path
        rule = self.frame_rule
        if (cached is None or cached[0] is not self.clip or cached[1] != self.interpolation
                or cached[2] != rule):
            path = self.clip.path(self.interpolation, rule)
            cached = (self.clip, self.interpolation, rule, *path)
            self._path = cached
        return cached[3], cached[4]

    def frame_number(self, row: int) -> int:
        """The video frame number of trajectory row ``row``."""
        return int(self.trajectory.frame_index[row])

    def row_of_frame(self, frame: int) -> int | None:
        """The trajectory row covering video frame ``frame`` (a latent step may cover
        several), or None when none does."""
        return None if self.trajectory is None else self.trajectory.row_of_frame(frame)

    def keyframe_at_row(self, row: int) -> Keyframe:
        """The trajectory row's latent as a keyframe that remembers its frame."""
        latent = self.trajectory.mu[row].astype(np.float32)
        return Keyframe(latent, self.frame_number(row))

    # --- changing: documents -----------------------------------------------------------

    def open(self, video: LoadedVideo, model: LoadedModel, pca: Projection) -> None:
        """Show ``video`` encoded by ``model``, laid out by ``pca``; the clip, probe and
        other layouts of what was open before mean nothing here and are dropped. The
        user's settings stay."""
        self.videos, self.models = (video,), (model,)
        self.layouts, self.projection_kind, self.view_ranges = {"pca": pca}, "pca", {}
        self.frame, self.within, self.probe, self.clip = 0, 0, None, Clip()
        self.selection, self.hidden_videos, self.findings = (), frozenset(), Findings()
        self.directions = {}
        if self.library is not None:  # what a library is opened to see first
            self.colouring = "video"
        elif self.colouring not in self.colourings:
            self.colouring = "time"
        self.history.clear()
        self.changed.emit("documents")

    def close(self) -> None:
        """Nothing open (another video is being opened)."""
        self.videos, self.models, self.layouts, self.view_ranges = (), (), {}, {}
        self.frame, self.within, self.probe, self.clip = 0, 0, None, Clip()
        self.selection, self.hidden_videos, self.findings = (), frozenset(), Findings()
        self.directions = {}
        self.history.clear()
        self.changed.emit("documents")

    def set_model_info(self, info: Mapping[str, Any]) -> None:
        if self.models:
            self.models = (LoadedModel(self.models[0].spec, dict(info)), *self.models[1:])
            self.changed.emit("model")

    def add_layout(self, projection: Projection) -> None:
        """A layout fitted for the open trajectories (shown by :meth:`show_layout`)."""
        self.layouts = {**self.layouts, projection.kind: projection}
        self.changed.emit("layouts")

    def show_layout(self, kind: str) -> None:
        if kind not in self.layouts:
            raise ValueError(f"no {kind} layout has been fitted")
        if kind != self.projection_kind:
            self.projection_kind = kind
            self.changed.emit("projection")

    def remember_view(self, kind: str, view: ViewRange) -> None:
        """Keep the view of layout ``kind`` as plain floats (a session writes it as JSON;
        a view set from numpy's numbers reports them)."""
        (x0, x1), (y0, y1) = view
        self.view_ranges[kind] = ((float(x0), float(x1)), (float(y0), float(y1)))

    def set_colouring(self, kind: Colouring) -> None:
        if kind not in self.colourings:
            raise ValueError(f"the open trajectory offers no {kind} colouring")
        if kind != self.colouring:
            self.colouring = kind
            self.changed.emit("points")

    def set_findings(self, findings: Findings, colouring: Colouring | None = None) -> None:
        """What an analysis found (scenes, anomalies), shown as ``colouring`` if given."""
        self.findings = findings
        if colouring in self.colourings:
            self.colouring = colouring
        elif self.colouring not in self.colourings:
            self.colouring = "time"
        self.changed.emit("findings")
        self.changed.emit("points")

    def rename_scene(self, scene: int, name: str) -> None:
        names = list(self.findings.scene_names)
        if 0 <= scene < len(names) and name.strip() and name != names[scene]:
            names[scene] = name.strip()
            self.set_findings(replace(self.findings, scene_names=tuple(names)))

    def add_direction(self, name: str, direction: np.ndarray) -> None:
        """Keep a direction (a new one under a name in use replaces it)."""
        self.directions = {**self.directions, name: np.asarray(direction, np.float32)}
        self.changed.emit("findings")

    def set_selection(self, rows: np.ndarray | tuple[int, ...]) -> None:
        """Rows the user picked on the map (a lasso) or the timeline."""
        self.selection = tuple(int(row) for row in rows)
        self.changed.emit("selection")

    def set_video_hidden(self, position: int, hidden: bool) -> None:
        """Leave a library's video ``position`` off the map, or put it back. The current
        video always stays: its frames are on screen."""
        library = self.library
        if library is None or not 0 <= position < len(library):
            return
        current = int(library.row_video[self.frame])
        wanted = (self.hidden_videos | {position} if hidden and position != current
                  else self.hidden_videos - {position})
        if wanted != self.hidden_videos:
            self.hidden_videos = frozenset(wanted)
            self.changed.emit("points")

    # --- changing: what the user looks at ----------------------------------------------

    def set_frame(self, row: int, within: int = 0) -> None:
        """Show trajectory row ``row``, and of a latent step its frame ``within``."""
        if self.trajectory is None:
            return
        row = int(np.clip(row, 0, len(self.trajectory) - 1))
        first, last = self.trajectory.frames_of(row)
        within = int(np.clip(within, 0, last - first))
        if (row, within) != (self.frame, self.within):
            self.frame, self.within = row, within
            self.changed.emit("frame")
            self._show_current_video()

    def _show_current_video(self) -> None:
        """A hidden video whose frame the user goes to (a keyframe, the timeline) shows."""
        library = self.library
        if library is not None and self.hidden_videos:
            self.set_video_hidden(int(library.row_video[self.frame]), False)

    def set_probe(self, latent: np.ndarray | None) -> None:
        self.probe = None if latent is None else np.asarray(latent, np.float32)
        self.changed.emit("probe")

    def record_probe_move(self, before: np.ndarray | None) -> None:
        """The user let go of the probe, which was at ``before`` when the drag began."""
        after = self.probe
        if before is not None and after is not None and not np.array_equal(before, after):
            self.history.push(Edit("Move probe", self.set_probe, before, after))

    def edit_clip(self, clip: Clip, text: str) -> None:
        """The user changed the clip (undoable, described by ``text``)."""
        before = self.clip
        self._set_clip(clip)
        self.history.push(Edit(text, self._set_clip, before, clip))

    def _set_clip(self, clip: Clip) -> None:
        self.clip = clip
        self.changed.emit("clip")

    def set_interpolation(self, settings: InterpolationSettings) -> None:
        if settings != self.interpolation:
            self.interpolation = settings
            self.changed.emit("interpolation")

    def set_export(self, choices: ExportChoices) -> None:
        if choices != self.export:
            self.export = choices
            self.changed.emit("export")

    # --- sessions ----------------------------------------------------------------------

    def to_session(self) -> Session | None:
        """Everything needed to come back here, or None while nothing is open."""
        from explorer.fileio import file_fingerprint
        from explorer.model.identity import model_identity, model_location

        trajectory = self.trajectory
        if trajectory is None:
            return None
        # Encoding recorded both identities: hashing a multi-GB model again at every
        # autosave would stall the window.
        meta = trajectory.meta
        video, model = self.video_path, self.model.spec
        fingerprint = meta.get("video", {}).get("fingerprint") or (
            file_fingerprint(video) if video.is_file() else "")  # a video never seen here
        identity = meta.get("model", {}).get("sha256") or model_identity(model)
        view = self.view_ranges.get(self.projection_kind)
        return Session(
            video_path=str(video.resolve()),
            video_fingerprint=fingerprint,
            model_path=model_location(model),
            model_sha256=identity or "",
            trajectory=trajectory,
            projections={kind: layout.state() for kind, layout in self.layouts.items()},
            projection_kind=self.projection_kind,
            keyframes=list(self.clip.keyframes),
            probe=self.probe,
            drawn_path=self.clip.drawn,
            interpolation=self.interpolation,
            export=self.export,
            current_frame=self.frame,
            view_range=None if view is None else [list(view[0]), list(view[1])],
            directions=dict(self.directions),
            path_shift=self.clip.shift,
            scenes=self.findings.scenes,
            scene_names=self.findings.scene_names,
        )

    @classmethod
    def from_session(cls, session: Session) -> AppState:
        """The state a session describes, on the trajectory it saved."""
        from explorer.latent.projection import PCAProjection, projection_from_state

        state = cls()
        trajectory = session.trajectory
        pca_state = session.projections.get("pca")
        pca = (PCAProjection.fit(trajectory.mu) if pca_state is None
               else projection_from_state(pca_state, trajectory.mu))
        state.open(LoadedVideo(Path(session.video_path), trajectory),
                   LoadedModel(Path(session.model_path)), pca)
        state.restore(session)
        return state

    def restore(self, session: Session) -> None:
        """Put back a session's layouts, clip, probe, settings and view onto the open
        trajectory: the session's own, or the same video encoded again (then layouts and a
        drawn path are dropped, and keyframes on frames take the new latents)."""
        from explorer.latent.projection import projection_from_state

        trajectory = self.trajectory
        same_latents = session.trajectory is trajectory
        if same_latents:
            self.layouts = {**self.layouts, **{
                kind: projection_from_state(state, trajectory.mu)
                for kind, state in session.projections.items() if kind != "pca"}}
            if session.view_range is not None:
                (x0, x1), (y0, y1) = session.view_range
                self.view_ranges[session.projection_kind] = ((x0, x1), (y0, y1))
        keyframes = []
        for keyframe in session.keyframes:
            if keyframe.frame is not None and not same_latents:
                row = self.row_of_frame(keyframe.frame)
                if row is None:
                    continue  # that frame is no longer in the (re-encoded) video
                keyframe = self.keyframe_at_row(row)
            keyframes.append(keyframe)
        self.interpolation, self.export = session.interpolation, session.export
        width = trajectory.mu.shape[1]
        shift = session.path_shift
        self.clip = Clip(tuple(keyframes), session.drawn_path if same_latents else None,
                         shift if shift is not None and shift.shape == (width,) else None)
        self.directions = {name: direction for name, direction in session.directions.items()
                           if direction.shape == (width,)}
        if same_latents and session.scenes is not None:
            self.findings = Findings(session.scenes, session.scene_names)
        self.frame, self.within = min(session.current_frame, len(trajectory) - 1), 0
        if session.probe is not None and session.probe.shape == trajectory.mu.shape[1:]:
            self.probe = session.probe
        if session.projection_kind in self.layouts:
            self.projection_kind = session.projection_kind
        self.history.clear()
        for aspect in ("layouts", "projection", "interpolation", "export", "clip", "frame",
                       "probe", "findings", "points"):
            self.changed.emit(aspect)
