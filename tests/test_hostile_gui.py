"""The most distinct hostile inputs of ``tests/hostile_inputs.py``, dropped on the window.

Each drop must show one one-line error (the worker's ``failed`` signal, or the session
loader's), never a traceback, run no pickle and change no file; afterwards the window must
still open the demo and become ready.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gui_helpers import READY_MS, ready_window
from tests.hostile_driver import changes, snapshot
from tests.hostile_inputs import DEMO_MODEL, DEMO_VIDEO, MARKER, build

DROPS = [
    ("video", "fifo"),
    ("video", "dev-zero-link"),
    ("video", "symlink-loop"),
    ("video", "a-trajectory"),
    ("model", "pickle"),
    ("model", "torch-save.ckpt"),
    ("model", "torchscript"),
    ("model", "truncated"),
    ("model", "diffusers-huge-channels"),
    ("model", "diffusers-pickle-bin"),
    ("session", "zip-bomb"),
    ("session", "a-trajectory"),
    ("session", "naming-a-fifo-video"),
    ("session", "naming-a-missing-video"),
]
"""(slot, input): the slot says what the name claims, so what the drop opens it as."""

SETTLE_MS = 300
"""How long to wait after the first error for a second one that must not come."""


@pytest.mark.parametrize(("slot", "name"), DROPS, ids=[f"{s}:{n}" for s, n in DROPS])
def test_a_hostile_drop_is_one_line_and_the_window_recovers(qtbot, monkeypatch, tmp_path,
                                                           slot, name):
    dropped = Path(build(name, tmp_path, slot, f"{slot}-{name}")).absolute()
    window = ready_window(qtbot)
    messages: list[str] = []
    monkeypatch.setattr(window, "show_error", lambda message, title="": messages.append(message))
    before = snapshot(tmp_path, {})

    window.open_dropped(dropped)
    qtbot.waitUntil(lambda: bool(messages), timeout=60_000)
    qtbot.wait(SETTLE_MS)

    assert len(messages) == 1, messages
    message = messages[0]
    assert "\n" not in message and "Traceback" not in message, message
    assert "unexpected error" not in message, message
    assert dropped.name[:24] in message, message
    assert changes(before, snapshot(tmp_path, {})) == []
    assert not (tmp_path / MARKER).exists(), "a pickle ran"

    # A failed open leaves the window as it was; waiting on the worker's own signals
    # races the window's slots; so the window's state shows that it works again: a newly
    # opened trajectory of the demo, then frame 3 painted on request.
    shown = window.state.trajectory
    assert shown is not None, "the failed drop left the window as it was"
    window.open_files(DEMO_VIDEO, DEMO_MODEL)
    qtbot.waitUntil(lambda: window.state.trajectory is not None
                    and window.state.trajectory is not shown, timeout=READY_MS)
    window.timeline.set_frame(3)
    qtbot.waitUntil(lambda: window.original_view.caption == "frame 3"
                    and window.reconstruction_view.frame is not None, timeout=READY_MS)
    assert window.state.trajectory is not None and len(window.state.trajectory) > 3
    assert len(messages) == 1, messages
