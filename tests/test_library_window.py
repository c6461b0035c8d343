"""A library in the window: every video on one map, coloured by video with a legend that
hides videos, a click that opens another video's frame, keyframes from two videos made
into one clip, and a session that reopens the library."""

from __future__ import annotations

import json
import shutil

import av
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer

from explorer.library.catalog import load_library
from explorer.library.shared_map import load_map
from explorer.session.document import load_session
from explorer.video.reader import open_video
from tests.conftest import LIBRARY_CLIPS as CLIPS
from tests.gui_helpers import READY_MS, click, hover, open_window, ready_window
from tests.test_studio import fill_export_dialog


def point_of(window, row: int) -> QPointF:
    return QPointF(window.latent_map.to_scene(*window.latent_map.point_position(row)))


def go_to_row(window, qtbot, row: int) -> None:
    """Click a point on the map, as a user does, and wait for its frame to show."""
    window.latent_map.setRange(xRange=_around(window, row, 0), yRange=_around(window, row, 1),
                               padding=0)  # zoomed in: no other point under the pointer
    qtbot.wait(50)
    click(window.latent_map.viewport(), point_of(window, row))
    label = window.state.describe_frame(window.state.frame_number(row))
    qtbot.waitUntil(lambda: window.original_view.caption == label, timeout=30_000)


def _around(window, row: int, axis: int) -> tuple[float, float]:
    centre = window.latent_map.point_position(row)[axis]
    return centre - 1e-3, centre + 1e-3


def test_every_video_is_on_one_map_coloured_by_video(qtbot, library):
    window = ready_window(qtbot, video=library)
    state = window.state
    assert window.latent_map.point_count == sum(CLIPS.values())
    assert state.library.names == tuple(CLIPS)
    assert state.colouring == "video" and window.projection_bar.colouring.isEnabled()
    assert [label.text for _, label in window.latent_map.legend.items] == list(CLIPS)
    shared = load_map(library, load_library(library))  # the stored map: nothing refitted
    np.testing.assert_allclose(state.projection.embedding, shared.embedding, atol=1e-5)
    assert window.timeline.frame_count == CLIPS["a.avi"], "the timeline scrubs one video"
    assert window.original_view.caption == "a.avi, frame 0"
    assert window.windowTitle().startswith("lib")


def test_a_click_opens_that_frame_of_that_video_and_the_timeline_follows(qtbot, library):
    window = ready_window(qtbot, video=library)
    row = CLIPS["a.avi"] + CLIPS["b.avi"] + 5  # c.avi's frame 5
    go_to_row(window, qtbot, row)
    assert window.state.frame == row
    assert window.timeline.first_row == row - 5 and window.timeline.frame_count == 17
    with open_video(library.parent / "c.avi") as reader:
        np.testing.assert_array_equal(window.original_view.frame, reader.frame(5))
    qtbot.keyClick(window, Qt.Key.Key_Right)  # the timeline steps within c.avi
    qtbot.waitUntil(lambda: window.original_view.caption == "c.avi, frame 6", timeout=30_000)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: window.original_view.caption == "c.avi, frame 0", timeout=30_000)


def test_hovering_a_point_names_its_video_beside_the_thumbnail(qtbot, library):
    window = ready_window(qtbot, video=library)
    row = CLIPS["a.avi"] + 12  # b.avi's frame 12
    window.latent_map.setRange(xRange=_around(window, row, 0), yRange=_around(window, row, 1),
                               padding=0)
    qtbot.wait(50)
    hover(window.latent_map.viewport(), point_of(window, row))
    tip = window.latent_map._hover_tip
    qtbot.waitUntil(tip.isVisible, timeout=30_000)
    assert tip.caption.text() == "b.avi, frame 12"
    assert not tip.image.pixmap().isNull()


def test_the_legend_hides_a_video_but_never_the_one_on_screen(qtbot, library):
    window = ready_window(qtbot, video=library)
    legend, latent_map = window.latent_map.legend, window.latent_map
    total = latent_map.point_count

    def click_legend(position: int) -> None:
        sample = legend.items[position][0]
        centre = sample.mapToScene(sample.boundingRect().center())
        click(latent_map.viewport(), latent_map.mapFromScene(centre))

    click_legend(1)
    assert window.state.hidden_videos == {1}
    assert latent_map.shown_count == total - CLIPS["b.avi"]
    assert not latent_map.legend_entry(1).isVisible(), "its legend entry is greyed"
    click_legend(0)  # a.avi is on screen: it stays
    assert window.state.hidden_videos == {1} and latent_map.legend_entry(0).isVisible()
    click_legend(1)
    assert window.state.hidden_videos == frozenset() and latent_map.shown_count == total


