"""Model › Compare With… in the window: the second model's map, reconstruction and
difference beside the first's, both PSNR curves, one current frame; End Comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from explorer.analysis.compare import difference_image, procrustes_align
from explorer.model import guard
from explorer.model.files import save_model
from explorer.model.identity import model_identity
from explorer.model.open import open_model
from explorer.paths import demo_model_path
from explorer.session.document import load_session, save_session
from explorer.ui.compare_views import DIFFERENCE_TITLE
from tests.factories import make_vae
from tests.gui_helpers import READY_MS, click, drag, hover, open_window, ready_window

WAIT_MS = 120_000


@pytest.fixture(scope="module")
def second_model(tmp_path_factory) -> Path:
    """A random-weight model of another frame and latent size than the demo's."""
    folder = tmp_path_factory.mktemp("second")
    return save_model(make_vae(size=128, latent_dim=6), folder / "second.safetensors", {})


def _action(window, text: str):
    menu = next(action.menu() for action in window.menuBar().actions()
                if action.text() == "&Model")
    return next(action for action in menu.actions() if action.text() == text)


def _b_reconstruction(model: Path, trajectory, row: int) -> np.ndarray:
    vae = open_model(model, device="cpu")
    return guard.decode(vae, trajectory.latents(slice(row, row + 1)))[0]


def test_compare_with_shows_both_models_and_follows_the_timeline(
        qtbot, demo_clip, second_model, monkeypatch):
    window = ready_window(qtbot, demo_clip, demo_model_path())
    comparison = window.comparison
    end = _action(window, "&End Comparison")
    assert not end.isEnabled() and not comparison.map.isVisible()
    monkeypatch.setattr("explorer.ui.compare_controller.QFileDialog.getOpenFileName",
                        lambda *_args, **_kw: (str(second_model), ""))
    _action(window, "Compare &With…").trigger()  # the menu, as a user chooses it
    qtbot.waitUntil(lambda: comparison.comparison.active
                    and comparison.reconstruction_view.frame is not None
                    and comparison.difference_view.frame is not None, timeout=WAIT_MS)

    state, trajectory = window.state, window.state.trajectory
    compared = comparison.comparison.model.trajectory
    assert len(compared) == len(trajectory)
    assert compared.latent_shape == (6,) and trajectory.latent_shape != (6,)
    assert end.isEnabled()
    for widget in (comparison.map, comparison.reconstruction_view,
                   comparison.difference_view):
        assert widget.isVisible()
    assert comparison.difference_view.title == DIFFERENCE_TITLE
    # the second map: the second model's PCA, turned onto the first map
    maps = comparison.comparison.maps
    assert maps.aligned and comparison.map.map.point_count == len(trajectory)
    expected = procrustes_align(state.projection.embedding,
                                comparison.comparison.model.pca.embedding)
    np.testing.assert_allclose(maps.b, expected, atol=1e-5)
    assert "Procrustes" in comparison.map.title.text()
    # both PSNR curves under the timeline
    curve = window.timeline.error_curve
    assert curve.has_curve and curve.has_compared and curve.isVisible()
    np.testing.assert_allclose(curve._compared.getData()[1], compared.psnr_db, rtol=1e-6)

    # the timeline moves both models
    for row in (17, 31):
        window.timeline.set_frame(row)
        assert state.frame == row
        qtbot.waitUntil(lambda r=row: comparison.reconstruction_view.frame is not None
                        and window.previews._frame_shown == window.previews._frame_stamp
                        and comparison.shown_row == r,
                        timeout=WAIT_MS)
        b = _b_reconstruction(second_model, compared, row)
        np.testing.assert_array_equal(comparison.reconstruction_view.frame, b)
        a = window.reconstruction_view.frame
        assert a.shape != b.shape  # 64 px and 128 px models
        np.testing.assert_array_equal(comparison.difference_view.frame,
                                      difference_image(a, b))
        assert comparison.map.map.marker_position() == pytest.approx(tuple(maps.b[row]),
                                                                     abs=1e-5)
        assert f"PSNR {compared.psnr_db[row]:.1f} dB" in comparison.reconstruction_view.caption

    # a click on the second map is the shared current frame
    target = 5
    scene = comparison.map.map.to_scene(*maps.b[target])
    click(comparison.map.map.viewport(), comparison.map.map.mapFromScene(scene))
    qtbot.waitUntil(lambda: state.frame == target, timeout=10_000)
    assert window.timeline.frame == target

    # its menu has no keyframes or probe of its own: only the frame, or the view
    menu = comparison.map.map.build_context_menu(*maps.b[9])
    assert [action.text() for action in menu.actions() if action.text()] == [
        "Go to this frame", "Reset view"]
    next(action for action in menu.actions() if action.text() == "Go to this frame").trigger()
    assert state.frame == 9 and window.timeline.frame == 9

    end.trigger()
    assert not comparison.comparison.active and not end.isEnabled()
    assert not curve.has_compared and curve.has_curve
    for widget in (comparison.map, comparison.reconstruction_view,
                   comparison.difference_view):
        assert not widget.isVisible()
    assert comparison.shown_row == -1
    qtbot.waitUntil(lambda: window.worker._compared is None, timeout=10_000)


