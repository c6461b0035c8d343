"""The main window driven like a user: keys, clicks, drags, cancel, quit."""

from __future__ import annotations

import threading
import time
from itertools import pairwise

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from explorer.demo import demo_frames
from explorer.model.files import load_model
from explorer.paths import demo_model_path, demo_video_path
from explorer.ui.main_window import MainWindow
from tests.conftest import write_mjpg
from tests.gui_helpers import (
    READY_MS,
    choose,
    click,
    drag,
    hover,
    open_window,
    ready_window,
)


class SlowVAE:
    """The demo model with a deliberately slow decode/encode, recording every call."""

    def __init__(self, vae, decode_s: float = 0.0, hold_encode_after: int | None = None):
        self._vae, self.decode_s = vae, decode_s
        self.hold_encode_after = hold_encode_after
        self.encode_gate = threading.Event()
        self.encode_calls = 0
        self.decoded: list[np.ndarray] = []
        self.intervals: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._vae, name)

    def encode(self, frames):
        """After ``hold_encode_after`` batches, wait until the test opens the gate."""
        self.encode_calls += 1
        if self.hold_encode_after is not None and self.encode_calls > self.hold_encode_after:
            self.encode_gate.wait(timeout=30)
        return self._vae.encode(frames)

    def decode(self, latents):
        start = time.perf_counter()
        time.sleep(self.decode_s)
        result = self._vae.decode(latents)
        with self._lock:
            self.decoded.append(np.array(latents))
            self.intervals.append((start, time.perf_counter()))
        return result


@pytest.fixture
def window(qtbot):
    return ready_window(qtbot)


def viewport_point(window: MainWindow, x: float, y: float) -> QPointF:
    return QPointF(window.latent_map.to_scene(x, y))


