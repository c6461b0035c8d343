"""File › Export Map and Export Trajectory Table: the map as a PNG or SVG picture, and
the trajectory's table (frame, time, the map's x and y, PSNR, scene, anomaly score) as
CSV. Files are written beside their final name and moved into place, never half."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from explorer.fileio import atomic_output
from explorer.state.app import AppState
from explorer.ui.latent_map import LatentMap

MAP_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
TABLE_FILTER = "CSV table (*.csv);;Parquet table (*.parquet)"


def export_map(latent_map: LatentMap, path: Path) -> Path:
    """Write the map as drawn (its view, colours, key) to ``path``: SVG by its suffix
    (vector points and lines; a density image stays a picture), else PNG at twice the
    screen's resolution."""
    import pyqtgraph.exporters as exporters

    svg = path.suffix.lower() == ".svg"
    path = path if svg or path.suffix.lower() == ".png" else path.with_suffix(".png")
    with atomic_output(path) as temp:
        named = temp.with_suffix(path.suffix)  # the writers go by the suffix
        if svg:
            _render_svg(latent_map, named)
        else:
            item = latent_map.getPlotItem()
            exporter = exporters.ImageExporter(item)
            exporter.parameters()["width"] = int(item.sceneBoundingRect().width() * 2)
            exporter.export(str(named))
        named.replace(temp)
    return path


def _render_svg(latent_map: LatentMap, path: Path) -> None:
    """Qt's own SVG painter: pyqtgraph's SVG exporter fails on this Qt's paths."""
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(latent_map.size())
    generator.setViewBox(latent_map.rect())
    generator.setTitle("Latent Explorer map")
    painter = QPainter(generator)
    try:
        latent_map.render(painter)
    finally:
        painter.end()


def export_table(state: AppState, path: Path) -> Path:
    """The open trajectory's table, with the map's x and y of the layout shown: Parquet
    by its suffix (with each line's video, for a library), else CSV."""
    from explorer.analysis.table import write_trajectory_csv, write_trajectory_parquet
    from explorer.latent.projection import projection_meta

    projection, findings = state.projection, state.findings
    trajectory = state.trajectory.with_embedding(projection.embedding,
                                                 projection_meta(projection))
    parquet = path.suffix.lower() == ".parquet"
    path = path if parquet or path.suffix.lower() == ".csv" else path.with_suffix(".csv")
    write = write_trajectory_parquet if parquet else write_trajectory_csv
    write(path, trajectory, findings.scenes, findings.anomalies)
    return path


def ask_path(parent: QWidget, title: str, suggested: Path, file_filter: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), file_filter)
    return Path(path) if path else None