def test_a_code_model_is_not_compared_without_trust(qtbot, demo_clip, monkeypatch):
    """The same gate as opening a model: refused without asking when not interactive,
    asked (naming it) when interactive, and nothing reaches the worker when declined."""
    window = ready_window(qtbot, demo_clip, demo_model_path())
    submitted, asked = [], []
    window.worker.compare = lambda *args, **kw: submitted.append(args)
    plugin = Path("tests.factories:make_vae")
    assert not window.comparison.start(plugin)
    assert "its code was not run" in window._activity.text()

    def decline(_parent, named: str, label: str) -> bool:
        asked.append(f"{named} ({label})")
        return False

    monkeypatch.setattr("explorer.ui.trust.confirm_code", decline)
    window.interactive = True
    assert not window.comparison.start(plugin)
    assert asked == ["tests.factories:make_vae (Python plugin)"]
    assert submitted == [] and not window.comparison.comparison.active


def _compare(window, qtbot, model: Path) -> None:
    """Compare ``model`` with the window's, as Model › Compare With… does, and wait until
    its map and reconstruction are shown."""
    comparison = window.comparison
    assert comparison.start(model)
    qtbot.waitUntil(lambda: comparison.comparison.active
                    and comparison.shown_row == window.state.frame, timeout=WAIT_MS)


def test_the_second_map_shows_thumbnails_and_its_points_do_not_drag(
        qtbot, demo_clip, second_model):
    window = ready_window(qtbot, demo_clip, demo_model_path())
    _compare(window, qtbot, second_model)
    state, second = window.state, window.comparison.map.map
    points = window.comparison.comparison.maps.b

    # hover: the frame's thumbnail, captioned as on the first map
    target = 23
    hover(second.viewport(), second.mapFromScene(second.to_scene(*points[target])))
    tip = second._hover_tip
    qtbot.waitUntil(lambda: second.hovered == target and tip.isVisible(), timeout=WAIT_MS)
    assert tip.caption.text() == window.latent_map.describe_point(target) == "frame 23"
    assert max(tip.image.pixmap().width(), tip.image.pixmap().height()) == (
        window.worker.THUMBNAIL_SIZE)
    assert not window.latent_map._hover_tip.isVisible()

    # a drag that starts on a point pans the view: no ghost, no probe move, no edit
    frame, probe, clip, edits = state.frame, state.probe.copy(), state.clip, len(state.history)
    view_before = second.getPlotItem().vb.viewRange()
    dragged = []
    second.pointDragged.connect(lambda *args: dragged.append(args))
    second.pointReleased.connect(lambda *args: dragged.append(args))
    start = QPointF(second.mapFromScene(second.to_scene(*points[target])))
    drag(second.viewport(), start, start + QPointF(80, 50))
    qtbot.wait(300)
    assert dragged == []
    ghost = second._drag_ghost.getData()[0]
    assert ghost is None or len(ghost) == 0
    assert state.frame == frame and state.clip is clip
    np.testing.assert_array_equal(state.probe, probe)
    assert len(state.history) == edits
    assert second.getPlotItem().vb.viewRange() != view_before, "the drag panned the map"


