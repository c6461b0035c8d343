"""Starting the app: the window first, heavy imports and model loading after, on the worker."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from explorer import __version__
from explorer.errors import ExplorerError
from explorer.paths import demo_model_path, demo_video_path

SCREENSHOT_TIMEOUT_MS = 180_000


def run_app(
    video: Path | None = None,
    model: Path | None = None,
    screenshot: Path | None = None,
    session: Path | None = None,
) -> int:
    """Open the main window on ``video`` and ``model`` (the bundled demo by default), or on
    a saved ``session``."""
    video = video or demo_video_path()
    model = model or demo_model_path()
    for path, what in ((video, "video"), (model, "model")):
        if not path.exists():
            raise ExplorerError(f"{what} not found: {path}")
    if session is not None:
        from explorer.session.document import load_session

        load_session(session)  # a bad file is a one-line error before any window opens

    from explorer.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Explorer")
    app.setOrganizationName("Latent Explorer")
    app.setApplicationVersion(__version__)
    follow_palette(app)
    window = MainWindow(video, model, interactive=screenshot is None, session=session,
                        recover=screenshot is None and session is None)
    window.show()
    outcome = {"code": 0}
    if screenshot is not None:
        _arrange_screenshot(app, window, screenshot, outcome)
    QTimer.singleShot(0, window.start)
    code = app.exec()
    return outcome["code"] or code


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


def _arrange_screenshot(app: QApplication, window, path: Path, outcome: dict) -> None:
    """Save the window once it is fully drawn, then quit; give up with an error on failure."""

    def save() -> None:
        app.processEvents()
        if not window.grab().save(str(path)):
            print(f"explorer: error: could not write screenshot {path}", file=sys.stderr)
            outcome["code"] = 1
        window.close()

    def fail(message: str) -> None:
        print(f"explorer: error: {message}", file=sys.stderr)
        outcome["code"] = 1
        window.close()

    def time_out() -> None:
        fail("the window was not ready in time for the screenshot")

    window.ready.connect(lambda: QTimer.singleShot(300, save))
    window.worker.failed.connect(fail)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, time_out)