def test_colouring_by_time_shows_the_colour_bar(qtbot, library):
    from tests.gui_helpers import choose

    window = ready_window(qtbot, video=library)
    before = window.latent_map.detail.shown.colours().tolist()
    choose(window.projection_bar.colouring, qtbot, "time")
    assert window.state.colouring == "time"
    after = window.latent_map.detail.shown.colours().tolist()
    assert after != before
    assert window.latent_map._colour_bar.isVisible() and not window.latent_map.legend.isVisible()


def test_a_clip_morphs_from_one_video_to_another_and_reopens_from_a_session(
        qtbot, library, tmp_path):
    window = ready_window(qtbot, video=library)
    go_to_row(window, qtbot, 4)  # a.avi, frame 4
    qtbot.keyClick(window, Qt.Key.Key_K)
    last = CLIPS["a.avi"] + CLIPS["b.avi"] + 10  # c.avi, frame 10
    go_to_row(window, qtbot, last)
    qtbot.keyClick(window, Qt.Key.Key_K)
    panel = window.interpolation
    assert [panel.list.item(row).text() for row in range(2)] == ["a.avi, frame 4",
                                                                 "c.avi, frame 10"]
    mu = window.state.trajectory.mu
    np.testing.assert_array_equal(panel.path.latents[0], mu[4])
    np.testing.assert_array_equal(panel.path.latents[-1], mu[last])

    output = tmp_path / "morph.mp4"
    QTimer.singleShot(0, lambda: fill_export_dialog(str(output)))
    with qtbot.waitSignal(window.worker.clipExported, timeout=120_000):
        qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    with av.open(str(output)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) == panel.steps
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5, \
        "the clip ends elsewhere than it starts"
    recipe = json.loads((tmp_path / "morph.mp4.clip.json").read_text())
    assert recipe["settings"]["library_keyframes"] == "0:4,2:10"
    assert [k["frame"] for k in recipe["keyframes"]] == [4, 10]

    window.sessions.path = tmp_path / "library.lxsession"
    assert window.sessions.save()
    saved = load_session(tmp_path / "library.lxsession")
    assert saved.video_path == str(library.resolve())
    again = open_window(qtbot, session=tmp_path / "library.lxsession")
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    assert again.state.library.names == tuple(CLIPS)
    assert [k.frame for k in again.interpolation.keyframes] == \
        [k.frame for k in window.interpolation.keyframes]
    assert again.timeline.first_row == CLIPS["a.avi"] + CLIPS["b.avi"], "on c.avi again"
    assert again.original_view.caption == "c.avi, frame 10"


def test_a_library_whose_video_moved_still_shows_its_latents(qtbot, library, tmp_path):
    moved = tmp_path / "lib"
    shutil.copytree(library, moved)
    document = (moved / "library.json").read_text()
    (moved / "library.json").write_text(document.replace(
        str((library.parent / "b.avi").resolve()), str(tmp_path / "gone.avi")))
    window = ready_window(qtbot, video=moved)
    go_to_row(window, qtbot, CLIPS["a.avi"] + 3)
    assert window.original_view.frame is None
    assert "gone.avi was not found" in window.original_view.message
    assert window.reconstruction_view.frame is not None


def test_a_dropped_library_folder_opens_with_its_model(qtbot, library):
    window = ready_window(qtbot)  # the demo video
    window.open_dropped(library)
    qtbot.waitUntil(lambda: window.state.library is not None, timeout=READY_MS)
    assert window.video == library and window.state.library.names == tuple(CLIPS)


def test_the_command_line_opens_a_library(library, tmp_path, run_cli):
    shot = tmp_path / "library.png"
    result = run_cli(library, "--screenshot", shot, timeout=240)
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000


def test_a_librarys_table_exports_as_parquet_with_each_lines_video(qtbot, library, tmp_path,
                                                                   monkeypatch):
    import pyarrow.parquet as parquet

    from explorer.ui import map_export

    window = ready_window(qtbot, video=library)
    monkeypatch.setattr(map_export.QFileDialog, "getSaveFileName",
                        lambda *_args: (str(tmp_path / "lib.parquet"), ""))
    window.export_table()
    table = parquet.read_table(tmp_path / "lib.parquet").to_pydict()
    assert len(table["frame"]) == sum(CLIPS.values())
    assert table["video"][CLIPS["a.avi"] + 7] == "b.avi" and \
        table["frame"][CLIPS["a.avi"] + 7] == 7
    assert table["psnr_db"][0] is None, "not measured: null, not NaN"
    assert table["x"][3] == pytest.approx(float(window.state.projection.embedding[3, 0]),
                                          abs=1e-5)
