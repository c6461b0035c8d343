"""The Device menu offers only what the machine has, and its tick follows the worker."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtWidgets import QApplication

from explorer.errors import ExplorerError
from explorer.model import devices
from explorer.ui.device_menu import ABSENT_TIP, CHECKING_TIP, DEVICE_LABELS, DeviceMenu
from tests.gui_helpers import click


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [
        (False, False, ("auto", "cpu")),
        (True, False, ("auto", "cpu", "cuda")),
        (False, True, ("auto", "cpu", "mps")),
        (True, True, ("auto", "cpu", "cuda", "mps")),
    ],
)
def test_available_devices_are_those_torch_can_use(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(devices, "_mps_available", lambda: mps)
    assert devices.available_devices() == expected


@pytest.mark.parametrize("name", ["cuda", "cuda:1", "mps"])
def test_absent_device_message_fits_the_window_and_the_cli(monkeypatch, name):
    """The window has no --device flag: the advice names choices both of them offer."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    with pytest.raises(ExplorerError) as raised:
        devices.resolve_device(name)
    message = str(raised.value)
    assert "--device" not in message
    assert message.endswith("available here; choose the CPU or automatic")


@pytest.fixture
def menu(qtbot) -> DeviceMenu:
    menu = DeviceMenu()
    qtbot.addWidget(menu)
    return menu


def _enabled(menu: DeviceMenu) -> dict[str, bool]:
    return {device: menu.action_for(device).isEnabled() for device in DEVICE_LABELS}


def test_only_automatic_and_cpu_work_until_the_devices_are_known(menu):
    assert menu.title() == "&Device"
    assert [action.text() for action in menu.actions()] == [
        "Automatic (GPU if present)", "CPU", "CUDA", "Apple MPS"
    ]
    assert _enabled(menu) == {"auto": True, "cpu": True, "cuda": False, "mps": False}
    assert menu.action_for("cuda").toolTip() == CHECKING_TIP
    assert menu.current == "auto"


def test_absent_devices_are_disabled(menu):
    menu.set_available(("auto", "cpu", "cuda"))
    assert _enabled(menu) == {"auto": True, "cpu": True, "cuda": True, "mps": False}
    assert menu.action_for("mps").toolTip() == ABSENT_TIP
    assert menu.action_for("cuda").toolTip() == "CUDA"

    menu.set_available(["cpu"])  # automatic and the CPU always work
    assert _enabled(menu) == {"auto": True, "cpu": True, "cuda": False, "mps": False}
    assert menu.action_for("cuda").toolTip() == ABSENT_TIP


def test_picking_a_device_emits_chosen(menu, qtbot):
    menu.set_available(("auto", "cpu", "cuda"))
    with qtbot.waitSignal(menu.chosen) as picked:
        menu.action_for("cuda").trigger()
    assert picked.args == ["cuda"]
    with qtbot.waitSignal(menu.chosen) as picked:
        menu.action_for("cpu").trigger()
    assert picked.args == ["cpu"]


def test_a_click_on_an_absent_device_does_nothing(menu, qtbot):
    """Through the open menu, the way a user does it."""
    menu.popup(menu.mapToGlobal(menu.rect().topLeft()))
    qtbot.waitExposed(menu)
    with qtbot.assertNotEmitted(menu.chosen):
        click(menu, menu.actionGeometry(menu.action_for("mps")).center())
        QApplication.processEvents()
    assert menu.current == "auto"
    with qtbot.waitSignal(menu.chosen) as picked:
        click(menu, menu.actionGeometry(menu.action_for("cpu")).center())
    assert picked.args == ["cpu"]


def test_set_current_moves_the_tick_without_emitting(menu, qtbot):
    with qtbot.assertNotEmitted(menu.chosen):
        menu.set_current("cpu")
        assert menu.current == "cpu"
        menu.set_current("cuda:1")
    assert menu.current == "cuda"
    assert [action.isChecked() for action in menu.actions()] == [False, False, True, False]


def test_the_tick_follows_the_worker_after_a_failed_change(menu, qtbot):
    """The user picks CUDA; moving the model fails and the worker stays on the CPU."""
    menu.set_available(("auto", "cpu", "cuda"))
    menu.set_current("cpu")
    with qtbot.waitSignal(menu.chosen):
        menu.action_for("cuda").trigger()
    menu.set_current("cpu")  # what the window does with the worker's report
    assert menu.current == "cpu"
    assert not menu.action_for("cuda").isChecked()


def test_an_unknown_device_is_refused(menu):
    with pytest.raises(ValueError, match="tpu"):
        menu.set_current("tpu")
    assert menu.current == "auto"