def test_keys_scrub_the_timeline_and_the_map_marker(window, qtbot):
    first = window.original_view.frame
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.timeline.frame == 2
    qtbot.waitUntil(lambda: window.original_view.frame is not first, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.timeline.frame == 1
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.timeline.frame == window.state.trajectory.mu.shape[0] - 1
    marker = window.latent_map.marker_position()
    np.testing.assert_allclose(marker, window.state.projection.embedding[-1], atol=1e-5)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.timeline.frame == 0
    fps = window.state.trajectory.meta["video"]["fps"]
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.timeline.frame == round(fps), "Shift+Right: a second on"
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert window.timeline.frame == 0


def test_space_plays_and_pauses(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.timeline.playing
    qtbot.waitUntil(lambda: window.timeline.frame >= 3, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.timeline.playing


def test_clicking_a_map_point_jumps_to_its_frame(window, qtbot):
    target = 120
    click(window.latent_map.viewport(), viewport_point(window, *window.latent_map
                                                       .point_position(target)))
    qtbot.waitUntil(lambda: window.timeline.frame == target, timeout=5_000)
    qtbot.waitUntil(lambda: window.original_view._caption.text() == f"frame {target}",
                    timeout=10_000)


def test_hover_shows_a_thumbnail_of_the_frame(window, qtbot):
    target = 60
    hover(window.latent_map.viewport(), viewport_point(window, *window.latent_map
                                                       .point_position(target)))
    qtbot.waitUntil(lambda: window.latent_map._hover_tip.isVisible(), timeout=10_000)
    assert window.latent_map.hovered == target


def test_dragging_a_point_changes_the_cursor_image(window, qtbot):
    qtbot.waitUntil(lambda: window.cursor_view.frame is not None, timeout=10_000)
    before = window.cursor_view.frame.copy()
    start = viewport_point(window, *window.latent_map.point_position(30))
    end = viewport_point(window, *window.latent_map.point_position(150))
    drag(window.latent_map.viewport(), start, end)
    qtbot.waitUntil(
        lambda: window.cursor_view.frame is not None
        and np.abs(window.cursor_view.frame.astype(int) - before).mean() > 5,
        timeout=10_000,
    )


def test_dragging_the_probe_decodes_where_it_goes(window, qtbot):
    probe = window.latent_map.probe.pos()
    start = viewport_point(window, probe.x(), probe.y())
    target = window.latent_map.point_position(200)
    drag(window.latent_map.viewport(), start, viewport_point(window, *target))
    position = window.latent_map.probe.pos()
    assert abs(position.x() - target[0]) < 0.1 and abs(position.y() - target[1]) < 0.1
    expected = window.worker._vae.decode(
        window.state.projection.inverse(np.array([[position.x(), position.y()]]))
        .reshape(1, -1))[0]
    qtbot.waitUntil(lambda: window.cursor_view.frame is not None
                    and np.array_equal(window.cursor_view.frame, expected), timeout=10_000)


def test_a_burst_of_drags_never_queues_and_shows_the_last(qtbot):
    slow, slow_decode_s = {}, 0.02

    def loader(path, device):
        slow["vae"] = SlowVAE(load_model(path, device), decode_s=slow_decode_s)
        return slow["vae"]

    window = open_window(qtbot, model_loader=loader)
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.start()
    vae = slow["vae"]
    qtbot.waitUntil(lambda: window.cursor_view.frame is not None, timeout=10_000)
    vae.decoded.clear()
    vae.intervals.clear()
    embedding = window.state.projection.embedding
    path = np.linspace(embedding[10], embedding[180], 200)
    started = time.perf_counter()
    for x, y in path:  # 200 events, far faster than 20 ms decodes
        window.latent_map.probe.setPos(QPointF(float(x), float(y)))
    burst_s = time.perf_counter() - started
    last_latent = window.state.projection.inverse(path[-1:])[0].reshape(1, -1)
    expected = vae._vae.decode(last_latent)[0]
    qtbot.waitUntil(lambda: np.array_equal(window.cursor_view.frame, expected), timeout=10_000)
    qtbot.wait(100)
    # Latest wins: one decode at a time while the burst lasts, then the last request; a
    # queue would decode all 200.
    most = 2 + burst_s / slow_decode_s
    assert 1 <= len(vae.decoded) <= min(most, 20), (
        f"{len(vae.decoded)} decodes for a {burst_s * 1000:.0f} ms burst: stale requests were "
        "decoded instead of dropped")
    np.testing.assert_allclose(vae.decoded[-1].reshape(1, -1), last_latent, atol=1e-6)
    ordered = sorted(vae.intervals)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(ordered))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return write_mjpg(tmp_path_factory.mktemp("long") / "long.avi", demo_frames(480, 64))


def held_encoder(models: list):
    """A loader whose model stops encoding after two batches until its gate opens."""

    def load(path, device):
        models.append(SlowVAE(load_model(path, device), hold_encode_after=2))
        return models[-1]

    return load


def test_cancel_stops_an_encode(qtbot, long_clip):
    models: list[SlowVAE] = []
    window = open_window(qtbot, video=long_clip, model_loader=held_encoder(models))
    with qtbot.waitSignal(window.worker.jobProgress, timeout=READY_MS):
        window.start()
    assert window._cancel.isVisible()
    with qtbot.waitSignal(window.worker.jobFinished, timeout=30_000) as finished:
        qtbot.mouseClick(window._cancel, Qt.MouseButton.LeftButton)
        models[0].encode_gate.set()
    assert finished.args == ["cancelled"]
    qtbot.waitUntil(lambda: not window._cancel.isVisible(), timeout=5_000)
    assert window.state.trajectory is None
    assert 0 < window.latent_map.point_count < 480, "the map showed the partial trajectory"


def test_quitting_during_an_encode_does_not_hang(qtbot, long_clip):
    models: list[SlowVAE] = []
    window = open_window(qtbot, video=long_clip, model_loader=held_encoder(models))
    with qtbot.waitSignal(window.worker.jobProgress, timeout=READY_MS):
        window.start()
    threading.Timer(0.5, models[0].encode_gate.set).start()  # the model answers late
    window.close()
    assert window._worker_thread.thread.isFinished()
    assert models[0].encode_calls < 480 / 32, "the encode was cancelled, not finished"


def test_a_bad_model_reports_an_error_and_keeps_the_window(qtbot, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a model")
    window = MainWindow(demo_video_path(), bad, interactive=False)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.worker.failed, timeout=READY_MS) as failed:
        window.start()
    assert "not a readable .safetensors model" in failed.args[0]
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.open_files(demo_video_path(), demo_model_path())


def test_switching_to_umap_replaces_pca_when_the_fit_ends(window, qtbot):
    pca_points = window.state.projection.embedding.copy()
    bar = window.projection_bar
    choose(bar.choice, qtbot, "umap")
    assert bar.fitting and window.state.projection.kind == "pca", "PCA stays until UMAP is ready"
    qtbot.waitUntil(lambda: window.state.projection_kind == "umap", timeout=180_000)
    assert not np.allclose(window.state.projection.embedding, pca_points)
    np.testing.assert_allclose(window.latent_map.point_position(10),
                               window.state.projection.embedding[10], atol=1e-5)
    choose(bar.choice, qtbot, "pca")
    assert window.state.projection.kind == "pca"  # back at once: no refit
    np.testing.assert_allclose(window.state.projection.embedding, pca_points)


def test_the_window_appears_before_torch_and_umap_are_imported():
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from explorer.paths import demo_model_path, demo_video_path\n"
        "from explorer.ui.main_window import MainWindow\n"
        "app = QApplication([])\n"
        "window = MainWindow(demo_video_path(), demo_model_path())\n"
        "window.show(); app.processEvents()\n"
        "print('torch' in sys.modules, 'umap' in sys.modules, window.isVisible())\n"
        "window.close()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True"]


def test_a_slow_decode_shows_decoding_and_the_window_stays_responsive(qtbot):
    slow = {}

    def loader(path, device):
        slow["vae"] = SlowVAE(load_model(path, device))
        return slow["vae"]

    window = open_window(qtbot, model_loader=loader)
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.start()
    qtbot.waitUntil(lambda: window.cursor_view.frame is not None, timeout=10_000)
    slow["vae"].decode_s = 1.0  # like a 512 px model on a CPU
    x, y = window.latent_map.point_position(100)
    window.latent_map.probe.setPos(QPointF(x, y))
    qtbot.waitUntil(lambda: window.cursor_view.caption == "decoding…", timeout=5_000)
    window.timeline.step(1)  # the GUI thread is free meanwhile
    assert window.timeline.frame == 1
    qtbot.waitUntil(lambda: window.cursor_view.caption.startswith("decoded at"), timeout=10_000)


def test_clicking_the_error_curve_seeks(window, qtbot):
    curve = window.timeline.error_curve
    assert curve.isVisible()
    target = 180
    scene = curve.getPlotItem().vb.mapViewToScene(QPointF(target, 30))
    click(curve.viewport(), curve.mapFromScene(scene))
    qtbot.waitUntil(lambda: abs(window.timeline.frame - target) <= 1, timeout=5_000)
