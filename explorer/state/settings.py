"""The user's clip settings: how to travel between keyframes, and how to export.

Pydantic records with the bounds of the CLI's options, so a session file's values are
checked when it loads (:mod:`explorer.session.document`) and the window's controls take
their ranges from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field
from pydantic.fields import FieldInfo

from explorer.latent.interpolate import Easing, Method, steps_for
from explorer.schema import FiniteFloat, Strict
from explorer.video.formats import ClipFormat, ResizeFilter

if TYPE_CHECKING:  # the export pipeline loads OpenCV and PyAV: not at the window's start
    from explorer.pipeline.export import ExportSettings

SECONDS = (0.1, 600.0)
FPS = (1.0, 240.0)
SIZE = (16, 8192)
QUALITY = (0, 51)


def _between(bounds: tuple[float, float]) -> FieldInfo:
    return Field(ge=bounds[0], le=bounds[1])


class InterpolationSettings(Strict):
    """How a clip travels between its keyframes, and how long it takes."""

    method: Method = "slerp"
    easing: Easing = "linear"
    seconds: Annotated[FiniteFloat, _between(SECONDS)] = 2.0
    fps: Annotated[FiniteFloat, _between(FPS)] = 24.0

    @property
    def steps(self) -> int:
        return steps_for(self.seconds, self.fps)


class ExportChoices(Strict):
    """What the Export Clip dialog asked last time (remembered in sessions)."""

    format: ClipFormat = "mp4"
    fps: Annotated[FiniteFloat, _between(FPS)] | None = None
    """None: the clip's own frame rate (the interpolation settings')."""
    size: Annotated[int, _between(SIZE)] | None = 256
    """Longest side in pixels; None keeps the model's frame size."""
    resize_filter: ResizeFilter = "lanczos"
    quality: Annotated[int, _between(QUALITY)] = 23
    side_by_side: bool = False
    frame_counter: bool = False
    ping_pong: bool = False

    def settings(self, clip_fps: float, overwrite: bool = False) -> ExportSettings:
        """The export pipeline's settings for a clip whose own frame rate is ``clip_fps``."""
        from explorer.pipeline.export import ExportSettings

        return ExportSettings(
            fps=self.fps or clip_fps,
            size=self.size,
            resize_filter=self.resize_filter,
            quality=self.quality,
            side_by_side=self.side_by_side,
            frame_counter=self.frame_counter,
            ping_pong=self.ping_pong,
            overwrite=overwrite,
        )


ViewRange = tuple[tuple[float, float], tuple[float, float]]
"""A map view: (x from, x to), (y from, y to)."""

Colouring = Literal["time", "video", "psnr", "segment", "anomaly"]
"""What the map's point colours show (see :mod:`explorer.state.colouring`)."""
