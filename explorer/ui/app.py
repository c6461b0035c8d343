"""Starting the app: the window first, heavy imports and model loading after, on the worker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QtMsgType, Slot, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QWidget

from explorer import __version__
from explorer.errors import ExplorerError
from explorer.paths import demo_model_path, demo_video_path
from explorer.ui.about_dialog import app_icon

SCREENSHOT_TIMEOUT_MS = 180_000
DESKTOP_ID = "io.github.latent_explorer.LatentExplorer"


def run_app(
    video: Path | None = None,
    model: str | Path | None = None,
    screenshot: Path | None = None,
    session: Path | None = None,
    trust_code: bool = False,
) -> int:
    """Open the main window on ``video`` and ``model`` (the bundled demo by default), or on
    a saved ``session``. ``video`` may be a library's folder, opened with its own model
    unless ``model`` is given. ``model`` is any spec ``explorer.model.open.open_model`` takes.
    ``trust_code`` lets the model named here, or the session's, run if it is code."""
    video = Path(video or demo_video_path())
    if not video.exists():
        raise ExplorerError(f"video not found: {video}")
    model = Path(model or _library_model(video) or demo_model_path())
    looks_like_a_path = len(model.parts) > 1 or model.suffix
    if looks_like_a_path and not model.exists():  # plugin specs are resolved on the worker
        raise ExplorerError(f"model not found: {model}")
    _choose_platform(headless_ok=screenshot is not None)
    trusted = [model] if trust_code else []
    if session is not None:
        from explorer.session.document import load_session

        saved = load_session(session)  # a bad file is a one-line error before any window opens
        if trust_code:  # what the user named on this command: the session's models
            trusted += [path for path in (saved.model_path, saved.compared_model_path) if path]

    from explorer.priority import leave_the_window_a_core
    from explorer.ui.collector import collect_on_gui_thread
    from explorer.ui.main_window import MainWindow

    leave_the_window_a_core()
    qInstallMessageHandler(_quiet_qt_messages)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Explorer")
    app.setOrganizationName("Latent Explorer")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName(DESKTOP_ID)  # Wayland's app id: finds the .desktop entry
    follow_palette(app)
    collect_on_gui_thread(app)
    window = MainWindow(video, model, interactive=screenshot is None, session=session,
                        recover=screenshot is None and session is None, trusted_code=trusted)
    window.show()
    outcome = {"code": 0}
    if screenshot is not None:
        _Screenshot(app, window, screenshot, outcome)
    QTimer.singleShot(0, window.start)
    code = app.exec()
    return outcome["code"] or code


def _library_model(path: Path) -> str | None:
    """The model a library's folder was encoded with; None for anything else."""
    from explorer.library.catalog import load_library
    from explorer.library.joined import is_library

    return load_library(path).model.path if is_library(path) else None


def _choose_platform(headless_ok: bool) -> None:
    """Without a display, a screenshot renders offscreen; a window is a clear error, not
    Qt's abort."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if not headless_ok:
        raise ExplorerError(
            "there is no display to open the window on (DISPLAY is not set); "
            "use --screenshot, or set QT_QPA_PLATFORM=offscreen"
        )
    os.environ["QT_QPA_PLATFORM"] = "offscreen"


# Harmless notes from Qt's platform plugins that would break the CLI's one-line errors.
_IGNORED_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)


def _quiet_qt_messages(kind: QtMsgType, _context, message: str) -> None:
    if message not in _IGNORED_QT_MESSAGES:
        print(message, file=sys.stderr)


def follow_palette(app: QApplication) -> None:
    """Give plots the system palette's colours, so light and dark desktops both look right."""
    import pyqtgraph as pg
    from PySide6.QtGui import QPalette

    palette = app.palette()
    pg.setConfigOptions(
        antialias=True,
        background=palette.color(QPalette.ColorRole.Base),
        foreground=palette.color(QPalette.ColorRole.Text),
    )


def recolour_plots(root: QWidget) -> None:
    """Plots already drawn take the palette's colours again (the desktop switched between
    light and dark while the app runs)."""
    import pyqtgraph as pg
    from PySide6.QtGui import QPalette

    follow_palette(QApplication.instance())
    palette = root.palette()
    text = palette.color(QPalette.ColorRole.Text)
    for plot in root.findChildren(pg.PlotWidget):
        plot.setBackground(palette.color(QPalette.ColorRole.Base))
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(text)
            axis.setTextPen(text)
        for item in plot.items():
            if isinstance(item, pg.GridItem):
                item.setPen(text)


class _Screenshot(QObject):
    """Saves the window once it is fully drawn, then quits; gives up on failure.

    A QObject in the GUI thread, so the worker's signals reach these slots there.
    """

    def __init__(self, app: QApplication, window, path: Path, outcome: dict) -> None:
        super().__init__(window)
        self._app, self._window, self._path, self._outcome = app, window, path, outcome
        window.ready.connect(self._on_ready)
        window.worker.failed.connect(self.fail)
        window.sessions.error.connect(self.fail)  # e.g. its video moved: nobody to ask where
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, self._time_out)

    @Slot()
    def _on_ready(self) -> None:
        QTimer.singleShot(300, self._save)

    @Slot()
    def _save(self) -> None:
        if self._window.latent_map.detail.pending:  # a large map's points are prepared
            QTimer.singleShot(50, self._save)
            return
        self._app.processEvents()
        if not self._window.grab().save(str(self._path)):
            self.fail(f"could not write screenshot {self._path}")
        self._window.close()

    @Slot(str)
    def fail(self, message: str) -> None:
        print(f"explorer: error: {message}", file=sys.stderr)
        self._outcome["code"] = 1
        self._window.close()

    @Slot()
    def _time_out(self) -> None:
        self.fail("the window was not ready in time for the screenshot")
