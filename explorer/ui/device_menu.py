"""The Device menu: which torch device the worker runs the model on.

The menu never decides what is ticked on its own for long: the window calls
:meth:`DeviceMenu.set_current` with the device the worker actually uses after every change
or failure, so the tick agrees with the status bar. It imports no torch; the worker finds
out which devices exist (``explorer.model.devices.available_devices``) and the window
passes them to :meth:`DeviceMenu.set_available`.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

DEVICE_LABELS = {
    "auto": "Automatic (GPU if present)",
    "cpu": "CPU",
    "cuda": "CUDA",
    "mps": "Apple MPS",
}
ALWAYS_AVAILABLE = ("auto", "cpu")
CHECKING_TIP = "Checking whether this machine has it…"
ABSENT_TIP = "Not available on this machine"


class DeviceMenu(QMenu):
    """One checkable action per device, in an exclusive group; absent ones are disabled."""

    chosen = Signal(str)
    """The user picked a device (``auto``, ``cpu``, ``cuda`` or ``mps``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Device", parent)
        self.setToolTipsVisible(True)
        self._group = QActionGroup(self)
        self._group.setExclusive(True)
        self._actions: dict[str, QAction] = {}
        for device, label in DEVICE_LABELS.items():
            action = QAction(label, self, checkable=True)
            action.setEnabled(device in ALWAYS_AVAILABLE)
            if device not in ALWAYS_AVAILABLE:
                action.setToolTip(CHECKING_TIP)
                action.setStatusTip(CHECKING_TIP)
            # ``triggered`` comes from the user (or QAction.trigger), never from setChecked.
            action.triggered.connect(lambda _=False, d=device: self.chosen.emit(d))
            self._group.addAction(action)
            self.addAction(action)
            self._actions[device] = action
        self._actions["auto"].setChecked(True)

    def action_for(self, device: str) -> QAction:
        """The menu's action for ``device`` (one of :data:`DEVICE_LABELS`)."""
        return self._actions[self._choice(device)]

    def set_available(self, devices: Iterable[str]) -> None:
        """Enable ``devices`` (plus automatic and CPU, which always work), disable the rest."""
        present = {self._choice(device) for device in devices} | set(ALWAYS_AVAILABLE)
        for device, action in self._actions.items():
            action.setEnabled(device in present)
            tip = "" if device in present else ABSENT_TIP  # "" shows the label as its tip
            action.setToolTip(tip)
            action.setStatusTip(tip)

    def set_current(self, device: str) -> None:
        """Tick ``device`` (``cuda:1`` ticks CUDA) without emitting :attr:`chosen`.

        Picking an action ticks it at once; this is what moves the tick back when the
        worker then reports another device.
        """
        self._actions[self._choice(device)].setChecked(True)

    @property
    def current(self) -> str:
        """The ticked device."""
        return next(device for device, action in self._actions.items() if action.isChecked())

    @staticmethod
    def _choice(device: str) -> str:
        choice = device.partition(":")[0]
        if choice not in DEVICE_LABELS:
            raise ValueError(f"unknown device {device!r}; expected one of {list(DEVICE_LABELS)}")
        return choice
