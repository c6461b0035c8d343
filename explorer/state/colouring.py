"""What the map's point colours show: a value per trajectory row, continuous (time,
reconstruction PSNR) or a category (a library's video), which the map turns into colours
with a colour bar or a legend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.latent.trajectory import Trajectory
from explorer.state.settings import Colouring

if TYPE_CHECKING:
    from explorer.analysis.anomalies import AnomalyScores
    from explorer.analysis.segments import Segmentation
    from explorer.library.parts import JoinedVideos


@dataclass(frozen=True, eq=False)
class Findings:
    """What the user had the trajectory analysed for: its scenes (segments, with the
    names the user gave them) and its frames' anomaly scores."""

    scenes: Segmentation | None = None
    """Each row's scene (``segment``), numbered in time order."""
    scene_names: tuple[str, ...] = ()
    anomalies: AnomalyScores | None = None

COLOURING_NAMES: dict[Colouring, str] = {
    "time": "Time",
    "video": "Video",
    "psnr": "Reconstruction PSNR",
    "segment": "Scene",
    "anomaly": "Anomaly score",
}
"""What the user picks from, by the colouring's key."""


@dataclass(frozen=True, eq=False)
class PointColours:
    values: np.ndarray
    """[N]: each row's value, or its category's number."""
    title: str
    """What the colour bar or legend is headed."""
    categories: tuple[str, ...] = ()
    """The categories' names, when ``values`` number them."""

    @property
    def categorical(self) -> bool:
        return bool(self.categories)


def colourings(trajectory: Trajectory, videos: JoinedVideos | None,
               findings: Findings = Findings()) -> tuple[Colouring, ...]:
    """The colourings this trajectory offers: time always, a library's videos, the
    reconstruction PSNR where encoding measured it, and what the user found."""
    offered: list[Colouring] = ["time"]
    if videos is not None:
        offered.append("video")
    if trajectory.psnr_db is not None:
        offered.append("psnr")
    if findings.scenes is not None:
        offered.append("segment")
    if findings.anomalies is not None:
        offered.append("anomaly")
    return tuple(offered)


def point_colours(kind: Colouring, trajectory: Trajectory, videos: JoinedVideos | None,
                  findings: Findings = Findings()) -> PointColours:
    """The values that colour the map's points; ``kind`` falls back to time where this
    trajectory does not offer it."""
    if kind == "video" and videos is not None:
        return PointColours(videos.row_video, "video", videos.names)
    if kind == "psnr" and trajectory.psnr_db is not None:
        return PointColours(np.asarray(trajectory.psnr_db, np.float64), "PSNR (dB)")
    if kind == "segment" and findings.scenes is not None:
        return PointColours(findings.scenes.segment, "scene", findings.scene_names)
    if kind == "anomaly" and findings.anomalies is not None:
        return PointColours(findings.anomalies.score, "anomaly score")
    title = "time in each video (s)" if videos is not None else "time (s)"
    return PointColours(np.asarray(trajectory.time_s, np.float64), title)
