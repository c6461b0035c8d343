"""The About box, and the same facts as plain text for bug reports and the command line."""

from __future__ import annotations

import platform
import sys
from html import escape

import numpy as np
import pyqtgraph
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMessageBox, QWidget

from explorer import __version__
from explorer.paths import resources_dir

APP_NAME = "Latent Explorer"
_TAGLINE = "Look inside video autoencoders."
_ICON_PIXELS = 96


def app_icon() -> QIcon:
    """The application icon, with every PNG rendering so each use gets a sharp size."""
    icon = QIcon()
    for png in sorted((resources_dir() / "icons").glob("latent-explorer-*.png")):
        icon.addFile(str(png))
    return icon


def version_facts() -> list[tuple[str, str]]:
    """(name, value) pairs: the app and library versions and the compute device.

    torch and PyAV are imported here rather than with this module, so that opening the
    window never waits for them; when the app runs they are already loaded.
    """
    import av

    from explorer.model.devices import describe_device, resolve_device, torch_version

    build = "frozen bundle" if getattr(sys, "frozen", False) else platform.python_implementation()
    return [
        (APP_NAME, __version__),
        ("Python", f"{platform.python_version()} ({build})"),
        ("System", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("torch", torch_version()),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("pyqtgraph", pyqtgraph.__version__),
        ("numpy", np.__version__),
        ("PyAV", f"{av.__version__} (libavcodec {_dotted(av.library_versions['libavcodec'])})"),
        ("Device", describe_device(resolve_device("auto"))),
    ]


def version_report() -> str:
    """The facts of :func:`version_facts` as aligned plain-text lines."""
    facts = version_facts()
    width = max(len(name) for name, _ in facts)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in facts)


def about_box(parent: QWidget | None = None) -> QMessageBox:
    """The About box, built but not shown (so it can be inspected)."""
    facts = version_facts()
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>&nbsp;&nbsp;{escape(value)}</td></tr>"
        for name, value in facts[1:]
    )
    box = QMessageBox(parent)
    box.setWindowTitle(f"About {APP_NAME}")
    box.setIconPixmap(app_icon().pixmap(_ICON_PIXELS, _ICON_PIXELS))
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(f"<h3>{APP_NAME} {escape(__version__)}</h3><p>{_TAGLINE}</p><table>{rows}</table>")
    # selectable, so the versions can be pasted into a bug report
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    return box


def show_about(parent: QWidget | None = None) -> None:
    """Show the About box and wait until it is closed."""
    about_box(parent).exec()


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))