def test_a_session_reopens_its_comparison(qtbot, demo_clip, second_model, tmp_path):
    window = ready_window(qtbot, demo_clip, demo_model_path())
    window.timeline.set_frame(17)
    window.sessions.path = tmp_path / "compared.lxsession"
    assert window.sessions.save() and not window.sessions.dirty
    _compare(window, qtbot, second_model)
    assert window.sessions.dirty, "a comparison begun is an unsaved change"
    assert window.sessions.save() and not window.sessions.dirty
    saved = load_session(tmp_path / "compared.lxsession")
    assert saved.compared_model_path == str(second_model.resolve())
    assert saved.compared_model_sha256 == model_identity(second_model)

    again = open_window(qtbot, session=tmp_path / "compared.lxsession")
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    comparison = again.comparison
    qtbot.waitUntil(lambda: comparison.comparison.active and comparison.shown_row == 17,
                    timeout=WAIT_MS)
    assert comparison.comparison.model.spec == second_model.resolve()
    assert comparison.comparison.model.trajectory.latent_shape == (6,)
    assert comparison.map.isVisible() and again.timeline.error_curve.has_compared
    assert again.state.frame == 17
    assert not again.sessions.dirty, "the session's own comparison is not a change"
    _action(again, "&End Comparison").trigger()
    assert again.sessions.dirty, "ending it is"

    # the same session from before comparisons (version 2, no compared_model) is unchanged
    older = tmp_path / "older.lxsession"
    saved.compared_model_path, saved.compared_model_sha256 = None, ""
    save_session(saved, older)
    from tests.test_session_file import rewrite

    rewrite(older, "session.json", lambda d: d.replace(b'"version": 3', b'"version": 2')
            .replace(b',\n "compared_model": null', b""))
    assert b"compared_model" not in _member(older, "session.json")
    assert load_session(older).compared_model_path is None
    old = open_window(qtbot, session=older)
    with qtbot.waitSignal(old.ready, timeout=READY_MS):
        old.start()
    qtbot.waitUntil(lambda: old.sessions.path == older, timeout=10_000)
    assert old.state.frame == 17 and not old.comparison.comparison.active
    assert not old.comparison.map.isVisible() and not old.sessions.dirty


def _member(path: Path, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


PLUGIN_SOURCE = """
from pathlib import Path
Path({marker!r}).write_bytes(b"ran!")  # importing the module is enough

def factory():
    raise RuntimeError("never reached")
"""


def _session_comparing_with(window, model: str, sha256: str, path: Path) -> Path:
    """The window's session, naming ``model`` as the one compared."""
    session = window.sessions._session()
    session.compared_model_path, session.compared_model_sha256 = model, sha256
    return save_session(session, path)


def test_a_code_model_named_by_a_session_runs_only_through_the_dialog(
        qtbot, demo_clip, tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    marker.write_bytes(b"safe")
    (tmp_path / "hostile_compared.py").write_text(PLUGIN_SOURCE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = "hostile_compared:factory"
    window = ready_window(qtbot, demo_clip, demo_model_path())
    window.timeline.set_frame(9)
    session = _session_comparing_with(window, spec, "", tmp_path / "hostile.lxsession")
    submitted, asked, wanted = [], [], []
    compare = window.worker.compare
    window.worker.compare = lambda *args, **kw: submitted.append(args) or compare(*args, **kw)
    # connected after the window's: what the status bar says once it has been handled
    window.sessions.comparisonWanted.connect(
        lambda model: wanted.append((model, window._activity.text())))

    # not interactive (--screenshot): refused without asking; the session still opens
    window.timeline.set_frame(0)
    assert window.sessions.open(session)
    qtbot.waitUntil(lambda: bool(wanted), timeout=WAIT_MS)
    assert wanted == [(Path(spec), f"Did not open {spec}: its code was not run")]
    assert window.sessions.path == session
    assert window.state.frame == 9 and not window.comparison.comparison.active

    # interactive: the dialog names it; declined, nothing runs
    def decline(_parent, named: str, label: str) -> bool:
        asked.append(f"{named} ({label})")
        return False

    monkeypatch.setattr("explorer.ui.trust.confirm_code", decline)
    window.interactive = True
    window.sessions.path = None
    assert window.sessions.open(session)
    qtbot.waitUntil(lambda: window.sessions.path == session, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert asked == [f"{spec} (Python plugin)"]
    qtbot.wait(300)
    assert submitted == [] and not window.comparison.comparison.active
    assert window.worker._compared is None
    assert marker.read_bytes() == b"safe"


def test_a_missing_second_model_opens_the_session_without_it(
        qtbot, demo_clip, second_model, tmp_path, monkeypatch):
    gone = tmp_path / "gone.safetensors"
    window = ready_window(qtbot, demo_clip, demo_model_path())
    window.timeline.set_frame(11)
    session = _session_comparing_with(window, str(gone), "f00", tmp_path / "gone.lxsession")
    warned = []
    window.sessions.warning.connect(lambda message, _title: warned.append(message))
    assert window.sessions.open(session)
    qtbot.waitUntil(lambda: window.sessions.path == session, timeout=WAIT_MS)
    assert warned == [f"the session's second model {gone} was not found; the session opens "
                      "without the comparison"]
    assert window.state.frame == 11 and not window.comparison.comparison.active
    assert not window.sessions.dirty

    # where the window may ask, it asks where the model went, and compares with it
    asked = []
    monkeypatch.setattr(window.sessions, "locate",
                        lambda what, path: asked.append((what, path)) or second_model)
    window.sessions.path = None
    assert window.sessions.open(session)
    qtbot.waitUntil(lambda: window.comparison.comparison.active, timeout=WAIT_MS)
    assert asked == [("second model", gone)]
    assert window.comparison.comparison.model.spec == second_model.resolve()



def test_the_psnr_range_sits_clear_of_the_curves(qtbot):
    """Its caption has a strip of its own above the curves, at frame 0's x, and the
    curves reach the top of theirs."""
    from explorer.ui.timeline import Timeline

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.resize(900, 140)
    time_s = np.arange(40) / 24.0
    timeline.set_frames(time_s, 24.0, np.linspace(25, 33, 40))
    timeline.show_compared(np.linspace(8, 12, 40))
    timeline.show()
    curve = timeline.error_curve
    qtbot.waitUntil(lambda: curve.isVisible() and curve.getPlotItem().vb.width() > 0
                    and curve.getPlotItem().layout.getContentsMargins()[0] > 0,
                    timeout=10_000)
    qtbot.wait(50)
    label = curve._range.textItem
    text = label.sceneBoundingRect()
    plot = curve.getPlotItem().vb.sceneBoundingRect()
    assert label.toPlainText() == "PSNR dB A 25.0–33.0 · B 8.0–12.0"
    assert text.height() > 0 and text.bottom() <= plot.top() + 0.5
    assert text.left() == pytest.approx(plot.left(), abs=1)
    top = curve.getPlotItem().vb.mapViewToScene(QPointF(0, 33.0)).y()
    assert top < plot.top() + 0.1 * plot.height(), "the curves keep their height"


@pytest.fixture
def nineteen_frames(tmp_path) -> Path:
    """19 frames at 32 px: the test Wan model's steps cover 1 + 4 × 4 of them."""
    from explorer.demo import demo_frames
    from tests.conftest import write_mjpg

    return write_mjpg(tmp_path / "clip.avi", demo_frames(19, 32))


def _wait_shown(window, qtbot, second_row: int) -> None:
    comparison = window.comparison
    qtbot.waitUntil(lambda: comparison.shown_row == second_row
                    and window.previews._frame_shown == window.previews._frame_stamp,
                    timeout=WAIT_MS)


def test_a_video_autoencoder_is_compared_frame_by_frame(qtbot, nineteen_frames, wan_folder,
                                                        wan):
    """The second model's rows are latent steps: each frame the window shows is its step's
    frame in the second model, and a step clicked goes to its first frame."""
    from explorer.analysis.compare import psnr_on_rows
    from explorer.pipeline.decode import decode_row

    window = ready_window(qtbot, nineteen_frames, demo_model_path())
    _compare(window, qtbot, wan_folder)
    comparison, state = window.comparison, window.state
    steps = comparison.comparison.model.trajectory
    assert steps.is_temporal and steps.frame_index.tolist() == [0, 1, 5, 9, 13, 17]
    assert steps.last_frame.tolist() == [0, 4, 8, 12, 16, 18]  # the last step is partial
    maps = comparison.comparison.maps
    assert maps.aligned and comparison.map.map.point_count == 6
    curve = window.timeline.error_curve
    assert curve.has_compared
    np.testing.assert_allclose(curve._compared.getData()[1],
                               psnr_on_rows(state.trajectory, steps), rtol=1e-6)

    window.timeline.set_frame(10)  # step 3 covers frames 9–12: its second frame
    _wait_shown(window, qtbot, 3)
    np.testing.assert_array_equal(comparison.reconstruction_view.frame,
                                  decode_row(wan, steps, 3)[1])
    np.testing.assert_array_equal(comparison.difference_view.frame, difference_image(
        window.reconstruction_view.frame, comparison.reconstruction_view.frame))
    assert comparison.map.map.marker_position() == pytest.approx(tuple(maps.b[3]), abs=1e-5)
    assert f"PSNR {steps.psnr_db[3]:.1f} dB" in comparison.reconstruction_view.caption

    window.timeline.set_frame(18)  # the partial last step's second frame
    _wait_shown(window, qtbot, 5)
    np.testing.assert_array_equal(comparison.reconstruction_view.frame,
                                  decode_row(wan, steps, 5)[1])
    assert comparison.map.map.marker_position() == pytest.approx(tuple(maps.b[5]), abs=1e-5)

    scene = comparison.map.map.to_scene(*maps.b[2])  # step 2: frames 5–8
    click(comparison.map.map.viewport(), comparison.map.map.mapFromScene(scene))
    qtbot.waitUntil(lambda: state.frame == 5, timeout=10_000)
    _wait_shown(window, qtbot, 2)
    np.testing.assert_array_equal(comparison.reconstruction_view.frame,
                                  decode_row(wan, steps, 2)[0])


def test_a_video_autoencoders_window_compares_a_per_frame_model(qtbot, nineteen_frames,
                                                                 wan_folder, second_model):
    """The open model is the video autoencoder: its step and frame within the step pick
    the second model's frame."""
    window = ready_window(qtbot, nineteen_frames, wan_folder)
    comparison, state = window.comparison, window.state
    assert comparison.start(second_model)
    qtbot.waitUntil(lambda: comparison.comparison.active, timeout=WAIT_MS)
    frames = comparison.comparison.model.trajectory
    assert not frames.is_temporal and frames.frame_index.tolist() == list(range(19))
    state.set_frame(3, 1)  # frame 10
    _wait_shown(window, qtbot, 10)
    np.testing.assert_array_equal(comparison.reconstruction_view.frame,
                                  _b_reconstruction(second_model, frames, 10))
    assert comparison.map.map.marker_position() == pytest.approx(
        tuple(comparison.comparison.maps.b[10]), abs=1e-5)

    # hovered, frame 10 of the second map shows frame 10, not its step's first (frame 9)
    import cv2

    from explorer.video.reader import open_video

    second = comparison.map.map
    shown = []
    window.worker.thumbnailReady.connect(lambda thumbnail: shown.append(thumbnail.image))
    point = second.to_scene(*comparison.comparison.maps.b[10])
    hover(second.viewport(), second.mapFromScene(point))
    qtbot.waitUntil(lambda: second.hovered == 10 and bool(shown), timeout=WAIT_MS)
    with open_video(nineteen_frames) as reader:
        frame_10, frame_9 = reader.frame(10), reader.frame(9)
    size = shown[-1].shape[1::-1]
    assert np.array_equal(shown[-1], cv2.resize(frame_10, size, interpolation=cv2.INTER_AREA))
    assert not np.array_equal(shown[-1], cv2.resize(frame_9, size, interpolation=cv2.INTER_AREA))


def test_the_second_model_encodes_the_frames_the_first_trajectory_covers():
    """Taken from the trajectory itself, not from what its file says of how it was made."""
    from explorer.latent.trajectory import Trajectory
    from explorer.ui.worker import _frames_to_compare

    frames = np.arange(4, 40, 3)
    mu = np.zeros((len(frames), 2), np.float32)
    strided = Trajectory(mu, mu, frames, frames / 24.0, meta={"selection": {"bogus": 1}})
    assert _frames_to_compare(strided, temporal=False) == {"start": 4, "end": 38, "stride": 3}
    assert _frames_to_compare(strided, temporal=True) == {"start": 4, "end": 38, "stride": 1}
    steps = Trajectory(mu[:3], mu[:3], np.array([0, 1, 5]), np.zeros(3),
                       last_frame=np.array([0, 4, 8]))
    assert _frames_to_compare(steps, temporal=False) == {"start": 0, "end": 9, "stride": 1}
